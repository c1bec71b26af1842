#include "postgres/pg_backend.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "core/pool.h"
#include "core/reconnect.h"
#include "core/work_signal.h"
#include "postgres/event_notifier.h"
#include "postgres/pg_context.h"
#include "postgres/pg_rooms.h"
#include "postgres/pq/pq.h"
#include "postgres/queue_upkeep.h"
#include "postgres/schema.h"
#include "strata/error.h"

namespace strata::detail {
namespace {

using pq::Connection;
using pq::Params;
using pq::PqError;

constexpr std::string_view kUndefinedTable = "42P01";
constexpr std::string_view kUndefinedSchema = "3F000";

// A connection of the store's pool, with what its calls share: the context, and the rooms over
// it that make its Session.
struct PgConnection {
  PgConnection(std::unique_ptr<Connection> connection, const PgStore& store)
      : driver(std::move(connection)),
        context(*driver, store),
        session({.events = pg_events(context),
                 .streams = pg_streams(context),
                 .kv = pg_kv(context),
                 .queues = pg_queues(context),
                 .workflows = pg_workflows(context),
                 .locks = pg_locks(context),
                 .snapshots = pg_snapshots(context),
                 .consumers = pg_consumers(context),
                 .stats = pg_stats(context),
                 .indexes = pg_event_indexes(context)}) {}

  std::unique_ptr<Connection> driver;
  PgContext context;
  Session session;
};

// One row: the highest applied version, and the newest that breaks older builds (read through
// to_jsonb, so that a table from before that column answers too).
constexpr Statement kSchemaState{
    "SELECT coalesce(max(version), 0) AS version, coalesce(max(version) FILTER (WHERE "
    "(to_jsonb(m) ->> 'breaks_older_builds')::boolean), 0) AS oldest_build "
    "FROM {schema}.strata_migrations m"};
// The migration that added the feed's offset.
constexpr int kFeedVersion = 9;
// One row: whether the newest commit id lies at or above the next one an append would get, or
// the feed's offset is missing (a partial restore): either way, migrate must raise it.
constexpr Statement kRestoredBehind{
    "SELECT NOT EXISTS (SELECT 1 FROM {schema}.feed) OR "
    "coalesce((SELECT max(tx_id)::text::bigint FROM {schema}.events) >= "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint + "
    "(SELECT xid_offset FROM {schema}.feed), false) AS behind"};
constexpr Statement kRestoreFeedRow{
    "INSERT INTO {schema}.feed (xid_offset) VALUES (0) ON CONFLICT DO NOTHING"};
// Taken before the offset is computed, so that no append uses the old one after it; the ALTER
// that follows would take it anyway. Held for milliseconds.
constexpr Statement kLockEventsForOffset{"LOCK TABLE {schema}.events IN ACCESS EXCLUSIVE MODE"};
// How long a migration's statement waits for a table's lock (calls on the table queue behind it
// meanwhile), and for how long a migration tries.
constexpr Statement kMigrationLockTimeout{"SET LOCAL lock_timeout = '200ms'"};
constexpr std::chrono::seconds kMigrationLockPatience{300};
constexpr std::string_view kLockNotAvailable = "55P03";
// Raises the offset so that every later transaction's commit id lies above the newest one.
// Returns the new offset, or no row when it was high enough.
constexpr Statement kRaiseFeedOffset{R"sql(
UPDATE {schema}.feed
SET xid_offset = newest.next_id - pg_snapshot_xmax(pg_current_snapshot())::text::bigint
FROM (SELECT max(tx_id)::text::bigint + 1 AS next_id FROM {schema}.events) AS newest
WHERE newest.next_id > pg_snapshot_xmax(pg_current_snapshot())::text::bigint + xid_offset
RETURNING xid_offset)sql"};
constexpr Statement kCreateMigrationsTable{
    "CREATE SCHEMA IF NOT EXISTS {schema}; "
    "CREATE TABLE IF NOT EXISTS {schema}.strata_migrations (version integer PRIMARY KEY, "
    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
    "breaks_older_builds boolean NOT NULL DEFAULT false); "
    "ALTER TABLE {schema}.strata_migrations "
    "ADD COLUMN IF NOT EXISTS breaks_older_builds boolean NOT NULL DEFAULT false"};
// $1 version.
constexpr Statement kMigrationApplied{
    "SELECT 1 FROM {schema}.strata_migrations WHERE version = $1::integer"};
// $1 version, $2 name, $3 whether it breaks older builds.
constexpr Statement kRecordMigration{
    "INSERT INTO {schema}.strata_migrations (version, name, breaks_older_builds) "
    "VALUES ($1::integer, $2::text, $3::boolean)"};

Error to_error(const PqError& error, bool wrote, const PostgresSettings& settings) {
  const std::string message = "PostgreSQL: " + scrub_password(error.what(), settings.libpq_url);
  const std::string& state = error.sqlstate();
  if (error.connection_lost() && state.empty()) {
    if (wrote) {
      return Error(ErrorCode::unknown_outcome,
                   message +
                       " (the connection was lost after a write was sent; it may or may "
                       "not have been applied)");
    }
    return Error(ErrorCode::unavailable, message);
  }
  if (state == "57014") return Error(ErrorCode::timeout, message + " (statement_timeout)");
  if (state == "55P03") return Error(ErrorCode::timeout, message);
  if (state == "40001" || state == "40P01") return Error(ErrorCode::conflict, message);
  if (state.starts_with("08") || state.starts_with("57P") || state == "53300") {
    return Error(ErrorCode::unavailable, message);
  }
  if (state.starts_with("22")) return Error(ErrorCode::invalid_argument, message);
  return Error(ErrorCode::internal, message);
}

// libpq's startup options: the URL's own plus Strata's statement_timeout. Parsing the URL with
// libpq here reports a parameter it does not know, by name, before any connection is tried.
std::string connection_options(const PostgresSettings& settings) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(settings.libpq_url.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw Error(ErrorCode::invalid_argument, "invalid store URL '" + settings.redacted + "': " +
                                                 scrub_password(message, settings.libpq_url));
  }
  std::string options;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "options" && option->val != nullptr) {
      options = option->val;
    }
  }
  PQconninfoFree(parsed);
  if (settings.statement_timeout) {
    if (!options.empty()) options += ' ';
    options += "-c statement_timeout=" + std::to_string(settings.statement_timeout->count());
  }
  return options;
}

