// Key-value state on SQLite: keys and values as blobs, expiry on the process's clock, JSON
// values' strings in an FTS5 index for search, checkpoints as copies of a namespace.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;
using sqlite::SqliteError;

// The one definition of an unexpired key: ?3 is now.
constexpr std::string_view kLive = "(expires_at IS NULL OR expires_at > ?3)";
// Whether the deleted row was live. SQLite 3.40 evaluates `expires_at IS NULL OR …` wrongly in
// a DELETE's RETURNING clause (it yields no value), so the test is written without IS NULL.
constexpr std::string_view kReturningLive = "coalesce(expires_at > ?3, 1) AS live";

constexpr std::string_view kSelectEntries =
    "SELECT key, value, version, metadata, expires_at FROM strata_kv ";

// Rows of kSelectEntries.
std::vector<KvEntry> read_entries(Query& query) {
  const int key = query.column("key");
  const int value = query.column("value");
  const int version = query.column("version");
  const int metadata = query.column("metadata");
  const int expires_at = query.column("expires_at");
  std::vector<KvEntry> entries;
  while (query.step()) {
    KvEntry& entry = entries.emplace_back();
    entry.key = query.blob(key);
    entry.value = query.blob(value);
    entry.version = query.integer(version);
    entry.metadata = query.optional_text(metadata);
    if (!query.is_null(expires_at)) entry.expires_at = query.integer(expires_at);
  }
  return entries;
}

// ?1 namespace, ?2 key, ?3 now.
constexpr Statement kGet{kSelectEntries, "WHERE namespace = ?1 AND key = ?2 AND ", kLive};
constexpr Statement kLiveVersion{
    "SELECT version FROM strata_kv WHERE namespace = ?1 AND key = ?2 AND ", kLive};

// Each write binds ?1 namespace, ?2 key, ?3 value, ?4 metadata, ?5 expires_at, ?6 now, ?8 value
// is JSON (see bind_write); those that may refuse return the new version and the rowid.
// An expired key is absent: writing it starts again at version 1.
constexpr Statement kUpsert{
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5) ON CONFLICT (namespace, key) DO UPDATE SET "
    "value = excluded.value, value_is_json = excluded.value_is_json, "
    "metadata = excluded.metadata, expires_at = excluded.expires_at, "
    "version = CASE WHEN expires_at IS NOT NULL AND expires_at <= ?6 THEN 1 ELSE version + 1 END "
    "RETURNING version, rowid AS row_id"};
// ?6 (now) is bound but unused here.
constexpr Statement kInsertNew{
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5)"};
constexpr Statement kInsertIfAbsent{
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "VALUES (?1, ?2, ?3, ?8, 1, ?4, ?5) ON CONFLICT (namespace, key) DO UPDATE SET "
    "value = excluded.value, value_is_json = excluded.value_is_json, "
    "metadata = excluded.metadata, expires_at = excluded.expires_at, "
    "version = 1 WHERE expires_at IS NOT NULL AND expires_at <= ?6 "
    "RETURNING version, rowid AS row_id"};
// ?7 the version the key must be at.
constexpr Statement kUpdateAtVersion{
    "UPDATE strata_kv SET value = ?3, value_is_json = ?8, metadata = ?4, expires_at = ?5, "
    "version = version + 1 "
    "WHERE namespace = ?1 AND key = ?2 AND version = ?7 "
    "AND (expires_at IS NULL OR expires_at > ?6) RETURNING version, rowid AS row_id"};

