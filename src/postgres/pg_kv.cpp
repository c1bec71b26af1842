// Key-value state on PostgreSQL: keys and values as bytea, JSON values also as jsonb for queries,
// expiry on the server's clock, checkpoints as copies of a namespace.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::PqError;
using pq::Result;

// The one definition of an unexpired key, on the server's clock.
constexpr std::string_view kLive = "(expires_at IS NULL OR expires_at > statement_timestamp())";

constexpr std::string_view kSelectEntries =
    "SELECT encode(key, 'hex') AS key_hex, encode(value, 'hex') AS value_hex, version, metadata, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint AS expires_micros FROM {schema}.kv ";

// Rows of kSelectEntries.
std::vector<KvEntry> read_entries(const Result& rows) {
  const int key = rows.column("key_hex");
  const int value = rows.column("value_hex");
  const int version = rows.column("version");
  const int metadata = rows.column("metadata");
  const int expires_at = rows.column("expires_micros");
  std::vector<KvEntry> entries(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    KvEntry& entry = entries[static_cast<std::size_t>(row)];
    entry.key = pq::from_hex(rows.text(row, key));
    entry.value = pq::from_hex(rows.text(row, value));
    entry.version = rows.integer(row, version);
    entry.metadata = rows.optional_string(row, metadata);
    if (!rows.is_null(row, expires_at)) entry.expires_at = rows.integer(row, expires_at);
  }
  return entries;
}

// $1 namespace, $2 key.
constexpr Statement kGet{kSelectEntries, "WHERE namespace = $1::text AND key = $2::bytea AND ",
                         kLive};
constexpr Statement kLiveVersion{
    "SELECT version FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea AND ", kLive};

Params key_params(std::string_view ns, std::string_view key) {
  return Params().add(ns).add(pq::bytea_literal(key));
}

// $1 namespace, $2 key, $3 value, $4 metadata, $5 TTL in microseconds (NULL: none), $6 whether
// the value is JSON. Each write statement returns the key's new version; none when refused.
Params write_params(std::string_view ns, const KvWrite& write) {
  Params params = key_params(ns, write.key);
  params.add(pq::bytea_literal(write.value));
  params.add_nullable(write.metadata);
  params.add_nullable(write.ttl_micros);
  params.add(write.value_is_json ? "t" : "f");
  return params;
}

constexpr std::string_view kInsertOne =
    "INSERT INTO {schema}.kv AS t "
    "(namespace, key, value, value_json, version, metadata, expires_at) "
    "VALUES ($1::text, $2::bytea, $3::bytea, "
    "CASE WHEN $6::boolean THEN convert_from($3::bytea, 'UTF8')::jsonb END, 1, $4::json, "
    "statement_timestamp() + $5::bigint * interval '1 microsecond') "
    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
    "value_json = excluded.value_json, metadata = excluded.metadata, "
    "expires_at = excluded.expires_at, ";
// An expired key is absent: writing it starts again at version 1.
constexpr Statement kUpsert{kInsertOne,
                            "version = CASE WHEN t.expires_at <= statement_timestamp() THEN 1 "
                            "ELSE t.version + 1 END RETURNING version"};
constexpr Statement kInsertIfAbsent{kInsertOne,
                                    "version = 1 WHERE t.expires_at <= statement_timestamp() "
                                    "RETURNING version"};
// write_params, then $7 the version the key must be at.
constexpr Statement kUpdateAtVersion{
    "UPDATE {schema}.kv AS t SET value = $3::bytea, "
    "value_json = CASE WHEN $6::boolean THEN convert_from($3::bytea, 'UTF8')::jsonb END, "
    "metadata = $4::json, "
    "expires_at = statement_timestamp() + $5::bigint * interval '1 microsecond', "
    "version = t.version + 1 WHERE namespace = $1::text AND key = $2::bytea AND "
    "version = $7::bigint AND ",
    kLive, " RETURNING version"};

// $1 namespace, $2… arrays of keys, values, metadata, TTLs and whether each value is JSON.
// Returns each key (hex) with its version. Rows are taken in key order, as every writer of
// several keys takes them (so that no two deadlock).
constexpr Statement kUpsertMany{
    "INSERT INTO {schema}.kv AS t "
    "(namespace, key, value, value_json, version, metadata, expires_at) "
    "SELECT $1::text, w.key, w.value, "
    "CASE WHEN w.is_json THEN convert_from(w.value, 'UTF8')::jsonb END, 1, w.metadata, "
    "statement_timestamp() + w.ttl * interval '1 microsecond' "
    "FROM unnest($2::bytea[], $3::bytea[], $4::json[], $5::bigint[], $6::boolean[]) "
    "AS w (key, value, metadata, ttl, is_json) ORDER BY w.key "
    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
    "value_json = excluded.value_json, metadata = excluded.metadata, "
    "expires_at = excluded.expires_at, "
    "version = CASE WHEN t.expires_at <= statement_timestamp() THEN 1 "
    "ELSE t.version + 1 END RETURNING encode(key, 'hex') AS key_hex, version"};