// The NOTIFY channels of one store (its schema): one for queue items, one for events.
struct Channels {
  std::string queues;
  std::string events;
};

class PgBackend final : public Backend {
 public:
  explicit PgBackend(const PostgresSettings& settings)
      : settings_(settings),
        connect_options_(connection_options(settings)),
        channels_{"strata_queues_" + std::to_string(stable_hash64(settings.schema)),
                  "strata_events_" + std::to_string(stable_hash64(settings.schema))},
        upkeep_([this] { return open_connection(); },
                settings.queue_vacuum ? "VACUUM (INDEX_CLEANUP ON, SKIP_LOCKED) " +
                                            pq::quote_identifier(settings.schema) + ".queue_items"
                                      : ""),
        notifier_([this] { return open_connection(); }, pq::quote_identifier(channels_.events)),
        store_{pq::quote_identifier(settings.schema), channels_.queues, upkeep_},
        pool_(
            PoolSettings{settings.max_connections, settings.min_connections,
                         settings.acquire_timeout, 3, std::chrono::milliseconds(50),
                         settings.redacted},
            [this] { return std::make_unique<PgConnection>(open_connection(), store_); },
            &reusable) {}

  ~PgBackend() override {
    stopping_ = true;
    if (listener_.joinable()) listener_.join();
  }

  std::string_view name() const override { return "postgres"; }
  PoolStats pool_stats() override { return pool_.stats(); }

  // Woken by the listener on every NOTIFY of this store's channels; polls as a fallback (when
  // LISTEN cannot work, e.g. through PgBouncer in transaction mode).
  void wait_for_work(std::chrono::steady_clock::time_point until) override {
    wait_for(signals_.queues, until);
  }

  void wait_for_events(std::chrono::steady_clock::time_point until) override {
    wait_for(signals_.events, until);
  }