void bind_write(Query& query, std::string_view ns, const KvWrite& write, std::int64_t now) {
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

// ?1 the row, ?2 its JSON value: the value's strings go to the text index.
constexpr Statement kIndexText{
    "INSERT INTO strata_kv_text (rowid, text) "
    "SELECT ?1, group_concat(value, ' ') FROM json_tree(?2) WHERE type = 'text'"};

// ?1 namespace, ?2 key, ?3 now, ?4 the version the key must be at.
constexpr Statement kEraseAtVersion{
    "DELETE FROM strata_kv WHERE namespace = ?1 AND key = ?2 AND version = ?4 AND "
    "(expires_at IS NULL OR expires_at > ?3) RETURNING 1 AS live"};
constexpr Statement kErase{"DELETE FROM strata_kv WHERE namespace = ?1 AND key = ?2 RETURNING ",
                           kReturningLive};

// ?1 namespace, ?2 from (inclusive), ?3 now, ?4 to (exclusive; NULL: unbounded).
constexpr std::string_view kInRange =
    "namespace = ?1 AND key >= ?2 AND (?4 IS NULL OR key < ?4) AND "
    "(expires_at IS NULL OR expires_at > ?3)";

void bind_range(Query& query, std::string_view ns, const KeyRange& range) {
  query.bind(1, ns).bind_blob(2, range.from).bind(3, now_micros());
  if (range.to) {
    query.bind_blob(4, *range.to);
  } else {
    query.bind_null(4);
  }
}

constexpr Statement kCount{"SELECT count(*) AS count FROM strata_kv WHERE ", kInRange};
// bind_range, then ?5 limit and ?6 the pattern or the words.
constexpr Statement kScan{kSelectEntries, "WHERE ", kInRange, " ORDER BY key LIMIT ?5"};
constexpr Statement kFindValue{
    kSelectEntries, "WHERE ", kInRange,
    " AND value_is_json AND strata_json_contains(CAST(value AS TEXT), ?6) ORDER BY key LIMIT ?5"};
constexpr Statement kFindMetadata{kSelectEntries, "WHERE ", kInRange,
                                  " AND strata_json_contains(metadata, ?6) ORDER BY key LIMIT ?5"};
constexpr Statement kSearch{
    kSelectEntries,
    "WHERE rowid IN (SELECT rowid FROM strata_kv_text WHERE strata_kv_text MATCH ?6) AND ",
    kInRange, " ORDER BY key LIMIT ?5"};

constexpr Statement kClear{"DELETE FROM strata_kv WHERE namespace = ?1"};
// ?1 namespace, ?2 now, ?3 how many.
constexpr Statement kPurgeExpired{
    "DELETE FROM strata_kv WHERE namespace = ?1 AND key IN (SELECT key FROM strata_kv "
    "WHERE namespace = ?1 AND expires_at <= ?2 LIMIT ?3)"};

// ?1 namespace, ?2 now.
constexpr Statement kCheckpointHeader{
    "INSERT INTO strata_kv_checkpoints (namespace, created_at, entries, bytes) "
    "VALUES (?1, ?2, 0, 0)"};
// ?1 checkpoint, ?2 namespace, ?3 now.
constexpr Statement kCheckpointCopy{
    "INSERT INTO strata_kv_checkpoint_entries "
    "SELECT ?1, key, value, value_is_json, version, metadata, expires_at FROM strata_kv "
    "WHERE namespace = ?2 AND (expires_at IS NULL OR expires_at > ?3)"};
// ?1 checkpoint.
constexpr Statement kCheckpointTotals{
    "UPDATE strata_kv_checkpoints SET "
    "entries = (SELECT count(*) FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1), "
    "bytes = (SELECT coalesce(sum(length(key) + length(value)), 0) "
    "FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1) "
    "WHERE id = ?1 RETURNING entries, bytes"};
constexpr Statement kCheckpoints{
    "SELECT id, created_at, entries, bytes FROM strata_kv_checkpoints WHERE namespace = ?1 "
    "ORDER BY id"};
// ?1 checkpoint, ?2 namespace.
constexpr Statement kCheckpointExists{
    "SELECT 1 FROM strata_kv_checkpoints WHERE id = ?1 AND namespace = ?2"};
// ?1 namespace, ?2 checkpoint.
constexpr Statement kCheckpointRestore{
    "INSERT INTO strata_kv (namespace, key, value, value_is_json, version, metadata, expires_at) "
    "SELECT ?1, key, value, value_is_json, version, metadata, expires_at "
    "FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?2"};
// ?1 namespace: the text index of every JSON value.
constexpr Statement kReindexText{
    "INSERT INTO strata_kv_text (rowid, text) SELECT k.rowid, "
    "(SELECT group_concat(j.value, ' ') FROM json_tree(CAST(k.value AS TEXT)) AS j "
    "WHERE j.type = 'text') FROM strata_kv AS k WHERE k.namespace = ?1 AND k.value_is_json"};
// ?1 checkpoint.
constexpr Statement kDeleteCheckpointEntries{
    "DELETE FROM strata_kv_checkpoint_entries WHERE checkpoint_id = ?1"};
constexpr Statement kDeleteCheckpoint{"DELETE FROM strata_kv_checkpoints WHERE id = ?1"};

class SqliteKv final : public KvOps {
 public:
  explicit SqliteKv(SqliteContext& context) : context_(context) {}

  std::optional<KvEntry> get(std::string_view ns, std::string_view key) override {
    Query query = context_.query(kGet);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    auto entries = read_entries(query);
    if (entries.empty()) return std::nullopt;
    return std::move(entries.front());
  }

  KvOutcome put(std::string_view ns, const KvWrite& write) override {
    const std::int64_t now = now_micros();
    const Statement* statement = &kUpsert;
    if (write.condition == KvWrite::Condition::absent) statement = &kInsertIfAbsent;
    if (write.condition == KvWrite::Condition::version) statement = &kUpdateAtVersion;
    // A JSON value is written with its text index, so both statements go in one transaction.
    std::optional<AtomicScope> atomic;
    if (write.value_is_json) atomic.emplace(context_);
    Query query = context_.query(*statement);
    bind_write(query, ns, write, now);
    if (write.condition == KvWrite::Condition::version) query.bind(7, write.if_version);
    if (!query.step()) {
      query.reset();
      return KvOutcome{false, live_version(ns, write.key)};
    }
    const KvOutcome written{true, query.integer(query.column("version"))};
    const std::int64_t rowid = query.integer(query.column("row_id"));
    query.reset();
    if (write.value_is_json) {
      index_text(rowid, write.value);
      atomic->commit();
    }
    return written;
  }

  std::vector<std::int64_t> put_many(std::string_view ns,
                                     const std::vector<KvWrite>& writes) override {
    const std::int64_t now = now_micros();
    if (insert_fresh(ns, writes, now)) return std::vector<std::int64_t>(writes.size(), 1);
    AtomicScope atomic(context_);
    auto versions = upsert_each(ns, writes, now);
    atomic.commit();
    return versions;
  }

  KvOutcome erase(std::string_view ns, std::string_view key,
                  std::optional<std::int64_t> if_version) override {
    Query query = context_.query(if_version ? kEraseAtVersion : kErase);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    if (if_version) query.bind(4, *if_version);
    if (query.step()) return KvOutcome{query.integer(query.column("live")) != 0, 0};
    query.reset();
    return KvOutcome{false, if_version ? live_version(ns, key) : 0};
  }

  std::size_t erase_many(std::string_view ns, const std::vector<std::string>& keys) override {
    AtomicScope atomic(context_);
    const std::int64_t now = now_micros();
    std::size_t erased = 0;
    Query query = context_.query(kErase);
    const int live = query.column("live");
    for (const std::string& key : keys) {
      query.bind(1, ns).bind_blob(2, key).bind(3, now);
      if (query.step() && query.integer(live) != 0) ++erased;
      query.reset();
    }
    atomic.commit();
    return erased;
  }

  std::size_t count(std::string_view ns, const KeyRange& range) override {
    Query query = context_.query(kCount);
    bind_range(query, ns, range);
    query.step();
    return static_cast<std::size_t>(query.integer(query.column("count")));
  }

  std::vector<KvEntry> scan(std::string_view ns, const KeyRange& range,
                            std::size_t limit) override {
    Query query = context_.query(kScan);
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit));
    return read_entries(query);
  }

  std::vector<KvEntry> find(std::string_view ns, JsonField field, std::string_view pattern,
                            const KeyRange& range, std::size_t limit) override {
    Query query = context_.query(field == JsonField::value ? kFindValue : kFindMetadata);
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit)).bind(6, pattern);
    return read_entries(query);
  }

  std::vector<KvEntry> search(std::string_view ns, const std::vector<std::string>& words,
                              const KeyRange& range, std::size_t limit) override {
    Query query = context_.query(kSearch);
    bind_range(query, ns, range);
    query.bind(5, static_cast<std::int64_t>(limit)).bind(6, fts_match(words));
    return read_entries(query);
  }

  void clear(std::string_view ns) override { context_.query(kClear).bind(1, ns).run(); }

  std::size_t purge_expired(std::string_view ns, std::size_t limit) override {
    Query query = context_.query(kPurgeExpired);
    query.bind(1, ns).bind(2, now_micros()).bind(3, static_cast<std::int64_t>(limit)).run();
    return static_cast<std::size_t>(context_.db.changes());
  }

  KvCheckpoint create_checkpoint(std::string_view ns) override {
    AtomicScope atomic(context_);
    const std::int64_t now = now_micros();
    context_.query(kCheckpointHeader).bind(1, ns).bind(2, now).run();
    const std::int64_t id = context_.db.last_insert_rowid();
    context_.query(kCheckpointCopy).bind(1, id).bind(2, ns).bind(3, now).run();
    Query totals = context_.query(kCheckpointTotals);
    totals.bind(1, id);
    totals.step();
    const KvCheckpoint checkpoint{id, now, totals.integer(totals.column("entries")),
                                  totals.integer(totals.column("bytes"))};
    totals.reset();
    atomic.commit();
    return checkpoint;
  }

  std::vector<KvCheckpoint> checkpoints(std::string_view ns) override {
    Query query = context_.query(kCheckpoints);
    query.bind(1, ns);
    const int id = query.column("id");
    const int created_at = query.column("created_at");
    const int entries = query.column("entries");
    const int bytes = query.column("bytes");
    std::vector<KvCheckpoint> checkpoints;
    while (query.step()) {
      checkpoints.push_back(KvCheckpoint{query.integer(id), query.integer(created_at),
                                         query.integer(entries), query.integer(bytes)});
    }
    return checkpoints;
  }

  bool restore_checkpoint(std::string_view ns, std::int64_t id) override {
    AtomicScope atomic(context_);
    if (!checkpoint_exists(ns, id)) return false;
    context_.query(kClear).bind(1, ns).run();
    context_.query(kCheckpointRestore).bind(1, ns).bind(2, id).run();
    context_.query(kReindexText).bind(1, ns).run();
    atomic.commit();
    return true;
  }

  bool delete_checkpoint(std::string_view ns, std::int64_t id) override {
    AtomicScope atomic(context_);
    if (!checkpoint_exists(ns, id)) return false;
    context_.query(kDeleteCheckpointEntries).bind(1, id).run();
    context_.query(kDeleteCheckpoint).bind(1, id).run();
    atomic.commit();
    return true;
  }

 private:
  // The fast path of a batch: plain INSERTs, as when every key is new. False, with nothing left
  // written, when a key already exists (live or expired): then upsert_each does the batch.
  bool insert_fresh(std::string_view ns, const std::vector<KvWrite>& writes, std::int64_t now) {
    AtomicScope fresh(context_);
    Query insert = context_.query(kInsertNew);
    for (const KvWrite& write : writes) {
      bind_write(insert, ns, write, now);
      try {
        insert.run();
      } catch (const SqliteError& error) {
        if (!is_unique_violation(error)) throw;
        return false;  // `fresh` rolls back.
      }
      insert.reset();
      if (write.value_is_json) index_text(context_.db.last_insert_rowid(), write.value);
    }
    fresh.commit();
    return true;
  }

  std::vector<std::int64_t> upsert_each(std::string_view ns, const std::vector<KvWrite>& writes,
                                        std::int64_t now) {
    std::vector<std::int64_t> versions;
    versions.reserve(writes.size());
    Query query = context_.query(kUpsert);
    const int version = query.column("version");
    const int rowid = query.column("row_id");
    for (const KvWrite& write : writes) {
      bind_write(query, ns, write, now);
      query.step();
      versions.push_back(query.integer(version));
      const std::int64_t row = query.integer(rowid);
      query.reset();
      if (write.value_is_json) index_text(row, write.value);
    }
    return versions;
  }

  void index_text(std::int64_t rowid, std::string_view json) {
    context_.query(kIndexText).bind(1, rowid).bind(2, json).run();
  }

  bool checkpoint_exists(std::string_view ns, std::int64_t id) {
    Query query = context_.query(kCheckpointExists);
    query.bind(1, id).bind(2, ns);
    return query.step();
  }

  std::int64_t live_version(std::string_view ns, std::string_view key) {
    Query query = context_.query(kLiveVersion);
    query.bind(1, ns).bind_blob(2, key).bind(3, now_micros());
    return query.step() ? query.integer(query.column("version")) : 0;
  }

  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<KvOps> sqlite_kv(SqliteContext& context) {
  return std::make_unique<SqliteKv>(context);
}

}  // namespace strata::detail