constexpr Statement kCopy{
    "COPY {schema}.kv (namespace, key, value, value_json, version, metadata, expires_at) "
    "FROM STDIN"};

// $1 namespace, $2 key. Returns whether the row deleted was live.
constexpr Statement kErase{
    "DELETE FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea RETURNING ", kLive,
    " AS live"};
// $3 the version the key must be at.
constexpr Statement kEraseAtVersion{
    "DELETE FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea AND "
    "version = $3::bigint AND ",
    kLive, " RETURNING true AS live"};
// $2 the keys, as a bytea array.
constexpr Statement kEraseMany{
    "DELETE FROM {schema}.kv WHERE namespace = $1::text AND key = ANY($2::bytea[]) RETURNING ",
    kLive, " AS live"};

// $1 namespace, $2 from (inclusive), $3 to (exclusive; NULL: unbounded), live keys only.
constexpr std::string_view kInRange =
    "WHERE namespace = $1::text AND key >= $2::bytea AND ($3::bytea IS NULL OR key < $3::bytea) "
    "AND ";

Params range_params(std::string_view ns, const KeyRange& range) {
  Params params;
  params.add(ns).add(pq::bytea_literal(range.from));
  if (range.to) {
    params.add(pq::bytea_literal(*range.to));
  } else {
    params.add_null();
  }
  return params;
}

constexpr Statement kCount{"SELECT count(*) AS count FROM {schema}.kv ", kInRange, kLive};
// range_params, then $4 limit.
constexpr std::string_view kPage = " ORDER BY key LIMIT $4::bigint";
constexpr Statement kScan{kSelectEntries, kInRange, kLive, kPage};
// $5 the JSON pattern or the words. The conditions match the GIN indexes' expressions.
constexpr Statement kFindValue{kSelectEntries, kInRange, kLive, " AND value_json @> $5::jsonb",
                               kPage};
constexpr Statement kFindMetadata{kSelectEntries, kInRange, kLive,
                                  " AND metadata::jsonb @> $5::jsonb", kPage};
constexpr Statement kSearch{kSelectEntries, kInRange, kLive,
                            " AND to_tsvector('simple', value_json) @@ "
                            "plainto_tsquery('simple', $5::text)",
                            kPage};

constexpr Statement kClear{"DELETE FROM {schema}.kv WHERE namespace = $1::text"};
// $2 how many. Bounded and never waiting: rows another transaction holds are left for the next
// batch.
constexpr Statement kPurgeExpired{
    "DELETE FROM {schema}.kv WHERE (namespace, key) IN (SELECT namespace, key FROM "
    "{schema}.kv WHERE namespace = $1::text AND expires_at <= statement_timestamp() "
    "LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING true"};

// $1 namespace. Returns the new checkpoint's id and creation time.
constexpr Statement kCheckpointHeader{
    "INSERT INTO {schema}.kv_checkpoints (namespace, created_at, entries, bytes) "
    "VALUES ($1::text, statement_timestamp(), 0, 0) "
    "RETURNING id, (extract(epoch FROM created_at) * 1000000)::bigint AS created_micros"};
// $1 checkpoint, $2 namespace. One statement, so one snapshot: a consistent copy even while
// others write.
constexpr Statement kCheckpointCopy{
    "INSERT INTO {schema}.kv_checkpoint_entries "
    "SELECT $1::bigint, key, value, value_json, version, metadata, expires_at FROM {schema}.kv "
    "WHERE namespace = $2::text AND ",
    kLive};
// $1 checkpoint. Returns its entries and bytes.
constexpr Statement kCheckpointTotals{
    "UPDATE {schema}.kv_checkpoints SET "
    "entries = (SELECT count(*) FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $1), "
    "bytes = (SELECT coalesce(sum(octet_length(key) + octet_length(value)), 0) "
    "FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $1) "
    "WHERE id = $1::bigint RETURNING entries, bytes"};
constexpr Statement kCheckpoints{
    "SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint AS created_micros, entries, "
    "bytes FROM {schema}.kv_checkpoints WHERE namespace = $1::text ORDER BY id"};
// $1 checkpoint, $2 namespace.
constexpr Statement kCheckpointExists{
    "SELECT 1 FROM {schema}.kv_checkpoints WHERE id = $1::bigint AND namespace = $2::text"};