  void migrate() override {
    guarded(false, [&](PgConnection& connection) {
      for (const Migration& migration : postgres_migrations()) apply(connection.context, migration);
      raise_feed_offset(connection.context);
    });
  }

  SchemaState schema_state() override {
    SchemaState state;
    guarded(false, [&](PgConnection& connection) {
      try {
        const pq::Result result = connection.context.query(kSchemaState, Params());
        state.version = static_cast<int>(result.integer(0, result.column("version")));
        state.oldest_build = static_cast<int>(result.integer(0, result.column("oldest_build")));
        if (state.version >= kFeedVersion) {
          const pq::Result feed = connection.context.query(kRestoredBehind, Params());
          state.restored_behind = feed.text(0, feed.column("behind")) == "t";
        }
      } catch (const PqError& error) {
        // No migrations table yet: an empty database.
        if (error.sqlstate() != kUndefinedTable && error.sqlstate() != kUndefinedSchema) throw;
      }
    });
    return state;
  }

  void run(Access access, const SessionFn& fn) override {
    guarded(access == Access::write, [&](PgConnection& connection) {
      start_call(connection.context, false);
      fn(connection.session);
      if (connection.context.appended) notifier_.appended();
    });
  }

  void run_transaction(const SessionFn& fn) override {
    guarded(false, [&](PgConnection& connection) {
      Connection& driver = *connection.driver;
      driver.exec(connection.context.sql(kBeginAppender));
      start_call(connection.context, true);
      try {
        fn(connection.session);
      } catch (...) {
        driver.roll_back();
        throw;
      }
      commit(connection.context);
      if (connection.context.appended) notifier_.appended();
    });
  }

 private:
  static void start_call(PgContext& context, bool in_transaction) {
    context.in_transaction = in_transaction;
    context.appended = false;
  }

  // A connection goes back to the pool outside a transaction, or not at all.
  static bool reusable(PgConnection& connection) {
    Connection& driver = *connection.driver;
    driver.roll_back();
    return !driver.is_broken() && driver.transaction_status() == PQTRANS_IDLE;
  }

  void commit(PgContext& context) {
    try {
      context.connection.exec(context.sql(kCommit));
    } catch (const PqError& error) {
      if (!error.connection_lost()) throw;
      throw Error(ErrorCode::unknown_outcome,
                  "PostgreSQL: the connection was lost during COMMIT; the transaction may or may "
                  "not have been applied: " +
                      scrub_password(error.what(), settings_.libpq_url));
    }
  }

  // Applies `migration` unless applied, so that processes opening a fresh database together
  // apply each migration exactly once.
  void apply(PgContext& context, const Migration& migration) {
    migration_step(context, "migration " + std::to_string(migration.version), [&] {
      context.connection.exec(context.sql(kCreateMigrationsTable));
      const Params version = Params().add(std::int64_t{migration.version});
      if (context.query(kMigrationApplied, version).rows() > 0) return;
      context.connection.exec(with_schema(migration.sql, store_.quoted_schema));
      context.query(kRecordMigration, Params()
                                          .add(std::int64_t{migration.version})
                                          .add(migration.name)
                                          .add(migration.breaks_older_builds ? "true" : "false"));
    });
  }

  // After a restore into a cluster whose transaction ids lie below the store's commit ids:
  // moves the commit ids of later appends past every restored one.
  void raise_feed_offset(PgContext& context) {
    migration_step(context, "raising the feed's offset", [&] {
      // Only a restore makes it needed; the lock below would stall reads for nothing.
      const pq::Result behind = context.query(kRestoredBehind, Params());
      if (behind.text(0, behind.column("behind")) != "t") return;
      context.connection.exec(context.sql(kLockEventsForOffset));
      context.connection.exec(context.sql(kRestoreFeedRow));
      const pq::Result raised = context.query(kRaiseFeedOffset, Params());
      if (raised.rows() == 0) return;
      context.connection.exec(with_schema(
          "ALTER TABLE {schema}.events ALTER COLUMN tx_id SET DEFAULT "
          "(pg_current_xact_id()::text::bigint + " +
              std::to_string(raised.integer(0, raised.column("xid_offset"))) + ")::text::xid8",
          store_.quoted_schema));
    });
  }

