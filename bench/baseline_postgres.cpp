// The PostgreSQL baseline: COPY, prepared INSERTs and keyset reads on copies of Strata's tables
// in a scratch schema.
#include <unistd.h>

#include "baseline_backends.h"
#include "core/ids.h"
#include "postgres/pg_context.h"
#include "postgres/pq/pq.h"
#include "strata/event.h"

namespace strata::bench {
namespace {

// By BareQuery::Kind, on the store's events table ({schema} is its schema, as with_schema fills
// it): parameters as bare_params gives.
constexpr const char* kPostgresBareQueries[] = {
    "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
    "t.metadata, t.created_at FROM {schema}.events t WHERE t.type = $1 "
    "AND (t.tx_id, t.position) > ($2::xid8, $3::bigint) ORDER BY t.tx_id, t.position LIMIT $4",
    "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
    "t.metadata, t.created_at FROM {schema}.events t WHERE split_part(t.stream, '-', 1) = $1 "
    "AND (t.tx_id, t.position) > ($2::xid8, $3::bigint) ORDER BY t.tx_id, t.position LIMIT $4",
    "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
    "t.metadata, t.created_at FROM {schema}.events t WHERE t.stream = $1 ORDER BY t.version LIMIT "
    "$2",
    "SELECT count(*) FROM {schema}.events WHERE stream = $1",
    "WITH RECURSIVE names (name) AS ("
    "SELECT (SELECT min(stream) FROM {schema}.events WHERE stream > $2) UNION ALL "
    "SELECT (SELECT min(stream) FROM {schema}.events WHERE stream > n.name) FROM names n "
    "WHERE starts_with(n.name, $1)) "
    "SELECT name FROM names WHERE starts_with(name, $1) LIMIT $3",
    "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
    "t.metadata, t.created_at FROM {schema}.events t "
    "WHERE to_tsvector('simple', {schema}.queryable_json(CASE WHEN octet_length(t.data::text) "
    "<= 524288 THEN t.data END)) @@ plainto_tsquery('simple', $1) "
    "AND (t.tx_id, t.position) > ($2::xid8, $3::bigint) ORDER BY t.tx_id, t.position LIMIT $4",
    "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
    "t.metadata, t.created_at FROM {schema}.events t "
    "WHERE {schema}.queryable_json(t.metadata) @> $1::jsonb "
    "AND (t.tx_id, t.position) > ($2::xid8, $3::bigint) ORDER BY t.tx_id, t.position LIMIT $4",
};

// The parameters of kPostgresBareQueries[query.kind].
pq::Params bare_params(const BareQuery& query) {
  pq::Params params;
  params.add(query.key);
  const auto limit = static_cast<std::int64_t>(query.limit);
  switch (query.kind) {
    case BareQuery::Kind::type_page:
    case BareQuery::Kind::category_page:
    case BareQuery::Kind::words_page:
    case BareQuery::Kind::metadata_page:
      params.add(std::to_string(query.after_commit))
          .add(static_cast<std::int64_t>(query.after_sequence))
          .add(limit);
      break;
    case BareQuery::Kind::stream:
      params.add(limit);
      break;
    case BareQuery::Kind::stream_count:
      break;
    case BareQuery::Kind::stream_names:
      params.add(query.after_name).add(limit);
      break;
  }
  return params;
}

class PostgresConnection final : public BaselineConnection {
 public:
  PostgresConnection(const std::string& url, const std::string& table, const std::string& kv_table,
                     const std::string& queue_table, const std::string& schema)
      : connection_({"dbname", nullptr}, {url.c_str(), nullptr}),
        schema_(schema),
        queue_table_(queue_table),
        kv_table_(kv_table),
        kv_get_("SELECT value FROM " + kv_table + " WHERE namespace = 'bench' AND key = $1::bytea"),
        kv_update_("UPDATE " + kv_table +
                   " SET value = $3::bytea, version = version + 1 "
                   "WHERE namespace = 'bench' AND key = $1::bytea AND version = $2::bigint "
                   "RETURNING true"),
        copy_("COPY " + table +
              " (stream, version, id, type, data, metadata, created_at) FROM STDIN"),
        insert_("INSERT INTO " + table +
                " (stream, version, id, type, data, metadata, created_at) "
                "VALUES ($1, $2, $3, $4, $5, NULL, $6)"),
        // Keyset paging on the table's order index, as read_all pages (without its checks).
        read_(
            "SELECT t.tx_id::text, t.position, t.stream, t.version, t.id::text, t.type, t.data, "
            "t.metadata, t.created_at FROM " +
            table +
            " t WHERE (t.tx_id, t.position) > ($1::xid8, $2::bigint) "
            "ORDER BY t.tx_id, t.position LIMIT $3") {}