// Writers of several keys take their rows in key order, so two of them cannot deadlock.
constexpr Statement kLockNamespace{
    "SELECT 1 FROM {schema}.kv WHERE namespace = $1::text ORDER BY key FOR UPDATE"};
// $1 namespace, $2 checkpoint.
constexpr Statement kCheckpointRestore{
    "INSERT INTO {schema}.kv (namespace, key, value, value_json, version, metadata, "
    "expires_at) SELECT $1::text, key, value, value_json, version, metadata, expires_at "
    "FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $2::bigint ORDER BY key"};
// $1 checkpoint, $2 namespace.
constexpr Statement kCheckpointDelete{
    "DELETE FROM {schema}.kv_checkpoints WHERE id = $1::bigint AND namespace = $2::text "
    "RETURNING true"};

class PgKv final : public KvOps {
 public:
  explicit PgKv(PgContext& context) : context_(context) {}

  std::optional<KvEntry> get(std::string_view ns, std::string_view key) override {
    auto entries = read_entries(context_.query(kGet, key_params(ns, key)));
    if (entries.empty()) return std::nullopt;
    return std::move(entries.front());
  }

  KvOutcome put(std::string_view ns, const KvWrite& write) override {
    Params params = write_params(ns, write);
    const Statement* statement = &kUpsert;
    if (write.condition == KvWrite::Condition::absent) statement = &kInsertIfAbsent;
    if (write.condition == KvWrite::Condition::version) {
      statement = &kUpdateAtVersion;
      params.add(write.if_version);
    }
    const Result written = context_.query(*statement, params);
    if (written.rows() == 1) return KvOutcome{true, written.integer(0, written.column("version"))};
    return KvOutcome{false, live_version(ns, write.key)};
  }

  std::vector<std::int64_t> put_many(std::string_view ns,
                                     const std::vector<KvWrite>& writes) override {
    if (writes.size() > kMaxRowsPerStatement && copy_fresh(ns, writes)) {
      return std::vector<std::int64_t>(writes.size(), 1);
    }
    return upsert_many(ns, writes);
  }

  KvOutcome erase(std::string_view ns, std::string_view key,
                  std::optional<std::int64_t> if_version) override {
    Params params = key_params(ns, key);
    if (if_version) params.add(*if_version);
    const Result erased = context_.query(if_version ? kEraseAtVersion : kErase, params);
    if (erased.rows() == 1) return KvOutcome{erased.text(0, erased.column("live")) == "t", 0};
    return KvOutcome{false, if_version ? live_version(ns, key) : 0};
  }

  std::size_t erase_many(std::string_view ns, const std::vector<std::string>& keys) override {
    const std::string array = pq::array_literal(keys, [](std::string& out, const std::string& key) {
      pq::append_array_element(out, pq::bytea_literal(key));
    });
    const Result erased = context_.query(kEraseMany, Params().add(ns).add(array));
    const int live = erased.column("live");
    std::size_t erased_live = 0;
    for (int row = 0; row < erased.rows(); ++row) erased_live += erased.text(row, live) == "t";
    return erased_live;
  }

  std::size_t count(std::string_view ns, const KeyRange& range) override {
    const Result counted = context_.query(kCount, range_params(ns, range));
    return static_cast<std::size_t>(counted.integer(0, counted.column("count")));
  }

