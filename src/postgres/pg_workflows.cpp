// Workflow checkpoints on PostgreSQL: numbered states, numbered under the workflow's advisory
// lock so that concurrent saves take consecutive versions.
#include <array>

#include "core/ids.h"
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

constexpr std::string_view kSelectCheckpoints =
    "SELECT workflow, version, state, (extract(epoch FROM created_at) * 1000000)::bigint AS "
    "created_micros FROM {schema}.workflow_checkpoints WHERE workflow = $1::text ";

std::vector<WorkflowCheckpoint> read_checkpoints(const Result& rows) {
  const int workflow = rows.column("workflow");
  const int version = rows.column("version");
  const int state = rows.column("state");
  const int created_at = rows.column("created_micros");
  std::vector<WorkflowCheckpoint> checkpoints;
  for (int row = 0; row < rows.rows(); ++row) {
    checkpoints.push_back(WorkflowCheckpoint{rows.string(row, workflow), rows.integer(row, version),
                                             rows.string(row, state),
                                             rows.integer(row, created_at)});
  }
  return checkpoints;
}

// $1 workflow, $2 state. The caller holds the workflow's advisory lock, so the next version is
// its own.
constexpr Statement kSave{
    "INSERT INTO {schema}.workflow_checkpoints (workflow, version, state, created_at) "
    "SELECT $1::text, coalesce(max(version), 0) + 1, $2::json, statement_timestamp() "
    "FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
    "RETURNING version, (extract(epoch FROM created_at) * 1000000)::bigint AS created_micros"};
constexpr Statement kLatest{kSelectCheckpoints, "ORDER BY version DESC LIMIT 1"};
// $2 version.
constexpr Statement kAtVersion{kSelectCheckpoints, "AND version = $2::bigint"};
constexpr Statement kList{kSelectCheckpoints, "ORDER BY version"};
// $2 version (NULL: all).
constexpr Statement kErase{
    "DELETE FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
    "AND ($2::bigint IS NULL OR version = $2::bigint) RETURNING true"};
// $2 how many to keep.
constexpr Statement kPrune{
    "DELETE FROM {schema}.workflow_checkpoints WHERE workflow = $1::text AND version <= "
    "(SELECT version FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
    "ORDER BY version DESC LIMIT 1 OFFSET $2::bigint) RETURNING true"};

class PgWorkflows final : public WorkflowOps {
 public:
  explicit PgWorkflows(PgContext& context) : context_(context) {}

  WorkflowCheckpoint save(std::string_view workflow, std::string_view state) override {
    const Params lock =
        Params().add(advisory_lock_key(stable_hash64("workflow " + std::string(workflow))));
    const Params save = Params().add(workflow).add(state);
    const std::array<pq::Command, 2> commands = {context_.command(kTakeAdvisoryLock, lock),
                                                 context_.command(kSave, save)};
    const Result saved = std::move(context_.connection.pipeline(commands)[1]);
    return WorkflowCheckpoint{std::string(workflow), saved.integer(0, saved.column("version")),
                              std::string(state), saved.integer(0, saved.column("created_micros"))};
  }

  std::optional<WorkflowCheckpoint> get(std::string_view workflow,
                                        std::optional<std::int64_t> version) override {
    Params params;
    params.add(workflow);
    if (version) params.add(*version);
    auto found = read_checkpoints(context_.query(version ? kAtVersion : kLatest, params));
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<WorkflowCheckpoint> list(std::string_view workflow) override {
    return read_checkpoints(context_.query(kList, Params().add(workflow)));
  }

  std::size_t erase(std::string_view workflow, std::optional<std::int64_t> version) override {
    Params params;
    params.add(workflow);
    params.add_nullable(version);
    return static_cast<std::size_t>(context_.query(kErase, params).rows());
  }

  std::size_t prune(std::string_view workflow, std::size_t keep) override {
    const Params params = Params().add(workflow).add(static_cast<std::int64_t>(keep));
    return static_cast<std::size_t>(context_.query(kPrune, params).rows());
  }

 private:
  PgContext& context_;
};

}  // namespace

std::unique_ptr<WorkflowOps> pg_workflows(PgContext& context) {
  return std::make_unique<PgWorkflows>(context);
}

}  // namespace strata::detail
