#include "sqlite/sqlite_backend.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/json.h"
#include "core/json_contains.h"
#include "core/pool.h"
#include "core/work_signal.h"
#include "sqlite/db.h"
#include "sqlite/schema.h"
#include "sqlite/sqlite_context.h"
#include "sqlite/sqlite_rooms.h"
#include "strata/error.h"

namespace strata::detail {
namespace {

using sqlite::Database;
using sqlite::Query;
using sqlite::SqliteError;

// A connection of the store's pool, with what its calls share: the context, and the rooms over
// it that make its Session.
struct SqliteConnection {
  explicit SqliteConnection(std::unique_ptr<Database> database)
      : db(std::move(database)),
        context{*db},
        session({.events = sqlite_events(context),
                 .streams = sqlite_streams(context),
                 .kv = sqlite_kv(context),
                 .queues = sqlite_queues(context),
                 .workflows = sqlite_workflows(context),
                 .locks = sqlite_locks(context),
                 .snapshots = sqlite_snapshots(context),
                 .consumers = sqlite_consumers(context),
                 .stats = sqlite_stats(context),
                 .indexes = sqlite_event_indexes(context)}) {}

  std::unique_ptr<Database> db;
  SqliteContext context;
  Session session;
};

// One writer at a time in this process: SQLite's own busy handler polls with sleeps, so a writer
// that loops can starve the others until busy_timeout. Other processes still wait through
// busy_timeout. A writer waits up to busy_timeout, as SQLite itself would. (A mutex and a
// condition variable rather than std::timed_mutex, whose timed lock ThreadSanitizer cannot see.)
class WriterLock {
 public:
  // Held until destroyed.
  class Turn {
   public:
    explicit Turn(WriterLock* lock) : lock_(lock) {}
    Turn(Turn&& other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
    Turn& operator=(Turn&&) = delete;
    ~Turn() {
      if (lock_ != nullptr) lock_->release();
    }

   private:
    WriterLock* lock_;
  };

  explicit WriterLock(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  Turn take() {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, timeout_, [&] { return !held_; })) {
      throw Error(ErrorCode::timeout,
                  "another writer of this store held the sqlite database for "
                  "longer than busy_timeout (" +
                      std::to_string(timeout_.count()) + " ms)");
    }
    held_ = true;
    return Turn(this);
  }

 private:
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    freed_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable freed_;
  bool held_ = false;
  const std::chrono::milliseconds timeout_;
};

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS strata_migrations (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')), "
    "breaks_older_builds INTEGER NOT NULL DEFAULT 0)";
// One row when the migrations table has the column that marks migrations breaking older builds
// (a table made before it lacks it).
constexpr const char* kHasBreaksColumn =
    "SELECT 1 FROM pragma_table_info('strata_migrations') WHERE name = 'breaks_older_builds'";
constexpr const char* kAddBreaksColumn =
    "ALTER TABLE strata_migrations ADD COLUMN breaks_older_builds INTEGER NOT NULL DEFAULT 0";
// ?1 version.
constexpr const char* kMigrationApplied = "SELECT 1 FROM strata_migrations WHERE version = ?1";
// ?1 version, ?2 name, ?3 whether it breaks older builds.
constexpr const char* kRecordMigration =
    "INSERT INTO strata_migrations (version, name, breaks_older_builds) VALUES (?1, ?2, ?3)";
constexpr const char* kMigrationsTableExists =
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'strata_migrations'";
constexpr const char* kAppliedVersion =
    "SELECT coalesce(max(version), 0) AS version FROM strata_migrations";
constexpr const char* kOldestBuild =
    "SELECT coalesce(max(version), 0) AS oldest_build FROM strata_migrations "
    "WHERE breaks_older_builds";

// Maps a driver error onto Strata's error model.
Error to_error(const SqliteError& error, const SqliteSettings& settings) {
  switch (error.primary_code()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::timeout,
                   std::string("sqlite database '") + settings.path +
                       "' stayed locked by another writer for longer than busy_timeout (" +
                       std::to_string(settings.busy_timeout.count()) + " ms): " + error.what());
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return Error(ErrorCode::unavailable, std::string("sqlite: ") + error.what());
    default:
      return Error(ErrorCode::internal, std::string("sqlite: ") + error.what());
  }
}

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(const SqliteSettings& settings)
      : settings_(settings),
        writer_(settings.busy_timeout),
        pool_(
            PoolSettings{settings.max_connections,
                         1,
                         settings.busy_timeout,
                         1,
                         {},
                         "sqlite:" + settings.path},
            [this] { return std::make_unique<SqliteConnection>(open_database()); }, &reusable) {}

  std::string_view name() const override { return "sqlite"; }
  PoolStats pool_stats() override { return pool_.stats(); }

  // In-process producers wake waiters at once; other processes' items are found by polling.
  void wait_for_work(std::chrono::steady_clock::time_point until) override {
    signals_.queues.wait_until(std::min(until, std::chrono::steady_clock::now() + kPollInterval));
  }

  // As for queue items: woken in process at once, other processes' events found by polling.
  void wait_for_events(std::chrono::steady_clock::time_point until) override {
    signals_.events.wait_until(std::min(until, std::chrono::steady_clock::now() + kPollInterval));
  }