  void write_batch(const std::string& stream, std::int64_t first_version, std::size_t count,
                   const std::string& data) override {
    std::string text;
    text.reserve(count * (data.size() + 128));
    const std::string created_at = format_timestamp(detail::now_micros());
    for (std::size_t i = 0; i < count; ++i) {
      pq::append_copy_field(text, stream);
      text += '\t' + std::to_string(first_version + static_cast<std::int64_t>(i)) + '\t' +
              detail::new_uuid_v7() + '\t' + kType + '\t';
      pq::append_copy_field(text, data);
      text += "\t\\N\t" + created_at + '\n';
    }
    connection_.exec("BEGIN");
    connection_.copy_in(copy_, text);
    connection_.exec("COMMIT");
  }

  void write_single(const std::string& stream, std::int64_t version,
                    const std::string& data) override {
    pq::Params params;
    params.add(stream)
        .add(version)
        .add(detail::new_uuid_v7())
        .add(kType)
        .add(data)
        .add(format_timestamp(detail::now_micros()));
    connection_.query(insert_, params);
  }

  void analyze() override { connection_.exec("ANALYZE " + schema_ + ".events"); }

  std::size_t bare_query(const BareQuery& query) override {
    const std::string sql =
        detail::with_schema(kPostgresBareQueries[static_cast<int>(query.kind)], schema_);
    return static_cast<std::size_t>(connection_.query(sql, bare_params(query)).rows());
  }

  std::size_t read_page(std::int64_t& after, std::size_t limit) override {
    if (after == 0) after_commit_ = "0";
    const pq::Result rows = connection_.query(
        read_, pq::Params().add(after_commit_).add(after).add(static_cast<std::int64_t>(limit)));
    std::size_t count = 0;
    for (int row = 0; row < rows.rows(); ++row) {
      // Materialise the row as a reader would.
      const std::string payload =
          rows.string(row, 2) + rows.string(row, 4) + rows.string(row, 5) + rows.string(row, 6);
      count += payload.empty() ? 0 : 1;
    }
    if (rows.rows() > 0) {
      after_commit_ = rows.string(rows.rows() - 1, 0);
      after = rows.integer(rows.rows() - 1, 1);
    }
    return count;
  }

 private:
  bool kv_get(const std::string& key) override {
    return connection_.query(kv_get_, pq::Params().add(pq::bytea_literal(key))).rows() == 1;
  }

  void kv_write_batch(const std::vector<std::string>& keys, const std::string& value) override {
    std::string text;
    const std::string value_field = "\\" + pq::bytea_literal(value);
    for (const std::string& key : keys) {
      text += "bench\t\\" + pq::bytea_literal(key) + "\t" + value_field + "\t\\N\t1\t\\N\t\\N\n";
    }
    connection_.exec("BEGIN");
    connection_.copy_in("COPY " + kv_table_ +
                            " (namespace, key, value, value_json, version, metadata, expires_at) "
                            "FROM STDIN",
                        text);
    connection_.exec("COMMIT");
  }

  bool kv_update_at_version(const std::string& key, std::int64_t version,
                            const std::string& value) override {
    pq::Params params;
    params.add(pq::bytea_literal(key)).add(version).add(pq::bytea_literal(value));
    return connection_.query(kv_update_, params).rows() == 1;
  }

  void queue_produce(std::size_t count, const std::string& payload) override {
    std::string rows;
    const std::string now = format_timestamp(detail::now_micros());
    const std::string line =
        "bench\t\\" + pq::bytea_literal(payload) + "\t0\t" + now + "\t" + now + "\n";
    for (std::size_t i = 0; i < count; ++i) rows += line;
    connection_.exec("BEGIN");
    connection_.copy_in(
        "COPY " + queue_table_ + " (queue, payload, priority, run_at, created_at) FROM STDIN",
        rows);
    connection_.exec("COMMIT");
  }

