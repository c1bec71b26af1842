// The SQLite baseline: prepared INSERT loops and keyset reads on copies of Strata's tables in a
// scratch file beside the store's.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "baseline_backends.h"
#include "core/ids.h"
#include "sqlite/db.h"
#include "strata/error.h"
#include "strata/event.h"

namespace strata::bench {
namespace {

// The same pragmas the SQLite backend sets, so both sides pay the same durability.
std::unique_ptr<sqlite::Database> open_sqlite(const detail::SqliteSettings& settings) {
  auto db = std::make_unique<sqlite::Database>(settings.path, true);
  db->exec("PRAGMA busy_timeout = " + std::to_string(settings.busy_timeout.count()));
  db->exec("PRAGMA journal_mode = WAL");
  db->exec(settings.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  return db;
}

constexpr const char* kSqliteInsert =
    "INSERT INTO strata_baseline_events (stream, version, id, type, data, metadata, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)";

// By BareQuery::Kind: ?1 the key, ?2 the position or the name to read after, ?3 the limit.
constexpr const char* kSqliteBareQueries[] = {
    "SELECT position, stream, version, id, type, data, metadata, created_at FROM strata_events "
    "WHERE type = ?1 AND position > ?2 ORDER BY position LIMIT ?3",
    "SELECT position, stream, version, id, type, data, metadata, created_at FROM strata_events "
    "WHERE substr(stream, 1, instr(stream || '-', '-') - 1) = ?1 AND position > ?2 "
    "ORDER BY position LIMIT ?3",
    "SELECT position, stream, version, id, type, data, metadata, created_at FROM strata_events "
    "WHERE stream = ?1 ORDER BY version LIMIT ?3",
    "SELECT count(*) FROM strata_events WHERE stream = ?1",
    "WITH RECURSIVE names (name) AS ("
    "SELECT (SELECT min(stream) FROM strata_events WHERE stream > ?2) "
    "UNION ALL SELECT (SELECT min(stream) FROM strata_events WHERE stream > n.name) FROM names n "
    "WHERE substr(n.name, 1, length(?1)) = ?1 LIMIT ?3) "
    "SELECT name FROM names WHERE substr(name, 1, length(?1)) = ?1",
    "SELECT position, stream, version, id, type, data, metadata, created_at FROM strata_events "
    "WHERE position IN (SELECT rowid FROM strata_events_text WHERE strata_events_text MATCH ?1) "
    "AND position > ?2 ORDER BY position LIMIT ?3",
};

class SqliteConnection final : public BaselineConnection {
 public:
  explicit SqliteConnection(const detail::SqliteSettings& settings) : db_(open_sqlite(settings)) {}

  void write_batch(const std::string& stream, std::int64_t first_version, std::size_t count,
                   const std::string& data) override {
    db_->exec("BEGIN IMMEDIATE");
    {
      sqlite::Query insert = db_->query(kSqliteInsert);
      const std::int64_t created_at = detail::now_micros();
      for (std::size_t i = 0; i < count; ++i) {
        bind(insert, stream, first_version + static_cast<std::int64_t>(i), data, created_at);
        insert.run();
        insert.reset();
      }
    }
    db_->exec("COMMIT");
  }

  void write_single(const std::string& stream, std::int64_t version,
                    const std::string& data) override {
    sqlite::Query insert = db_->query(kSqliteInsert);
    bind(insert, stream, version, data, detail::now_micros());
    insert.run();
  }

  bool kv_get(const std::string& key) override {
    sqlite::Query get =
        db_->query("SELECT value FROM strata_baseline_kv WHERE namespace = 'bench' AND key = ?1");
    get.bind_blob(1, key);
    return get.step() && !get.blob(0).empty();
  }

  void kv_write_batch(const std::vector<std::string>& keys, const std::string& value) override {
    db_->exec("BEGIN IMMEDIATE");
    {
      sqlite::Query insert = db_->query(
          "INSERT INTO strata_baseline_kv (namespace, key, value, value_is_json, version) "
          "VALUES ('bench', ?1, ?2, 0, 1)");
      for (const std::string& key : keys) {
        insert.bind_blob(1, key).bind_blob(2, value);
        insert.run();
        insert.reset();
      }
    }
    db_->exec("COMMIT");
  }

  bool kv_update_at_version(const std::string& key, std::int64_t version,
                            const std::string& value) override {
    db_->query(
           "UPDATE strata_baseline_kv SET value = ?3, version = version + 1 "
           "WHERE namespace = 'bench' AND key = ?1 AND version = ?2")
        .bind_blob(1, key)
        .bind(2, version)
        .bind_blob(3, value)
        .run();
    return db_->changes() == 1;
  }

  void queue_produce(std::size_t count, const std::string& payload) override {
    db_->exec("BEGIN IMMEDIATE");
    {
      const std::int64_t now = detail::now_micros();
      sqlite::Query insert = db_->query(
          "INSERT INTO strata_baseline_queue_items (queue, payload, priority, run_at, created_at) "
          "VALUES ('bench', ?1, 0, ?2, ?2)");
      for (std::size_t i = 0; i < count; ++i) {
        insert.bind_blob(1, payload).bind(2, now);
        insert.run();
        insert.reset();
      }
    }
    db_->exec("COMMIT");
  }

  std::size_t queue_claim_and_delete(std::size_t count) override {
    std::vector<std::int64_t> ids;
    {
      sqlite::Query claim = db_->query(
          "UPDATE strata_baseline_queue_items SET lease_token = lower(hex(randomblob(16))), "
          "leased_until = ?2 "
          "WHERE id IN (SELECT id FROM strata_baseline_queue_items WHERE queue = 'bench' AND "
          "lease_token IS NULL ORDER BY priority DESC, id LIMIT ?1) RETURNING id");
      claim.bind(1, static_cast<std::int64_t>(count)).bind(2, detail::now_micros() + 30000000);
      while (claim.step()) ids.push_back(claim.integer(0));
    }
    db_->exec("BEGIN IMMEDIATE");
    {
      sqlite::Query erase = db_->query("DELETE FROM strata_baseline_queue_items WHERE id = ?1");
      for (const std::int64_t id : ids) {
        erase.bind(1, id);
        erase.run();
        erase.reset();
      }
    }
    db_->exec("COMMIT");
    return ids.size();
  }

  void hold_writing_transaction() override {
    throw Error(ErrorCode::invalid_argument,
                "a transaction held open by another session is a PostgreSQL scenario: on SQLite "
                "it would stop every writer");
  }

  void analyze() override { db_->exec("ANALYZE"); }

  std::size_t bare_query(const BareQuery& query) override {
    const auto kind = static_cast<std::size_t>(query.kind);
    if (kind >= std::size(kSqliteBareQueries)) {
      throw Error(ErrorCode::invalid_argument, "SQLite keeps no index for JSON containment");
    }
    sqlite::Query read = db_->query(kSqliteBareQueries[kind]);
    read.bind(1, query.key);
    if (query.kind == BareQuery::Kind::stream_names) {
      read.bind(2, query.after_name);
    } else if (query.kind != BareQuery::Kind::stream_count) {
      read.bind(2, static_cast<std::int64_t>(query.after_sequence));
    }
    if (query.kind != BareQuery::Kind::stream_count) {
      read.bind(3, static_cast<std::int64_t>(query.limit));
    }
    std::size_t rows = 0;
    while (read.step()) rows += read.text(0).empty() ? 0 : 1;
    return rows;
  }

  std::size_t read_page(std::int64_t& after, std::size_t limit) override {
    sqlite::Query read = db_->query(
        "SELECT position, stream, version, id, type, data, metadata, created_at "
        "FROM strata_baseline_events WHERE position > ?1 ORDER BY position LIMIT ?2");
    read.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
    std::size_t count = 0;
    while (read.step()) {
      after = read.integer(0);
      // Materialise the row as a reader would.
      const std::string payload = read.text(1) + read.text(3) + read.text(4) + read.text(5);
      count += payload.empty() ? 0 : 1;
    }
    return count;
  }

 private:
  static void bind(sqlite::Query& insert, const std::string& stream, std::int64_t version,
                   const std::string& data, std::int64_t created_at) {
    insert.bind(1, stream)
        .bind(2, version)
        .bind(3, detail::new_uuid_v7())
        .bind(4, kType)
        .bind(5, data)
        .bind(6, created_at);
  }
  std::unique_ptr<sqlite::Database> db_;
};

// Creates `copy` from `table`'s own DDL: the same columns, constraints and indexes (not its
// triggers).
void copy_table(sqlite::Database& db, const std::string& table, const std::string& copy) {
  std::vector<std::string> statements;
  {
    sqlite::Query schema = db.query(
        "SELECT sql FROM sqlite_schema WHERE tbl_name = ?1 AND sql IS NOT NULL AND "
        "type IN ('table', 'index') ORDER BY type = 'index'");
    schema.bind(1, table);
    while (schema.step()) statements.push_back(schema.text(0));
  }
  if (statements.empty()) throw std::runtime_error("the store is not migrated");
  for (std::string ddl : statements) {
    // The table keeps its name with the copy's; each index gets the copy's name as a prefix.
    const auto index = ddl.find("INDEX ");
    if (index != std::string::npos) ddl.insert(index + 6, copy + "_");
    const auto on = ddl.find(" " + table + " ");
    const auto named = ddl.find(" " + table + "(");
    const auto at = on != std::string::npos ? on : named;
    if (at != std::string::npos) ddl.replace(at + 1, table.size(), copy);
    db.exec(ddl);
  }
}

void remove_database_files(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// Removes the scratch databases beside the store at `store_path` of benches that were killed:
// those named for a process that no longer runs.
void remove_abandoned_scratch(const std::string& store_path) {
  namespace fs = std::filesystem;
  const fs::path store(store_path);
  const std::string prefix = store.filename().string() + ".bench-";
  const fs::path directory = store.has_parent_path() ? store.parent_path() : fs::path(".");
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string pid_text = name.substr(prefix.size());
    pid_t pid = 0;
    const auto [end, parsed] =
        std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (parsed != std::errc() || end != pid_text.data() + pid_text.size()) continue;  // -wal, -shm
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // Still running.
    remove_database_files(entry.path().string());
  }
}

class SqliteBaseline final : public Baseline {
 public:
  SqliteBaseline(const std::string& url, detail::SqliteSettings settings)
      : settings_(std::move(settings)) {
    const std::string scratch = ".bench-" + std::to_string(getpid());
    store_url_ = url;
    store_url_.insert(std::string("sqlite:").size() + settings_.path.size(), scratch);
    remove_abandoned_scratch(settings_.path);
    settings_.path += scratch;
  }
  ~SqliteBaseline() override { remove_database_files(settings_.path); }
  const std::string& store_url() const override { return store_url_; }
  void create_table() override {
    auto db = open_sqlite(settings_);
    copy_table(*db, "strata_events", "strata_baseline_events");
    copy_table(*db, "strata_kv", "strata_baseline_kv");
    copy_table(*db, "strata_queue_items", "strata_baseline_queue_items");
  }
  std::unique_ptr<BaselineConnection> connect() override {
    return std::make_unique<SqliteConnection>(settings_);
  }

 private:
  detail::SqliteSettings settings_;
  std::string store_url_;
};

}  // namespace

std::unique_ptr<Baseline> sqlite_baseline(const std::string& url,
                                          const detail::SqliteSettings& settings) {
  return std::make_unique<SqliteBaseline>(url, settings);
}

}  // namespace strata::bench