  void migrate() override {
    guarded([&] {
      auto connection = pool_.acquire();
      Database& db = *connection->db;
      for (const Migration& migration : sqlite_migrations()) {
        AtomicScope atomic(db, false);
        db.exec(kCreateMigrationsTable);
        if (!db.query(kHasBreaksColumn).step()) db.exec(kAddBreaksColumn);
        Query applied = db.query(kMigrationApplied);
        applied.bind(1, std::int64_t{migration.version});
        if (applied.step()) continue;
        db.exec(std::string(migration.sql));
        db.query(kRecordMigration)
            .bind(1, std::int64_t{migration.version})
            .bind(2, migration.name)
            .bind(3, std::int64_t{migration.breaks_older_builds ? 1 : 0})
            .run();
        atomic.commit();
      }
    });
  }

  SchemaState schema_state() override {
    SchemaState state;
    guarded([&] {
      auto connection = pool_.acquire();
      Database& db = *connection->db;
      if (!db.query(kMigrationsTableExists).step()) return;
      Query highest = db.query(kAppliedVersion);
      highest.step();
      state.version = static_cast<int>(highest.integer(highest.column("version")));
      if (!db.query(kHasBreaksColumn).step()) return;
      Query oldest = db.query(kOldestBuild);
      oldest.step();
      state.oldest_build = static_cast<int>(oldest.integer(oldest.column("oldest_build")));
    });
    return state;
  }

  // A writing call takes the store's writer lock for as long as it runs; a reading call may
  // run no statement that writes.
  void run(Access access, const SessionFn& fn) override {
    guarded([&] {
      auto connection = pool_.acquire();
      std::optional<WriterLock::Turn> writing;
      if (access == Access::write) writing.emplace(writer_.take());
      SqliteContext& context = start_call(*connection, false);
      connection->db->refuse_writes(access == Access::read);  // Until the pool takes it back.
      fn(connection->session);
      wake_waiters(context);
    });
  }

  void run_transaction(const SessionFn& fn) override {
    guarded([&] {
      auto connection = pool_.acquire();
      const auto writing = writer_.take();
      AtomicScope atomic(*connection->db, false);
      SqliteContext& context = start_call(*connection, true);
      fn(connection->session);
      atomic.commit();
      wake_waiters(context);
    });
  }

 private:
  static SqliteContext& start_call(SqliteConnection& connection, bool in_transaction) {
    SqliteContext& context = connection.context;
    context.in_transaction = in_transaction;
    context.appended = false;
    context.produced = false;
    return context;
  }

  // After a call has committed: wakes this process's waiting leases and subscribers.
  void wake_waiters(const SqliteContext& context) {
    if (context.produced) signals_.queues.notify();
    if (context.appended) signals_.events.notify();
  }

  std::unique_ptr<Database> open_database() {
    auto db = std::make_unique<Database>(settings_.path, settings_.create);
    // Only comparable JSON matches, as on PostgreSQL (its queryable_json): key-value values and
    // metadata are checked when written, events are not.
    db->define_function("strata_json_contains", 2,
                        [](std::string_view document, std::string_view pattern) {
                          return is_comparable_json(document) && json_contains(document, pattern);
                        });
    db->exec("PRAGMA busy_timeout = " + std::to_string(settings_.busy_timeout.count()));
    if (!settings_.in_memory) enter_wal_mode(*db);
    db->exec(settings_.synchronous_full ? "PRAGMA synchronous = FULL"
                                        : "PRAGMA synchronous = NORMAL");
    // Savepoints' sub-journals stay in memory rather than in temporary files.
    db->exec("PRAGMA temp_store = MEMORY");
    return db;
  }

  // Switching a new file to WAL needs it to itself, and SQLite reports SQLITE_BUSY at once, without
  // calling the busy handler, while another process opens it at the same moment: retry until
  // busy_timeout.
  void enter_wal_mode(Database& db) {
    const auto deadline = std::chrono::steady_clock::now() + settings_.busy_timeout;
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      try {
        db.exec("PRAGMA journal_mode = WAL");
        return;
      } catch (const SqliteError& error) {
        if (error.primary_code() != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline) {
          throw;
        }
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

  // A connection goes back to the pool outside a transaction, taking writes again. It is kept
  // (an in-memory database lives only as long as its one connection) unless it cannot even
  // roll back.
  static bool reusable(SqliteConnection& connection) {
    Database& db = *connection.db;
    db.refuse_writes(false);
    if (!db.in_transaction()) return true;
    try {
      db.exec("ROLLBACK");
      return true;
    } catch (const SqliteError&) {
      return false;
    }
  }

  template <class Fn>
  void guarded(Fn&& fn) {
    try {
      fn();
    } catch (const SqliteError& error) {
      throw to_error(error, settings_);
    }
  }

  const SqliteSettings settings_;
  static constexpr std::chrono::milliseconds kPollInterval{100};
  WriterLock writer_;
  Signals signals_;
  Pool<SqliteConnection> pool_;
};

}  // namespace

std::shared_ptr<Backend> open_sqlite_backend(const SqliteSettings& settings) {
  try {
    return std::make_shared<SqliteBackend>(settings);
  } catch (const SqliteError& error) {
    throw Error(ErrorCode::unavailable,
                "cannot open sqlite database '" + settings.path + "': " + error.what());
  }
}

}  // namespace strata::detail
