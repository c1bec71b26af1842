#include "sqlite/sqlite_backend.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "core/json_contains.h"
#include "core/pool.h"
#include "core/queue_rules.h"
#include "core/work_signal.h"
#include "sqlite/db.h"
#include "sqlite/schema.h"
#include "sqlite/session_context.h"
#include "sqlite/sqlite_consumers.h"
#include "sqlite/sqlite_locks.h"
#include "sqlite/sqlite_snapshots.h"
#include "sqlite/sqlite_streams.h"
#include "strata/error.h"

namespace strata::detail {
namespace {

using sqlite::Database;
using sqlite::Query;
using sqlite::SqliteError;

constexpr const char* kEventColumns =
    "position, stream, version, id, type, data, metadata, created_at";

// Key-value SQL. "Live" is the one definition of an unexpired key: ?3 is now.
constexpr const char* kLive = "(expires_at IS NULL OR expires_at > ?3)";
// Whether the deleted row was live. SQLite 3.40 evaluates `expires_at IS NULL OR …` wrongly in
// a DELETE's RETURNING clause (it yields no value), so the test is written without IS NULL.
constexpr const char* kReturningLive = "coalesce(expires_at > ?3, 1)";
constexpr const char* kKvColumns = "key, value, version, metadata, expires_at";
constexpr const char* kInRange =
    "namespace = ?1 AND key >= ?2 AND (?4 IS NULL OR key < ?4) AND "
    "(expires_at IS NULL OR expires_at > ?3)";
// An expired key is absent: writing it starts again at version 1.
constexpr const char* kUpsert =
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5) ON CONFLICT (namespace, key) DO UPDATE SET "
    "value = excluded.value, value_is_json = excluded.value_is_json, "
    "metadata = excluded.metadata, expires_at = excluded.expires_at, "
    "version = CASE WHEN expires_at IS NOT NULL AND expires_at <= ?6 THEN 1 ELSE version + 1 END "
    "RETURNING version, rowid";
// ?6 (now) is bound by bind_write but unused here.
constexpr const char* kInsertNew =
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5)";
constexpr const char* kInsertIfAbsent =
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5) ON CONFLICT (namespace, key) DO UPDATE SET "
    "value = excluded.value, value_is_json = excluded.value_is_json, "
    "metadata = excluded.metadata, expires_at = excluded.expires_at, "
    "version = 1 WHERE expires_at IS NOT NULL AND expires_at <= ?6 "
    "RETURNING version, rowid";
constexpr const char* kUpdateAtVersion =
    "UPDATE strata_kv SET value = ?3, value_is_json = ?8, metadata = ?4, expires_at = ?5, "
    "version = version + 1 "
    "WHERE namespace = ?1 AND key = ?2 AND version = ?7 "
    "AND (expires_at IS NULL OR expires_at > ?6) RETURNING version, rowid";

// Copies items to the dead letters, their last outcome added to the history. ?2 is now, ?5 the
// reason; the caller appends the condition on strata_queue_items.
constexpr const char* kBury =
    "INSERT INTO strata_dead_letters (id, queue, payload, headers, priority, dedup_key, "
    "attempts, history, reason, failed_at, created_at) SELECT id, queue, payload, headers, "
    "priority, dedup_key, attempts, json_insert(history, '$[#]', json_object('attempt', "
    "attempts, 'outcome', 'dead', 'reason', ?6, 'at', ?2)), ?6, ?2, created_at "
    "FROM strata_queue_items WHERE ";

// The item a token holds: ?1 queue, ?2 now, ?4 item id, ?5 lease.
constexpr const char* kHeld = "id = ?4 AND queue = ?1 AND lease_token = ?5 AND leased_until > ?2";

constexpr const char* kWorkflowSelect =
    "SELECT workflow, version, state, created_at FROM strata_workflow_checkpoints "
    "WHERE workflow = ?1 ";

WorkflowCheckpoint read_workflow(const Query& row) {
  return WorkflowCheckpoint{row.text(0), row.integer(1), row.text(2), row.integer(3)};
}

KvEntry read_entry(const Query& row) {
  KvEntry entry;
  entry.key = row.blob(0);
  entry.value = row.blob(1);
  entry.version = row.integer(2);
  entry.metadata = row.optional_text(3);
  if (!row.is_null(4)) entry.expires_at = row.integer(4);
  return entry;
}

RecordedEvent read_event(const Query& row) {
  RecordedEvent event;
  event.position = Position(0, static_cast<std::uint64_t>(row.integer(0)));
  event.stream = row.text(1);
  event.version = row.integer(2);
  event.id = row.text(3);
  event.type = row.text(4);
  event.data = row.text(5);
  event.metadata = row.optional_text(6);
  event.created_at = row.integer(7);
  return event;
}

std::vector<RecordedEvent> collect_events(Query& query) {
  std::vector<RecordedEvent> events;
  while (query.step()) events.push_back(read_event(query));
  return events;
}