  std::size_t queue_claim_and_delete(std::size_t count) override {
    const pq::Result claimed = connection_.query(
        "UPDATE " + queue_table_ +
            " SET lease_token = gen_random_uuid()::text, leased_until = now() + interval '30 "
            "seconds' "
            "WHERE id IN (SELECT id FROM " +
            queue_table_ +
            " WHERE queue = 'bench' AND lease_token IS NULL "
            "ORDER BY priority DESC, id LIMIT $1::bigint FOR UPDATE SKIP LOCKED) RETURNING id",
        pq::Params().add(static_cast<std::int64_t>(count)));
    std::string ids = "{";
    for (int row = 0; row < claimed.rows(); ++row) {
      if (row > 0) ids += ',';
      ids += claimed.string(row, 0);
    }
    connection_.query("DELETE FROM " + queue_table_ + " WHERE id = ANY($1::bigint[])",
                      pq::Params().add(ids + "}"));
    return static_cast<std::size_t>(claimed.rows());
  }

  void hold_writing_transaction() override {
    connection_.exec("BEGIN; SELECT pg_current_xact_id()");
  }

  pq::Connection connection_;
  const std::string schema_;  // The store's.
  const std::string queue_table_;
  const std::string kv_table_, kv_get_, kv_update_;
  const std::string copy_, insert_, read_;
  std::string after_commit_ = "0";
};

// The advisory lock class that marks a scratch schema in use: (kScratchLock, the bench's pid).
constexpr std::int32_t kScratchLock = 0x53545242;  // "STRB"

class PostgresBaseline final : public Baseline {
 public:
  PostgresBaseline(const std::string& url, const detail::PostgresSettings& settings)
      : libpq_url_(settings.libpq_url),
        schema_(pq::quote_identifier(scratch_schema())),
        store_url_(url + (url.find('?') == std::string::npos ? "?" : "&") +
                   "schema=" + scratch_schema()),
        guard_(admin()) {
    guard_.query("SELECT pg_advisory_lock($1::integer, $2::integer)",
                 pq::Params().add(std::to_string(kScratchLock)).add(std::to_string(getpid())));
    drop_abandoned_schemas();
  }
  ~PostgresBaseline() override {
    try {
      guard_.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (const std::exception&) {
      // Left behind: the next bench drops it, as its lock is gone with this session.
    }
  }
  const std::string& store_url() const override { return store_url_; }
  void create_table() override {
    guard_.exec("CREATE TABLE " + schema_ + ".baseline_events (LIKE " + schema_ +
                ".events INCLUDING ALL); CREATE TABLE " + schema_ + ".baseline_kv (LIKE " +
                schema_ + ".kv INCLUDING ALL); CREATE TABLE " + schema_ +
                ".baseline_queue_items (LIKE " + schema_ + ".queue_items INCLUDING ALL)");
  }
  std::unique_ptr<BaselineConnection> connect() override {
    return std::make_unique<PostgresConnection>(libpq_url_, schema_ + ".baseline_events",
                                                schema_ + ".baseline_kv",
                                                schema_ + ".baseline_queue_items", schema_);
  }

 private:
  static std::string scratch_schema() { return "strata_bench_" + std::to_string(getpid()); }
  // Drops the scratch schemas of benches that were killed: those whose lock nobody holds.
  void drop_abandoned_schemas() {
    const pq::Result found = guard_.exec(
        "SELECT nspname, substr(nspname, 14) AS pid FROM pg_namespace "
        "WHERE nspname ~ '^strata_bench_[0-9]{1,9}$'");
    for (int row = 0; row < found.rows(); ++row) {
      const std::string pid(found.text(row, found.column("pid")));
      const pq::Params lock = pq::Params().add(std::to_string(kScratchLock)).add(pid);
      const pq::Result taken =
          guard_.query("SELECT pg_try_advisory_lock($1::integer, $2::integer) AS taken", lock);
      // Session locks nest, so this bench's own pid is taken too: a schema left under it by a
      // killed bench of the same pid goes as well.
      if (taken.text(0, 0) != "t") continue;  // A bench that is running.
      guard_.exec("DROP SCHEMA IF EXISTS " +
                  pq::quote_identifier(std::string(found.text(row, found.column("nspname")))) +
                  " CASCADE");
      guard_.query("SELECT pg_advisory_unlock($1::integer, $2::integer)", lock);
    }
  }
  pq::Connection admin() {
    return pq::Connection({"dbname", nullptr}, {libpq_url_.c_str(), nullptr});
  }
  const std::string libpq_url_;
  const std::string schema_;
  const std::string store_url_;
  pq::Connection guard_;  // Holds this bench's scratch lock for as long as it runs.
};

}  // namespace

std::unique_ptr<Baseline> postgres_baseline(const std::string& url,
                                            const detail::PostgresSettings& settings) {
  return std::make_unique<PostgresBaseline>(url, settings);
}

}  // namespace strata::bench
