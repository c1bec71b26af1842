// Workflow checkpoints on SQLite: numbered states; one writer at a time numbers them.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr std::string_view kSelectCheckpoints =
    "SELECT workflow, version, state, created_at FROM strata_workflow_checkpoints "
    "WHERE workflow = ?1 ";

std::vector<WorkflowCheckpoint> read_checkpoints(Query& query) {
  const int workflow = query.column("workflow");
  const int version = query.column("version");
  const int state = query.column("state");
  const int created_at = query.column("created_at");
  std::vector<WorkflowCheckpoint> checkpoints;
  while (query.step()) {
    checkpoints.push_back(WorkflowCheckpoint{query.text(workflow), query.integer(version),
                                             query.text(state), query.integer(created_at)});
  }
  return checkpoints;
}

// ?1 workflow, ?2 state, ?3 now. Returns the new version.
constexpr Statement kSave{
    "INSERT INTO strata_workflow_checkpoints (workflow, version, state, created_at) "
    "SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3 FROM strata_workflow_checkpoints "
    "WHERE workflow = ?1 RETURNING version"};
constexpr Statement kLatest{kSelectCheckpoints, "ORDER BY version DESC LIMIT 1"};
// ?2 version.
constexpr Statement kAtVersion{kSelectCheckpoints, "AND version = ?2"};
constexpr Statement kList{kSelectCheckpoints, "ORDER BY version"};
// ?2 version (NULL: all).
constexpr Statement kErase{
    "DELETE FROM strata_workflow_checkpoints WHERE workflow = ?1 AND (?2 IS NULL OR version = ?2)"};
// ?2 how many to keep.
constexpr Statement kPrune{
    "DELETE FROM strata_workflow_checkpoints WHERE workflow = ?1 AND version <= "
    "(SELECT version FROM strata_workflow_checkpoints WHERE workflow = ?1 "
    "ORDER BY version DESC LIMIT 1 OFFSET ?2)"};

class SqliteWorkflows final : public WorkflowOps {
 public:
  explicit SqliteWorkflows(SqliteContext& context) : context_(context) {}

  WorkflowCheckpoint save(std::string_view workflow, std::string_view state) override {
    const std::int64_t now = now_micros();
    Query query = context_.query(kSave);
    query.bind(1, workflow).bind(2, state).bind(3, now);
    query.step();
    return WorkflowCheckpoint{std::string(workflow), query.integer(query.column("version")),
                              std::string(state), now};
  }

  std::optional<WorkflowCheckpoint> get(std::string_view workflow,
                                        std::optional<std::int64_t> version) override {
    Query query = context_.query(version ? kAtVersion : kLatest);
    query.bind(1, workflow);
    if (version) query.bind(2, *version);
    auto found = read_checkpoints(query);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<WorkflowCheckpoint> list(std::string_view workflow) override {
    Query query = context_.query(kList);
    query.bind(1, workflow);
    return read_checkpoints(query);
  }

  std::size_t erase(std::string_view workflow, std::optional<std::int64_t> version) override {
    Query query = context_.query(kErase);
    query.bind(1, workflow);
    if (version) {
      query.bind(2, *version);
    } else {
      query.bind_null(2);
    }
    query.run();
    return static_cast<std::size_t>(context_.db.changes());
  }

  std::size_t prune(std::string_view workflow, std::size_t keep) override {
    context_.query(kPrune).bind(1, workflow).bind(2, static_cast<std::int64_t>(keep)).run();
    return static_cast<std::size_t>(context_.db.changes());
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<WorkflowOps> sqlite_workflows(SqliteContext& context) {
  return std::make_unique<SqliteWorkflows>(context);
}

}  // namespace strata::detail