  // Runs `body` in a transaction of its own that holds the migrations lock. Each lock `body`
  // takes on a table is waited for at most 200 ms (kMigrationLockTimeout): calls queue behind a
  // waiting lock, so behind another session's long transaction the step gives way, lets them
  // through, and tries again after a pause, until kMigrationLockPatience has passed.
  template <class Body>
  void migration_step(PgContext& context, const std::string& what, Body&& body) {
    Connection& connection = context.connection;
    const auto give_up = std::chrono::steady_clock::now() + kMigrationLockPatience;
    Backoff backoff;
    while (true) {
      connection.exec(context.sql(kBegin));
      try {
        context.query(kTakeAdvisoryLock, migrations_lock());
        connection.exec(context.sql(kMigrationLockTimeout));
        body();
        connection.exec(context.sql(kCommit));
        return;
      } catch (const PqError& error) {
        connection.roll_back();
        if (error.sqlstate() != kLockNotAvailable) throw;
        if (!pause_before_retry(backoff, give_up)) {
          throw Error(ErrorCode::timeout,
                      what + " could not take its table locks within 200 ms in any attempt for " +
                          std::to_string(kMigrationLockPatience.count()) +
                          " s: a long transaction holds them (see pg_stat_activity)");
        }
      } catch (...) {
        connection.roll_back();
        throw;
      }
    }
  }

  Params migrations_lock() const {
    return Params().add(advisory_lock_key(stable_hash64("strata migrations " + settings_.schema)));
  }

  void wait_for(WorkSignal& signal, std::chrono::steady_clock::time_point until) {
    std::call_once(listener_started_, [this] { listener_ = std::thread([this] { listen(); }); });
    signal.wait_until(std::min(until, std::chrono::steady_clock::now() + kPollInterval));
  }

  // The dedicated LISTEN connection, on a thread of its own until the backend is destroyed.
  void listen() {
    while (!stopping_) {
      try {
        auto connection = open_connection();
        connection->exec("LISTEN " + pq::quote_identifier(channels_.queues) + "; LISTEN " +
                         pq::quote_identifier(channels_.events));
        // Work may have come while nobody listened.
        signals_.queues.notify();
        signals_.events.notify();
        while (!stopping_) {
          for (const std::string& channel :
               connection->wait_for_notifications(std::chrono::milliseconds(100))) {
            (channel == channels_.events ? signals_.events : signals_.queues).notify();
          }
        }
      } catch (const std::exception&) {
        // Waiters poll meanwhile; try again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  std::unique_ptr<Connection> open_connection() {
    std::vector<const char*> keywords = {"dbname", "fallback_application_name"};
    std::vector<const char*> values = {settings_.libpq_url.c_str(), "strata"};
    if (!connect_options_.empty()) {
      keywords.push_back("options");
      values.push_back(connect_options_.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    try {
      return std::make_unique<Connection>(keywords, values, settings_.prepared_statements);
    } catch (const PqError& error) {
      throw Error(ErrorCode::unavailable, "cannot connect to " + settings_.redacted + ": " +
                                              scrub_password(error.what(), settings_.libpq_url));
    }
  }

  // Runs `fn` on a pooled connection, mapping the driver's errors onto Strata's; `wrote` says
  // whether a lost connection leaves a write's outcome unknown.
  template <class Fn>
  void guarded(bool wrote, Fn&& fn) {
    try {
      auto connection = pool_.acquire();
      fn(*connection);
    } catch (const PqError& error) {
      if (error.connection_lost()) pool_.drop_idle();
      throw to_error(error, wrote, settings_);
    }
  }

  static constexpr std::chrono::milliseconds kPollInterval{1000};
  const PostgresSettings settings_;
  const std::string connect_options_;
  const Channels channels_;
  QueueUpkeep upkeep_;
  EventNotifier notifier_;
  const PgStore store_;
  Pool<PgConnection> pool_;
  Signals signals_;
  std::once_flag listener_started_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
};

}  // namespace

std::shared_ptr<Backend> open_postgres_backend(const PostgresSettings& settings) {
  return std::make_shared<PgBackend>(settings);
}

}  // namespace strata::detail