bool is_unique_violation(const SqliteError& error) {
  return error.extended_code() == SQLITE_CONSTRAINT_UNIQUE ||
         error.extended_code() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

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

class SqliteSession final : public Session {
 public:
  // `writer` is the Store's writer lock, taken around each write; null inside a transaction,
  // which holds it throughout.
  SqliteSession(Database& db, WriterLock* writer, Signals& signals)
      : db_(db), in_transaction_(writer == nullptr), signals_(signals), context_{db, writer} {}

  LockOps& locks() override { return locks_; }
  SnapshotOps& snapshots() override { return snapshots_; }
  StreamOps& streams() override { return streams_; }
  ConsumerOps& consumers() override { return consumers_; }

  // Whether this session produced queue items, to wake waiting leases once they commit.
  bool produced() const { return produced_; }
  // Whether this session appended events, to wake subscribers once they commit.
  bool appended() const { return appended_; }

  AppendAttempt try_append(const AppendBatch& batch) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    AppendAttempt attempt;
    const StreamState state = read_stream_state(db_, batch.stream);
    attempt.current_version = state.version;
    if (state.deleted) {
      attempt.outcome = AppendAttempt::Outcome::stream_deleted;
      return attempt;
    }
    if (!batch.expected.holds_for(attempt.current_version)) {
      attempt.outcome = AppendAttempt::Outcome::version_mismatch;
      return attempt;
    }
    try {
      insert_events(batch, attempt.current_version);
    } catch (const SqliteError& error) {
      if (!is_unique_violation(error)) throw;
      attempt.outcome = AppendAttempt::Outcome::duplicate_id;
      return attempt;
    }
    const std::int64_t last_position = db_.last_insert_rowid();
    const auto version = attempt.current_version + static_cast<std::int64_t>(batch.events.size());
    atomic.commit();
    appended_ = true;
    if (!in_transaction_) signals_.events.notify();
    attempt.result = AppendResult{version, Position(0, static_cast<std::uint64_t>(last_position))};
    return attempt;
  }

  std::vector<RecordedEvent> events_by_id(const std::vector<std::string>& ids) override {
    std::vector<RecordedEvent> events;
    for (const std::string& id : ids) {
      Query query =
          db_.query(std::string("SELECT ") + kEventColumns + " FROM strata_events WHERE id = ?1");
      query.bind(1, id);
      if (query.step()) events.push_back(read_event(query));
    }
    return events;
  }

  std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                         Direction direction, std::size_t limit) override {
    const bool forward = direction == Direction::forward;
    Query query = db_.query(
        std::string("SELECT ") + kEventColumns + " FROM strata_events e WHERE stream = ?1 AND " +
        retained_event_sql(4) + " AND version " +
        (forward ? ">= ?2 ORDER BY version" : "<= ?2 ORDER BY version DESC") + " LIMIT ?3");
    query.bind(1, stream).bind(2, from).bind(3, static_cast<std::int64_t>(limit));
    query.bind(4, now_micros());
    return collect_events(query);
  }

  std::vector<RecordedEvent> read_all(const AllReadOptions& options) override {
    std::string sql = std::string("SELECT ") + kEventColumns +
                      " FROM strata_events e WHERE position > ?1 AND " + retained_event_sql(5);
    if (options.category)
      sql += " AND (stream = ?3 OR substr(stream, 1, length(?3) + 1) = ?3 || '-')";
    if (options.event_type) sql += " AND type = ?4";
    if (options.stream) sql += " AND stream = ?6";
    sql += " ORDER BY position LIMIT ?2";
    Query query = db_.query(sql);
    query.bind(1, static_cast<std::int64_t>(options.after.sequence()))
        .bind(2, static_cast<std::int64_t>(options.limit));
    if (options.category) query.bind(3, *options.category);
    if (options.event_type) query.bind(4, *options.event_type);
    query.bind(5, now_micros());
    if (options.stream) query.bind(6, *options.stream);
    return collect_events(query);
  }

  std::optional<KvEntry> kv_get(std::string_view ns, std::string_view key) override {
    Query query = db_.query(std::string("SELECT ") + kKvColumns +
                            " FROM strata_kv WHERE namespace = ?1 AND key = ?2 AND " + kLive);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    if (!query.step()) return std::nullopt;
    return read_entry(query);
  }

  KvOutcome kv_put(std::string_view ns, const KvWrite& write) override {
    const auto writing = writer_turn();
    const std::int64_t now = now_micros();
    const char* sql = kUpsert;
    if (write.condition == KvWrite::Condition::absent) sql = kInsertIfAbsent;
    if (write.condition == KvWrite::Condition::version) sql = kUpdateAtVersion;
    // A JSON value is written with its text index, so both statements go in one transaction.
    std::optional<AtomicScope> atomic;
    if (write.value_is_json) atomic.emplace(db_, in_transaction_);
    Query query = db_.query(sql);
    bind_write(query, ns, write, now);
    if (write.condition == KvWrite::Condition::version) query.bind(7, write.if_version);
    if (!query.step()) {
      query.reset();
      return KvOutcome{false, live_version(ns, write.key)};
    }
    const KvOutcome written{true, query.integer(0)};
    const std::int64_t rowid = query.integer(1);
    query.reset();
    if (write.value_is_json) {
      index_text(rowid, write.value);
      atomic->commit();
    }
    return written;
  }

  std::vector<std::int64_t> kv_put_many(std::string_view ns,
                                        const std::vector<KvWrite>& writes) override {
    const auto writing = writer_turn();
    const std::int64_t now = now_micros();
    if (insert_fresh(ns, writes, now)) return std::vector<std::int64_t>(writes.size(), 1);
    AtomicScope atomic(db_, in_transaction_);
    auto versions = upsert_each(ns, writes, now);
    atomic.commit();
    return versions;
  }

  KvOutcome kv_erase(std::string_view ns, std::string_view key,
                     std::optional<std::int64_t> if_version) override {
    const auto writing = writer_turn();
    Query query = db_.query(
        if_version ? std::string("DELETE FROM strata_kv WHERE namespace = ?1 AND key = ?2 AND "
                                 "version = ?4 AND (expires_at IS NULL OR expires_at > ?3) "
                                 "RETURNING 1")
                   : std::string("DELETE FROM strata_kv WHERE namespace = ?1 AND key = ?2 "
                                 "RETURNING ") +
                         kReturningLive);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    if (if_version) query.bind(4, *if_version);
    if (query.step()) return KvOutcome{query.integer(0) != 0, 0};
    query.reset();
    return KvOutcome{false, if_version ? live_version(ns, key) : 0};
  }

  std::size_t kv_erase_many(std::string_view ns, const std::vector<std::string>& keys) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const std::int64_t now = now_micros();
    std::size_t erased = 0;
    Query query = db_.query(
        std::string("DELETE FROM strata_kv WHERE namespace = ?1 AND key = ?2 RETURNING ") +
        kReturningLive);
    for (const std::string& key : keys) {
      query.bind(1, ns).bind_blob(2, key).bind(3, now);
      if (query.step() && query.integer(0) != 0) ++erased;
      query.reset();
    }
    atomic.commit();
    return erased;
  }

  std::size_t kv_count(std::string_view ns, const KeyRange& range) override {
    Query query = db_.query(std::string("SELECT count(*) FROM strata_kv WHERE ") + kInRange);
    bind_range(query, ns, range);
    query.step();
    return static_cast<std::size_t>(query.integer(0));
  }

  std::vector<KvEntry> kv_scan(std::string_view ns, const KeyRange& range,
                               std::size_t limit) override {
    Query query = db_.query(std::string("SELECT ") + kKvColumns + " FROM strata_kv WHERE " +
                            kInRange + " ORDER BY key LIMIT ?5");
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit));
    std::vector<KvEntry> entries;
    while (query.step()) entries.push_back(read_entry(query));
    return entries;
  }

  std::vector<KvEntry> kv_find(std::string_view ns, JsonField field, std::string_view pattern,
                               const KeyRange& range, std::size_t limit) override {
    const char* document = field == JsonField::value
                               ? "value_is_json AND strata_json_contains(CAST(value AS TEXT), ?6)"
                               : "strata_json_contains(metadata, ?6)";
    Query query = db_.query(std::string("SELECT ") + kKvColumns + " FROM strata_kv WHERE " +
                            kInRange + " AND " + document + " ORDER BY key LIMIT ?5");
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit)).bind(6, pattern);
    std::vector<KvEntry> entries;
    while (query.step()) entries.push_back(read_entry(query));
    return entries;
  }

  std::vector<KvEntry> kv_search(std::string_view ns, const std::vector<std::string>& words,
                                 const KeyRange& range, std::size_t limit) override {
    // Each word a quoted FTS5 string; side by side they must all match.
    std::string match;
    for (const std::string& word : words) {
      if (!match.empty()) match += ' ';
      match += '"';
      for (const char c : word) match += c == '"' ? std::string("\"\"") : std::string(1, c);
      match += '"';
    }
    Query query = db_.query(std::string("SELECT ") + kKvColumns +
                            " FROM strata_kv WHERE rowid IN (SELECT rowid FROM strata_kv_text "
                            "WHERE strata_kv_text MATCH ?6) AND " +
                            kInRange + " ORDER BY key LIMIT ?5");
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit)).bind(6, match);
    std::vector<KvEntry> entries;
    while (query.step()) entries.push_back(read_entry(query));
    return entries;
  }

  void kv_clear(std::string_view ns) override {
    const auto writing = writer_turn();
    db_.query("DELETE FROM strata_kv WHERE namespace = ?1").bind(1, ns).run();
  }

  std::size_t kv_purge_expired(std::string_view ns, std::size_t limit) override {
    const auto writing = writer_turn();
    Query query = db_.query(
        "DELETE FROM strata_kv WHERE namespace = ?1 AND key IN (SELECT key FROM strata_kv "
        "WHERE namespace = ?1 AND expires_at <= ?2 LIMIT ?3)");
    query.bind(1, ns).bind(2, now_micros()).bind(3, static_cast<std::int64_t>(limit)).run();
    return static_cast<std::size_t>(db_.changes());
  }

  KvCheckpoint kv_checkpoint_create(std::string_view ns) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const std::int64_t now = now_micros();
    db_.query(
           "INSERT INTO strata_kv_checkpoints (namespace, created_at, entries, bytes) "
           "VALUES (?1, ?2, 0, 0)")
        .bind(1, ns)
        .bind(2, now)
        .run();
    const std::int64_t id = db_.last_insert_rowid();
    db_.query(
           "INSERT INTO strata_kv_checkpoint_entries "
           "SELECT ?1, key, value, value_is_json, version, metadata, expires_at FROM strata_kv "
           "WHERE namespace = ?2 AND (expires_at IS NULL OR expires_at > ?3)")
        .bind(1, id)
        .bind(2, ns)
        .bind(3, now)
        .run();
    Query totals = db_.query(
        "UPDATE strata_kv_checkpoints SET "
        "entries = (SELECT count(*) FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1), "
        "bytes = (SELECT coalesce(sum(length(key) + length(value)), 0) "
        "FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1) "
        "WHERE id = ?1 RETURNING entries, bytes");
    totals.bind(1, id);
    totals.step();
    const KvCheckpoint checkpoint{id, now, totals.integer(0), totals.integer(1)};
    totals.reset();
    atomic.commit();
    return checkpoint;
  }

  std::vector<KvCheckpoint> kv_checkpoint_list(std::string_view ns) override {
    Query query = db_.query(
        "SELECT id, created_at, entries, bytes FROM strata_kv_checkpoints WHERE namespace = ?1 "
        "ORDER BY id");
    query.bind(1, ns);
    std::vector<KvCheckpoint> checkpoints;
    while (query.step()) {
      checkpoints.push_back(
          KvCheckpoint{query.integer(0), query.integer(1), query.integer(2), query.integer(3)});
    }
    return checkpoints;
  }

  bool kv_checkpoint_restore(std::string_view ns, std::int64_t id) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    if (!checkpoint_exists(ns, id)) return false;
    db_.query("DELETE FROM strata_kv WHERE namespace = ?1").bind(1, ns).run();
    db_.query(
           "INSERT INTO strata_kv "
           "(namespace, key, value, value_is_json, version, metadata, expires_at) "
           "SELECT ?1, key, value, value_is_json, version, metadata, expires_at "
           "FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?2")
        .bind(1, ns)
        .bind(2, id)
        .run();
    db_.query(
           "INSERT INTO strata_kv_text (rowid, text) SELECT k.rowid, "
           "(SELECT group_concat(j.value, ' ') FROM json_tree(CAST(k.value AS TEXT)) AS j "
           "WHERE j.type = 'text') FROM strata_kv AS k WHERE k.namespace = ?1 AND k.value_is_json")
        .bind(1, ns)
        .run();
    atomic.commit();
    return true;
  }

  bool kv_checkpoint_delete(std::string_view ns, std::int64_t id) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    if (!checkpoint_exists(ns, id)) return false;
    db_.query("DELETE FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1")
        .bind(1, id)
        .run();
    db_.query("DELETE FROM strata_kv_checkpoints WHERE id = ?1").bind(1, id).run();
    atomic.commit();
    return true;
  }

  WorkflowCheckpoint workflow_save(std::string_view workflow, std::string_view state) override {
    const auto writing = writer_turn();
    const std::int64_t now = now_micros();
    Query query = db_.query(
        "INSERT INTO strata_workflow_checkpoints (workflow, version, state, created_at) "
        "SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3 FROM strata_workflow_checkpoints "
        "WHERE workflow = ?1 RETURNING version");
    query.bind(1, workflow).bind(2, state).bind(3, now);
    query.step();
    return WorkflowCheckpoint{std::string(workflow), query.integer(0), std::string(state), now};
  }

  std::optional<WorkflowCheckpoint> workflow_get(std::string_view workflow,
                                                 std::optional<std::int64_t> version) override {
    Query query =
        db_.query(version ? std::string(kWorkflowSelect) + "AND version = ?2"
                          : std::string(kWorkflowSelect) + "ORDER BY version DESC LIMIT 1");
    query.bind(1, workflow);
    if (version) query.bind(2, *version);
    if (!query.step()) return std::nullopt;
    return read_workflow(query);
  }

  std::vector<WorkflowCheckpoint> workflow_list(std::string_view workflow) override {
    Query query = db_.query(std::string(kWorkflowSelect) + "ORDER BY version");
    query.bind(1, workflow);
    std::vector<WorkflowCheckpoint> checkpoints;
    while (query.step()) checkpoints.push_back(read_workflow(query));
    return checkpoints;
  }

  std::size_t workflow_delete(std::string_view workflow,
                              std::optional<std::int64_t> version) override {
    const auto writing = writer_turn();
    Query query = db_.query(
        "DELETE FROM strata_workflow_checkpoints WHERE workflow = ?1 "
        "AND (?2 IS NULL OR version = ?2)");
    query.bind(1, workflow);
    if (version) {
      query.bind(2, *version);
    } else {
      query.bind_null(2);
    }
    query.run();
    return static_cast<std::size_t>(db_.changes());
  }

  std::size_t workflow_prune(std::string_view workflow, std::size_t keep) override {
    const auto writing = writer_turn();
    db_.query(
           "DELETE FROM strata_workflow_checkpoints WHERE workflow = ?1 AND version <= "
           "(SELECT version FROM strata_workflow_checkpoints WHERE workflow = ?1 "
           "ORDER BY version DESC LIMIT 1 OFFSET ?2)")
        .bind(1, workflow)
        .bind(2, static_cast<std::int64_t>(keep))
        .run();
    return static_cast<std::size_t>(db_.changes());
  }

  void queue_create(std::string_view queue, const QueueSettings& settings) override {
    const auto writing = writer_turn();
    Query query = db_.query(
        "INSERT INTO strata_queues (name, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, "
        "expire_ms, dead_letters) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO "
        "UPDATE SET lease_ms = excluded.lease_ms, max_attempts = excluded.max_attempts, "
        "retry_base_ms = excluded.retry_base_ms, retry_cap_ms = excluded.retry_cap_ms, "
        "expire_ms = excluded.expire_ms, dead_letters = excluded.dead_letters");
    query.bind(1, queue)
        .bind(2, static_cast<std::int64_t>(settings.lease.count()))
        .bind(3, std::int64_t{settings.max_attempts})
        .bind(4, static_cast<std::int64_t>(settings.retry_base.count()))
        .bind(5, static_cast<std::int64_t>(settings.retry_cap.count()));
    if (settings.expire_after) {
      query.bind(6, static_cast<std::int64_t>(settings.expire_after->count()));
    } else {
      query.bind_null(6);
    }
    query.bind(7, std::int64_t{settings.dead_letters ? 1 : 0}).run();
  }

  std::vector<Produced> queue_produce(std::string_view queue,
                                      const std::vector<PendingMessage>& messages) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    std::vector<Produced> produced;
    for (const PendingMessage& message : messages) {
      if (message.dedup_key) {
        // An expired item no longer holds its key.
        db_.query(
               "DELETE FROM strata_queue_items WHERE queue = ?1 AND dedup_key = ?2 AND "
               "lease_token IS NULL AND expires_at <= ?3")
            .bind(1, queue)
            .bind(2, *message.dedup_key)
            .bind(3, now)
            .run();
      }
      // Only an item with a dedup key can conflict; the others take the plain statement.
      Query insert = db_.query(
          message.dedup_key
              ? "INSERT INTO strata_queue_items (queue, payload, headers, priority, run_at, "
                "expires_at, dedup_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                "ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"
              : "INSERT INTO strata_queue_items (queue, payload, headers, priority, run_at, "
                "expires_at, dedup_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      insert.bind(1, queue)
          .bind_blob(2, message.payload)
          .bind_optional(3, message.headers)
          .bind(4, std::int64_t{message.priority})
          .bind(5, now + message.delay_ms * 1000)
          .bind_optional(7, message.dedup_key)
          .bind(8, now);
      const auto expires_in = message.expires_in_ms ? message.expires_in_ms : config.expire_ms;
      if (expires_in) {
        insert.bind(6, now + *expires_in * 1000);
      } else {
        insert.bind_null(6);
      }
      if (!message.dedup_key) {
        insert.run();
        produced.push_back(Produced{db_.last_insert_rowid(), false});
        continue;
      }
      if (insert.step()) {
        produced.push_back(Produced{insert.integer(0), false});
        continue;
      }
      insert.reset();
      Query existing =
          db_.query("SELECT id FROM strata_queue_items WHERE queue = ?1 AND dedup_key = ?2");
      existing.bind(1, queue).bind(2, *message.dedup_key);
      existing.step();
      produced.push_back(Produced{existing.integer(0), true});
    }
    atomic.commit();
    produced_ = true;
    if (!in_transaction_) signals_.queues.notify();
    return produced;
  }

  std::vector<LeasedMessage> queue_lease(std::string_view queue, std::size_t max_items,
                                         std::optional<std::int64_t> lease_ms,
                                         std::string_view lease) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    reclaim_expired_leases(queue, config, now);
    db_.query(
           "DELETE FROM strata_queue_items WHERE queue = ?1 AND lease_token IS NULL AND "
           "expires_at <= ?2")
        .bind(1, queue)
        .bind(2, now)
        .run();
    std::vector<LeasedMessage> leased;
    if (!config.paused) {
      Query claim = db_.query(
          "UPDATE strata_queue_items SET lease_token = ?5, "
          "leased_until = ?2 + ?3, attempts = attempts + 1 WHERE id IN (SELECT id FROM "
          "strata_queue_items WHERE queue = ?1 AND lease_token IS NULL AND run_at <= ?2 AND "
          "(expires_at IS NULL OR expires_at > ?2) ORDER BY priority DESC, id LIMIT ?4) "
          "RETURNING id, payload, headers, priority, attempts, leased_until");
      claim.bind(1, queue)
          .bind(2, now)
          .bind(3, lease_ms.value_or(config.lease_ms) * 1000)
          .bind(4, static_cast<std::int64_t>(max_items))
          .bind(5, lease);
      while (claim.step()) {
        leased.push_back(LeasedMessage{claim.integer(0), claim.blob(1), claim.optional_text(2),
                                       static_cast<int>(claim.integer(3)),
                                       static_cast<int>(claim.integer(4)), "", claim.integer(5)});
      }
    }
    atomic.commit();
    std::sort(leased.begin(), leased.end(), [](const auto& a, const auto& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    });
    return leased;
  }

  bool queue_extend(std::string_view queue, const LeaseToken& token,
                    std::optional<std::int64_t> lease_ms) override {
    const auto writing = writer_turn();
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    db_.query(std::string("UPDATE strata_queue_items SET leased_until = ?2 + ?3 WHERE ") + kHeld)
        .bind(1, queue)
        .bind(2, now)
        .bind(3, lease_ms.value_or(config.lease_ms) * 1000)
        .bind(4, token.item)
        .bind(5, token.lease)
        .run();
    return db_.changes() == 1;
  }

  std::size_t queue_complete(std::string_view queue,
                             const std::vector<LeaseToken>& tokens) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    queue_config(queue);
    const std::int64_t now = now_micros();
    std::size_t completed = 0;
    Query erase = db_.query(std::string("DELETE FROM strata_queue_items WHERE ") + kHeld);
    for (const LeaseToken& token : tokens) {
      erase.bind(1, queue).bind(2, now).bind(4, token.item).bind(5, token.lease).run();
      completed += static_cast<std::size_t>(db_.changes());
      erase.reset();
    }
    atomic.commit();
    return completed;
  }

  bool queue_retry(std::string_view queue, const LeaseToken& token,
                   std::optional<std::int64_t> delay_ms, double jitter) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    Query held = db_.query(std::string("SELECT attempts FROM strata_queue_items WHERE ") + kHeld);
    held.bind(1, queue).bind(2, now).bind(4, token.item).bind(5, token.lease);
    if (!held.step()) return false;
    const std::int64_t attempts = held.integer(0);
    held.reset();
    if (attempts >= config.max_attempts) {
      bury_held(queue, token, config, now, "retried after its last attempt");
    } else {
      const std::int64_t delay = delay_ms.value_or(backoff_ms(config, attempts, jitter));
      db_.query(
             std::string("UPDATE strata_queue_items SET lease_token = NULL, leased_until = NULL, "
                         "run_at = ?2 + ?3, history = json_insert(history, '$[#]', "
                         "json_object('attempt', attempts, 'outcome', 'retried', 'at', ?2)) "
                         "WHERE ") +
             kHeld)
          .bind(1, queue)
          .bind(2, now)
          .bind(3, delay * 1000)
          .bind(4, token.item)
          .bind(5, token.lease)
          .run();
    }
    atomic.commit();
    return true;
  }

  bool queue_fail(std::string_view queue, const LeaseToken& token,
                  std::string_view reason) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const QueueConfig config = queue_config(queue);
    const bool held = bury_held(queue, token, config, now_micros(), reason);
    atomic.commit();
    return held;
  }

  std::vector<std::string> queue_names() override {
    Query query = db_.query("SELECT name FROM strata_queues ORDER BY name");
    std::vector<std::string> names;
    while (query.step()) names.push_back(query.text(0));
    return names;
  }

  QueueStats queue_stats(std::string_view queue) override {
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    Query query = db_.query(
        "SELECT "
        "count(*) FILTER (WHERE (lease_token IS NULL OR leased_until <= ?2) AND run_at <= ?2), "
        "count(*) FILTER (WHERE lease_token IS NULL AND run_at > ?2), "
        "count(*) FILTER (WHERE lease_token IS NOT NULL AND leased_until > ?2), "
        "min(run_at) FILTER (WHERE (lease_token IS NULL OR leased_until <= ?2) AND run_at <= ?2), "
        "(SELECT count(*) FROM strata_dead_letters WHERE queue = ?1) "
        "FROM strata_queue_items WHERE queue = ?1 AND (expires_at IS NULL OR expires_at > ?2)");
    query.bind(1, queue).bind(2, now);
    query.step();
    QueueStats stats{query.integer(0), query.integer(1), query.integer(2),
                     query.integer(4), std::nullopt,     config.paused};
    if (!query.is_null(3)) {
      stats.oldest_ready_age_seconds = static_cast<double>(now - query.integer(3)) / 1e6;
    }
    return stats;
  }

  void queue_set_paused(std::string_view queue, bool paused) override {
    const auto writing = writer_turn();
    queue_config(queue);
    db_.query("UPDATE strata_queues SET paused = ?2 WHERE name = ?1")
        .bind(1, queue)
        .bind(2, std::int64_t{paused ? 1 : 0})
        .run();
  }

  std::size_t queue_purge(std::string_view queue) override {
    const auto writing = writer_turn();
    queue_config(queue);
    db_.query("DELETE FROM strata_queue_items WHERE queue = ?1").bind(1, queue).run();
    return static_cast<std::size_t>(db_.changes());
  }

  std::vector<DeadLetter> queue_dead_letters(std::string_view queue, std::int64_t after_id,
                                             std::size_t limit) override {
    queue_config(queue);
    Query query = db_.query(
        "SELECT id, payload, headers, dedup_key, attempts, reason, history, failed_at "
        "FROM strata_dead_letters WHERE queue = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    query.bind(1, queue).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    std::vector<DeadLetter> dead;
    while (query.step()) {
      dead.push_back(DeadLetter{query.integer(0), query.blob(1), query.optional_text(2),
                                query.optional_text(3), static_cast<int>(query.integer(4)),
                                query.text(5), query.text(6), query.integer(7)});
    }
    return dead;
  }

  std::size_t queue_requeue(std::string_view queue,
                            const std::optional<std::vector<std::int64_t>>& ids) override {
    const auto writing = writer_turn();
    AtomicScope atomic(db_, in_transaction_);
    const QueueConfig config = queue_config(queue);
    const std::int64_t now = now_micros();
    std::vector<std::int64_t> wanted;
    if (ids) {
      wanted = *ids;
    } else {
      Query all = db_.query("SELECT id FROM strata_dead_letters WHERE queue = ?1 ORDER BY id");
      all.bind(1, queue);
      while (all.step()) wanted.push_back(all.integer(0));
    }
    std::size_t requeued = 0;
    for (const std::int64_t id : wanted) {
      // A dead letter whose dedup key a live item holds stays dead.
      Query back = db_.query(
          "INSERT INTO strata_queue_items (id, queue, payload, headers, priority, run_at, "
          "expires_at, dedup_key, attempts, history, created_at) SELECT id, queue, payload, "
          "headers, priority, ?3, ?4, dedup_key, 0, json_insert(history, '$[#]', "
          "json_object('outcome', 'requeued', 'at', ?3)), created_at FROM strata_dead_letters "
          "WHERE queue = ?1 AND id = ?2 AND (dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM "
          "strata_queue_items AS live WHERE live.queue = ?1 AND live.dedup_key = "
          "strata_dead_letters.dedup_key))");
      back.bind(1, queue).bind(2, id).bind(3, now);
      if (config.expire_ms) {
        back.bind(4, now + *config.expire_ms * 1000);
      } else {
        back.bind_null(4);
      }
      back.run();
      if (db_.changes() == 0) continue;
      db_.query("DELETE FROM strata_dead_letters WHERE id = ?1").bind(1, id).run();
      ++requeued;
    }
    atomic.commit();
    return requeued;
  }

  std::size_t queue_purge_dead(std::string_view queue) override {
    const auto writing = writer_turn();
    queue_config(queue);
    db_.query("DELETE FROM strata_dead_letters WHERE queue = ?1").bind(1, queue).run();
    return static_cast<std::size_t>(db_.changes());
  }

  StreamInfo stream_info(std::string_view stream) override {
    const StreamState state = read_stream_state(db_, stream);
    Query readable =
        db_.query("SELECT EXISTS (SELECT 1 FROM strata_events e WHERE stream = ?1 AND " +
                  retained_event_sql(2) + ")");
    readable.bind(1, stream).bind(2, now_micros());
    readable.step();
    return StreamInfo{readable.integer(0) != 0, state.version, state.deleted};
  }

 private:
  // The fast path of a batch: plain INSERTs, as when every key is new. False, with nothing left
  // written, when a key already exists (live or expired): then upsert_each does the batch.
  bool insert_fresh(std::string_view ns, const std::vector<KvWrite>& writes, std::int64_t now) {
    AtomicScope fresh(db_, in_transaction_);
    Query insert = db_.query(kInsertNew);
    for (const KvWrite& write : writes) {
      bind_write(insert, ns, write, now);
      try {
        insert.run();
      } catch (const SqliteError& error) {
        if (!is_unique_violation(error)) throw;
        return false;  // `fresh` rolls back.
      }
      insert.reset();
      if (write.value_is_json) index_text(db_.last_insert_rowid(), write.value);
    }
    fresh.commit();
    return true;
  }

  std::vector<std::int64_t> upsert_each(std::string_view ns, const std::vector<KvWrite>& writes,
                                        std::int64_t now) {
    std::vector<std::int64_t> versions;
    versions.reserve(writes.size());
    Query query = db_.query(kUpsert);
    for (const KvWrite& write : writes) {
      bind_write(query, ns, write, now);
      query.step();
      versions.push_back(query.integer(0));
      const std::int64_t rowid = query.integer(1);
      query.reset();
      if (write.value_is_json) index_text(rowid, write.value);
    }
    return versions;
  }

  // Adds the string values of a JSON value to the text index, under the row's rowid.
  void index_text(std::int64_t rowid, std::string_view json) {
    db_.query(
           "INSERT INTO strata_kv_text (rowid, text) "
           "SELECT ?1, group_concat(value, ' ') FROM json_tree(?2) WHERE type = 'text'")
        .bind(1, rowid)
        .bind(2, json)
        .run();
  }

  QueueConfig queue_config(std::string_view queue) {
    Query query = db_.query(
        "SELECT lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, dead_letters, "
        "paused FROM strata_queues WHERE name = ?1");
    query.bind(1, queue);
    if (!query.step()) throw_unknown_queue(queue);
    QueueConfig config;
    config.lease_ms = query.integer(0);
    config.max_attempts = query.integer(1);
    config.retry_base_ms = query.integer(2);
    config.retry_cap_ms = query.integer(3);
    if (!query.is_null(4)) config.expire_ms = query.integer(4);
    config.dead_letters = query.integer(5) != 0;
    config.paused = query.integer(6) != 0;
    return config;
  }

  // Items whose lease ran out come back, or go to the dead letters once their attempts are
  // used up; a bounded batch per call keeps lease() short.
  void reclaim_expired_leases(std::string_view queue, const QueueConfig& config, std::int64_t now) {
    const std::string exhausted =
        "queue = ?1 AND lease_token IS NOT NULL AND leased_until <= ?2 AND attempts >= ?3";
    if (config.dead_letters) {
      db_.query(std::string(kBury) + exhausted)
          .bind(1, queue)
          .bind(2, now)
          .bind(3, config.max_attempts)
          .bind(6, "lease expired on its last attempt")
          .run();
    }
    db_.query("DELETE FROM strata_queue_items WHERE " + exhausted)
        .bind(1, queue)
        .bind(2, now)
        .bind(3, config.max_attempts)
        .run();
    db_.query(
           "UPDATE strata_queue_items SET lease_token = NULL, leased_until = NULL, "
           "history = json_insert(history, '$[#]', json_object('attempt', attempts, 'outcome', "
           "'lease expired', 'at', ?2)) WHERE queue = ?1 AND lease_token IS NOT NULL AND "
           "leased_until <= ?2")
        .bind(1, queue)
        .bind(2, now)
        .run();
  }

  // Moves the item a live token holds to the dead letters (or drops it when the queue keeps
  // none). False when the token holds nothing.
  bool bury_held(std::string_view queue, const LeaseToken& token, const QueueConfig& config,
                 std::int64_t now, std::string_view reason) {
    if (config.dead_letters) {
      db_.query(std::string(kBury) + kHeld)
          .bind(1, queue)
          .bind(2, now)
          .bind(4, token.item)
          .bind(5, token.lease)
          .bind(6, reason)
          .run();
    }
    db_.query(std::string("DELETE FROM strata_queue_items WHERE ") + kHeld)
        .bind(1, queue)
        .bind(2, now)
        .bind(4, token.item)
        .bind(5, token.lease)
        .run();
    return db_.changes() == 1;
  }

  bool checkpoint_exists(std::string_view ns, std::int64_t id) {
    Query query = db_.query("SELECT 1 FROM strata_kv_checkpoints WHERE id = ?1 AND namespace = ?2");
    query.bind(1, id).bind(2, ns);
    return query.step();
  }

  std::int64_t live_version(std::string_view ns, std::string_view key) {
    Query query = db_.query(
        std::string("SELECT version FROM strata_kv WHERE namespace = ?1 AND key = ?2 AND ") +
        kLive);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    return query.step() ? query.integer(0) : 0;
  }

  // ?1 namespace, ?2 key, ?3 value, ?4 metadata, ?5 expires_at, ?6 now, ?8 value is JSON.
  static void bind_write(Query& query, std::string_view ns, const KvWrite& write,
                         std::int64_t now) {
    query.bind(1, ns)
        .bind_blob(2, write.key)
        .bind_blob(3, write.value)
        .bind_optional(4, write.metadata);
    if (write.ttl_micros) {
      query.bind(5, now + *write.ttl_micros);
    } else {
      query.bind_null(5);
    }
    query.bind(6, now).bind(8, std::int64_t{write.value_is_json ? 1 : 0});
  }

  // ?1 namespace, ?2 from, ?3 now, ?4 to (NULL: unbounded).
  static void bind_range(Query& query, std::string_view ns, const KeyRange& range) {
    query.bind(1, ns).bind_blob(2, range.from).bind(3, now_micros());
    if (range.to) {
      query.bind_blob(4, *range.to);
    } else {
      query.bind_null(4);
    }
  }

  void insert_events(const AppendBatch& batch, std::int64_t current_version) {
    Query insert = db_.query(
        "INSERT INTO strata_events (stream, version, id, type, data, metadata, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    std::int64_t version = current_version;
    for (const PendingEvent& event : batch.events) {
      insert.bind(1, batch.stream)
          .bind(2, ++version)
          .bind(3, event.id)
          .bind(4, event.type)
          .bind(5, event.data)
          .bind_optional(6, event.metadata)
          .bind(7, event.created_at);
      insert.run();
      insert.reset();
    }
  }

  std::unique_lock<std::timed_mutex> writer_turn() { return context_.writer_turn(); }

  Database& db_;
  bool in_transaction_;
  Signals& signals_;
  bool produced_ = false;
  bool appended_ = false;
  SqliteContext context_;
  SqliteLocks locks_{context_};
  SqliteSnapshots snapshots_{context_};
  SqliteStreams streams_{context_};
  SqliteConsumers consumers_{context_};
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(const SqliteSettings& settings)
      : settings_(settings),
        writer_{{}, settings.busy_timeout},
        pool_(
            PoolSettings{settings.max_connections, 1, settings.busy_timeout, 1, {}},
            [this] { return connect(); }, &rolled_back) {}

  std::string_view name() const override { return "sqlite"; }
  PoolStats pool_stats() override { return pool_.stats(); }
  int latest_schema_version() const override { return sqlite_migrations().back().version; }

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
      auto db = pool_.acquire();
      for (const Migration& migration : sqlite_migrations()) {
        AtomicScope atomic(*db, false);
        db->exec(
            "CREATE TABLE IF NOT EXISTS strata_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT "
            "(strftime('%Y-%m-%dT%H:%M:%fZ')))");
        Query applied = db->query("SELECT 1 FROM strata_migrations WHERE version = ?1");
        applied.bind(1, std::int64_t{migration.version});
        if (applied.step()) continue;
        db->exec(std::string(migration.sql));
        db->query("INSERT INTO strata_migrations (version, name) VALUES (?1, ?2)")
            .bind(1, std::int64_t{migration.version})
            .bind(2, migration.name)
            .run();
        atomic.commit();
      }
    });
  }

  int schema_version() override {
    int version = 0;
    guarded([&] {
      auto db = pool_.acquire();
      Query exists = db->query(
          "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'strata_migrations'");
      if (!exists.step()) return;
      Query highest = db->query("SELECT coalesce(max(version), 0) FROM strata_migrations");
      highest.step();
      version = static_cast<int>(highest.integer(0));
    });
    return version;
  }

  void run(const SessionFn& fn) override {
    guarded([&] {
      auto db = pool_.acquire();
      SqliteSession session(*db, &writer_, signals_);
      fn(session);
    });
  }

  void run_transaction(const SessionFn& fn) override {
    guarded([&] {
      auto db = pool_.acquire();
      const auto writing = writer_.take();
      AtomicScope atomic(*db, false);
      SqliteSession session(*db, nullptr, signals_);
      fn(session);
      atomic.commit();
      if (session.produced()) signals_.queues.notify();
      if (session.appended()) signals_.events.notify();
    });
  }

 private:
  std::unique_ptr<Database> connect() {
    auto db = std::make_unique<Database>(settings_.path);
    db->define_function("strata_json_contains", 2,
                        [](std::string_view document, std::string_view pattern) {
                          return json_contains(document, pattern);
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

  // A connection goes back to the pool only outside a transaction. It is kept (an in-memory
  // database lives only as long as its one connection) unless it cannot even roll back.
  static bool rolled_back(Database& db) {
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
  WriterLock writer_;  // See SqliteSession::writer_turn.
  Signals signals_;
  Pool<Database> pool_;
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
