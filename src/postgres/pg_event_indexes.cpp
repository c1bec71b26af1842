// The opt-in event indexes on PostgreSQL: GIN indexes over queryable_json of metadata and of
// data, and over the data's tsvector, each built and dropped CONCURRENTLY, so that appends and
// reads go on meanwhile.
#include "core/ids.h"
#include "core/reconnect.h"
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;

struct IndexDefinition {
  EventIndex index;
  std::string_view name;
  std::string_view on;  // What follows "ON {schema}.events".
};

// The expressions are the filters' own (pg_events.cpp), so that the planner can use them.
constexpr IndexDefinition kIndexes[] = {
    {EventIndex::metadata, "events_metadata_json",
     "USING gin ({schema}.queryable_json(metadata) jsonb_path_ops)"},
    {EventIndex::data, "events_data_json",
     "USING gin ({schema}.queryable_json(data) jsonb_path_ops)"},
    {EventIndex::text, "events_text",
     "USING gin (to_tsvector('simple', {schema}.queryable_json("
     "CASE WHEN octet_length(data::text) <= 524288 THEN data END)))"},
};

const IndexDefinition& definition_of(EventIndex index) {
  for (const IndexDefinition& definition : kIndexes) {
    if (definition.index == index) return definition;
  }
  throw Error(ErrorCode::internal, "unknown event index");
}

// $1 the qualified index name. No row when there is no such index; `valid` false when a build
// that failed or was interrupted left it (CREATE INDEX CONCURRENTLY does, and it is never used).
constexpr Statement kIndexState{
    "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1::text)"};
// Builders of one store's indexes take turns: a second CREATE INDEX CONCURRENTLY of the same
// name would find the first's half-built index and return before it is whole. Tried, never
// waited for, as a session waiting on a lock holds back a concurrent build, which waits for it.
constexpr Statement kTryBuildLock{"SELECT pg_try_advisory_lock($1::bigint) AS taken"};
constexpr std::chrono::seconds kBuildTurnPatience{300};
constexpr Statement kBuildUnlock{"SELECT pg_advisory_unlock($1::bigint)"};
// A build takes as long as the table needs, whatever the URL's statement_timeout.
constexpr Statement kNoStatementTimeout{"SET statement_timeout = 0"};
constexpr Statement kResetStatementTimeout{"RESET statement_timeout"};

class PgEventIndexes final : public EventIndexOps {
 public:
  explicit PgEventIndexes(PgContext& context) : context_(context) {}

  bool add(EventIndex index) override {
    const IndexDefinition& definition = definition_of(index);
    BuildTurn turn(context_);
    const std::optional<bool> valid = state_of(definition);
    if (valid == true) return true;
    if (valid == false) exec("DROP INDEX CONCURRENTLY " + qualified(definition));
    exec("CREATE INDEX CONCURRENTLY " + std::string(definition.name) + " ON {schema}.events " +
         std::string(definition.on));
    return true;
  }

  void drop(EventIndex index) override {
    const IndexDefinition& definition = definition_of(index);
    BuildTurn turn(context_);
    exec("DROP INDEX CONCURRENTLY IF EXISTS " + qualified(definition));
  }

  bool has(EventIndex index) override { return state_of(definition_of(index)) == true; }

 private:
  // Holds this store's build lock (a session lock) and lifts statement_timeout while it lives.
  class BuildTurn {
   public:
    explicit BuildTurn(PgContext& context) : context_(context), key_(lock_key(context)) {
      const auto give_up = std::chrono::steady_clock::now() + kBuildTurnPatience;
      Backoff backoff;
      while (true) {
        const pq::Result taken = context_.query(kTryBuildLock, key_);
        if (taken.text(0, taken.column("taken")) == "t") break;
        if (!pause_before_retry(backoff, give_up)) {
          throw Error(ErrorCode::timeout,
                      "another session has been building or dropping an event index for " +
                          std::to_string(kBuildTurnPatience.count()) +
                          " s (see pg_stat_progress_create_index)");
        }
      }
      try {
        context_.query(kNoStatementTimeout, Params());
      } catch (...) {
        release();
        throw;
      }
    }
    ~BuildTurn() { release(); }
    BuildTurn(const BuildTurn&) = delete;
    BuildTurn& operator=(const BuildTurn&) = delete;

   private:
    void release() noexcept {
      try {
        context_.query(kResetStatementTimeout, Params());
        context_.query(kBuildUnlock, key_);
      } catch (const std::exception&) {
        // The connection is broken, and the pool closes it: its session lock and setting go too.
      }
    }
    static Params lock_key(const PgContext& context) {
      return Params().add(
          advisory_lock_key(stable_hash64("strata event indexes " + context.store.quoted_schema)));
    }
    PgContext& context_;
    const Params key_;
  };

  std::optional<bool> state_of(const IndexDefinition& definition) {
    const pq::Result rows = context_.query(kIndexState, Params().add(qualified(definition)));
    if (rows.rows() == 0) return std::nullopt;
    return rows.text(0, rows.column("valid")) == "t";
  }

  std::string qualified(const IndexDefinition& definition) const {
    return context_.store.quoted_schema + "." + std::string(definition.name);
  }

  void exec(const std::string& sql) {
    context_.connection.exec(with_schema(sql, context_.store.quoted_schema));
  }

  PgContext& context_;
};

}  // namespace

std::unique_ptr<EventIndexOps> pg_event_indexes(PgContext& context) {
  return std::make_unique<PgEventIndexes>(context);
}

}  // namespace strata::detail