  std::vector<KvEntry> scan(std::string_view ns, const KeyRange& range,
                            std::size_t limit) override {
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit));
    return read_entries(context_.query(kScan, params));
  }

  std::vector<KvEntry> find(std::string_view ns, JsonField field, std::string_view pattern,
                            const KeyRange& range, std::size_t limit) override {
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit)).add(pattern);
    return read_entries(
        context_.query(field == JsonField::value ? kFindValue : kFindMetadata, params));
  }

  std::vector<KvEntry> search(std::string_view ns, const std::vector<std::string>& words,
                              const KeyRange& range, std::size_t limit) override {
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit)).add(tsquery_text(words));
    return read_entries(context_.query(kSearch, params));
  }

  void clear(std::string_view ns) override { context_.query(kClear, Params().add(ns)); }

  std::size_t purge_expired(std::string_view ns, std::size_t limit) override {
    const Result purged =
        context_.query(kPurgeExpired, Params().add(ns).add(static_cast<std::int64_t>(limit)));
    return static_cast<std::size_t>(purged.rows());
  }

  KvCheckpoint create_checkpoint(std::string_view ns) override {
    return context_.atomically([&] {
      const Result header = context_.query(kCheckpointHeader, Params().add(ns));
      const std::int64_t id = header.integer(0, header.column("id"));
      context_.query(kCheckpointCopy, Params().add(id).add(ns));
      const Result totals = context_.query(kCheckpointTotals, Params().add(id));
      return KvCheckpoint{id, header.integer(0, header.column("created_micros")),
                          totals.integer(0, totals.column("entries")),
                          totals.integer(0, totals.column("bytes"))};
    });
  }

  std::vector<KvCheckpoint> checkpoints(std::string_view ns) override {
    const Result rows = context_.query(kCheckpoints, Params().add(ns));
    const int id = rows.column("id");
    const int created_at = rows.column("created_micros");
    const int entries = rows.column("entries");
    const int bytes = rows.column("bytes");
    std::vector<KvCheckpoint> checkpoints;
    for (int row = 0; row < rows.rows(); ++row) {
      checkpoints.push_back(KvCheckpoint{rows.integer(row, id), rows.integer(row, created_at),
                                         rows.integer(row, entries), rows.integer(row, bytes)});
    }
    return checkpoints;
  }

  bool restore_checkpoint(std::string_view ns, std::int64_t id) override {
    return context_.atomically([&] {
      if (context_.query(kCheckpointExists, Params().add(id).add(ns)).rows() == 0) return false;
      context_.query(kLockNamespace, Params().add(ns));
      context_.query(kClear, Params().add(ns));
      context_.query(kCheckpointRestore, Params().add(ns).add(id));
      return true;
    });
  }

  bool delete_checkpoint(std::string_view ns, std::int64_t id) override {
    return context_.query(kCheckpointDelete, Params().add(id).add(ns)).rows() > 0;
  }

 private:
  // The fast path of a large batch without TTLs: COPY, as when every key is new. False, with
  // nothing left written, when a key already exists (live or expired).
  bool copy_fresh(std::string_view ns, const std::vector<KvWrite>& writes) {
    // In key order, as every multi-key writer takes its rows (see kLockNamespace).
    std::vector<const KvWrite*> ordered;
    for (const KvWrite& write : writes) ordered.push_back(&write);
    std::sort(ordered.begin(), ordered.end(),
              [](const KvWrite* a, const KvWrite* b) { return a->key < b->key; });
    std::string rows;
    for (const KvWrite* each : ordered) {
      const KvWrite& write = *each;
      if (write.ttl_micros) return false;  // Expiry is computed on the server's clock.
      pq::append_copy_field(rows, ns);
      rows +=
          "\t\\" + pq::bytea_literal(write.key) + "\t\\" + pq::bytea_literal(write.value) + '\t';
      pq::append_copy_nullable(
          rows, write.value_is_json ? std::optional<std::string_view>(write.value) : std::nullopt);
      rows += "\t1\t";
      pq::append_copy_nullable(rows, write.metadata);
      rows += "\t\\N\n";
    }
    try {
      context_.atomically([&] {
        context_.connection.copy_in(context_.sql(kCopy), rows);
        return true;
      });
      return true;
    } catch (const PqError& error) {
      if (error.sqlstate() != kUniqueViolation) throw;
      return false;
    }
  }

  std::vector<std::int64_t> upsert_many(std::string_view ns, const std::vector<KvWrite>& writes) {
    std::array<std::string, 5> arrays = {"{", "{", "{", "{", "{"};
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (i > 0) {
        for (auto& array : arrays) array += ',';
      }
      const KvWrite& write = writes[i];
      pq::append_array_element(arrays[0], pq::bytea_literal(write.key));
      pq::append_array_element(arrays[1], pq::bytea_literal(write.value));
      pq::append_array_element(arrays[2], write.metadata);
      const std::string ttl = write.ttl_micros ? std::to_string(*write.ttl_micros) : "";
      pq::append_array_element(
          arrays[3], write.ttl_micros ? std::optional<std::string_view>(ttl) : std::nullopt);
      arrays[4] += write.value_is_json ? 't' : 'f';
    }
    Params params;
    params.add(ns);
    for (auto& array : arrays) params.add(array += '}');
    const Result written = context_.query(kUpsertMany, params);
    const int key = written.column("key_hex");
    const int version = written.column("version");
    std::unordered_map<std::string, std::int64_t> version_of;
    for (int row = 0; row < written.rows(); ++row) {
      version_of.emplace(pq::from_hex(written.text(row, key)), written.integer(row, version));
    }
    std::vector<std::int64_t> versions;
    versions.reserve(writes.size());
    for (const KvWrite& write : writes) versions.push_back(version_of.at(std::string(write.key)));
    return versions;
  }

  std::int64_t live_version(std::string_view ns, std::string_view key) {
    const Result rows = context_.query(kLiveVersion, key_params(ns, key));
    return rows.rows() == 0 ? 0 : rows.integer(0, rows.column("version"));
  }

  PgContext& context_;
};

}  // namespace

std::unique_ptr<KvOps> pg_kv(PgContext& context) {
  return std::make_unique<PgKv>(context);
}

}  // namespace strata::detail
