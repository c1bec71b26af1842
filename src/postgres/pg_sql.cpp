#include "postgres/pg_sql.h"

namespace strata::detail {
namespace {

// The stream as `last`: its version (NULL when never written; kept through deletes, which
// leave it in streams.truncate_before), its last event's transaction id and whether it is
// tombstoned. The caller holds the stream's advisory lock, so the statement's snapshot shows
// every earlier append to the stream.
constexpr std::string_view kLastEvent = R"sql(
FROM (VALUES (1)) AS one (x)
LEFT JOIN {schema}.streams AS s ON s.name = $1::text
LEFT JOIN LATERAL (
  SELECT version, tx_id FROM {schema}.events WHERE stream = $1::text
  ORDER BY version DESC LIMIT 1
) AS latest ON true
CROSS JOIN LATERAL (
  SELECT nullif(greatest(latest.version, s.truncate_before - 1), 0) AS version, latest.tx_id,
         coalesce(s.deleted, false) AS deleted
) AS last)sql";

// Whether the expectation holds: $2 is 0 any, 1 no stream, 2 stream exists, 3 exact ($3).
constexpr std::string_view kVersionHolds = R"sql(
  CASE $2::int
    WHEN 0 THEN true
    WHEN 1 THEN last.version IS NULL
    WHEN 2 THEN last.version IS NOT NULL
    ELSE coalesce(last.version, 0) = $3::bigint
  END)sql";

// A transaction that already holds an xid may not append behind a later one: its events would
// sort before the stream's earlier versions in the all-events order.
constexpr std::string_view kOrderHolds =
    "coalesce(last.tx_id <= pg_current_xact_id_if_assigned(), true)";

// Inserts `values` (which may use `last`) if the expectation and the order hold.
std::string conditional_insert(std::string_view values, std::string_view from) {
  return "INSERT INTO {schema}.events (stream, version, id, type, data, metadata, created_at)\n"
         "SELECT " +
         std::string(values) + std::string(kLastEvent) + std::string(from) + "\nWHERE " +
         std::string(kVersionHolds) + " AND " + std::string(kOrderHolds) + " AND NOT last.deleted" +
         "\nRETURNING version, position, tx_id::text";
}

// Event `e` is retained: its stream's settings do not hide it. The first test runs once per
// statement (an InitPlan), so stores without settings pay nothing per row.
constexpr std::string_view kRetained =
    "(NOT EXISTS (SELECT 1 FROM {schema}.streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) OR "
    "NOT EXISTS (SELECT 1 FROM {schema}.streams s WHERE s.name = e.stream AND ("
    "(s.max_age_ms IS NOT NULL AND e.created_at <= statement_timestamp() - "
    "s.max_age_ms * interval '1 millisecond') OR (s.max_count IS NOT NULL AND e.version <= "
    "(SELECT max(m.version) FROM {schema}.events m WHERE m.stream = e.stream) - s.max_count))))";

// Output columns get names of their own: ORDER BY tx_id must sort the xid8 column, not its text.
constexpr std::string_view kEventColumns =
    "e.tx_id::text AS commit_text, e.position, e.stream, e.version, e.id::text AS id_text, "
    "e.type, e.data, e.metadata, (extract(epoch FROM e.created_at) * 1000000)::bigint AS micros";

std::string select_events(std::string_view where) {
  return "SELECT " + std::string(kEventColumns) + " FROM {schema}.events e " + std::string(where);
}

std::string read_all_sql(bool by_category, bool by_type, bool by_stream) {
  // Only transactions older than every running one are read: their events are final, so no
  // event can later appear behind a position already returned.
  std::string where =
      "WHERE (e.tx_id, e.position) > ($1::xid8, $2::bigint) "
      "AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot()) AND " +
      std::string(kRetained);
  int next = 4;
  if (by_category) {
    const std::string p = "$" + std::to_string(next++) + "::text";
    where += " AND (e.stream = " + p + " OR starts_with(e.stream, " + p + " || '-'))";
  }
  if (by_type) where += " AND e.type = $" + std::to_string(next++) + "::text";
  if (by_stream) where += " AND e.stream = $" + std::to_string(next) + "::text";
  return select_events(where + " ORDER BY e.tx_id, e.position LIMIT $3::bigint");
}

// Key-value SQL. "Live" is the one definition of an unexpired key, on the server's clock.
constexpr std::string_view kLive = "(expires_at IS NULL OR expires_at > statement_timestamp())";
constexpr std::string_view kKvColumns =
    "encode(key, 'hex'), encode(value, 'hex'), version, metadata, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint";
// $1 namespace, $2 key, $3 value, $4 metadata, $5 TTL in microseconds (NULL: none), $6 whether
// the value is JSON.
constexpr std::string_view kInsertOne =
    "INSERT INTO {schema}.kv AS t "
    "(namespace, key, value, value_json, version, metadata, expires_at) "
    "VALUES ($1::text, $2::bytea, $3::bytea, "
    "CASE WHEN $6::boolean THEN convert_from($3::bytea, 'UTF8')::jsonb END, 1, $4::json, "
    "statement_timestamp() + $5::bigint * interval '1 microsecond') "
    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
    "value_json = excluded.value_json, metadata = excluded.metadata, "
    "expires_at = excluded.expires_at, ";
// $2 from (inclusive), $3 to (exclusive; NULL: unbounded).
constexpr std::string_view kInRange =
    "namespace = $1::text AND key >= $2::bytea AND ($3::bytea IS NULL OR key < $3::bytea) AND ";

}  // namespace

std::string_view retained_event_sql() {
  return kRetained;
}

std::string_view stream_state_sql() {
  return kLastEvent;
}

std::string advisory_lock_key(std::uint64_t hash) {
  return std::to_string(static_cast<std::int64_t>(hash));
}

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string with_schema(std::string_view sql, const std::string& quoted_schema) {
  constexpr std::string_view kPlaceholder = "{schema}";
  std::string out;
  out.reserve(sql.size() + 64);
  std::size_t from = 0;
  for (auto at = sql.find(kPlaceholder); at != std::string_view::npos;
       at = sql.find(kPlaceholder, from)) {
    out.append(sql.substr(from, at - from)).append(quoted_schema);
    from = at + kPlaceholder.size();
  }
  return out.append(sql.substr(from));
}

PgSql::PgSql(std::string quoted_schema) : schema(std::move(quoted_schema)) {
  auto qualify = [&](std::string_view sql) { return with_schema(sql, schema); };
  // $1 stream, $2 expectation, $3 expected version, then the event(s). Each returns the rows
  // written: none when the expectation or the order did not hold.
  append_one = qualify(conditional_insert(
      "$1::text, coalesce(last.version, 0) + 1, $4::uuid, $5::text, $6::json, $7::json, "
      "$8::timestamptz",
      ""));
  append_many = qualify(conditional_insert(
      "$1::text, coalesce(last.version, 0) + e.ordinal, e.id, e.type, e.data, e.metadata, "
      "e.created_at",
      ",\n  unnest($4::uuid[], $5::text[], $6::json[], $7::json[], $8::timestamptz[])\n"
      "    WITH ORDINALITY AS e (id, type, data, metadata, created_at, ordinal)"));
  // Columns: current version, whether the expectation holds, whether the order does, whether
  // the stream takes events (is not tombstoned).
  check_stream = qualify("SELECT coalesce(last.version, 0), " + std::string(kVersionHolds) + ", " +
                         std::string(kOrderHolds) + ", NOT last.deleted" + std::string(kLastEvent));
  copy_events = qualify(
      "COPY {schema}.events (stream, version, id, type, data, metadata, created_at) FROM STDIN");
  last_position = qualify(
      "SELECT pg_current_xact_id()::text, max(position) FROM {schema}.events "
      "WHERE tx_id = pg_current_xact_id()");
  events_by_id = qualify(select_events("WHERE e.id = ANY($1::uuid[])"));
  const std::string retained(kRetained);
  read_stream_forward =
      qualify(select_events("WHERE e.stream = $1::text AND e.version >= $2::bigint AND " +
                            retained + " ORDER BY e.version LIMIT $3::bigint"));
  read_stream_backward =
      qualify(select_events("WHERE e.stream = $1::text AND e.version <= $2::bigint AND " +
                            retained + " ORDER BY e.version DESC LIMIT $3::bigint"));
  for (int variant = 0; variant < 8; ++variant) {
    read_all_variants[variant] =
        qualify(read_all_sql((variant & 2) != 0, (variant & 1) != 0, (variant & 4) != 0));
  }
  // Columns: version, whether it has events to read, whether it is tombstoned.
  stream_info = qualify(
      "SELECT coalesce(last.version, 0), EXISTS (SELECT 1 FROM {schema}.events e "
      "WHERE e.stream = $1::text AND " +
      retained + "), last.deleted" + std::string(kLastEvent));
  const std::string live(kLive);
  const std::string columns(kKvColumns);
  kv_get = qualify("SELECT " + columns +
                   " FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea AND " + live);
  // An expired key is absent: writing it starts again at version 1.
  kv_upsert = qualify(std::string(kInsertOne) +
                      "version = CASE WHEN t.expires_at <= statement_timestamp() THEN 1 "
                      "ELSE t.version + 1 END RETURNING version");
  kv_insert_if_absent = qualify(std::string(kInsertOne) +
                                "version = 1 WHERE t.expires_at <= statement_timestamp() "
                                "RETURNING version");
  kv_update_at_version = qualify(
      "UPDATE {schema}.kv AS t SET value = $3::bytea, "
      "value_json = CASE WHEN $6::boolean THEN convert_from($3::bytea, 'UTF8')::jsonb END, "
      "metadata = $4::json, "
      "expires_at = statement_timestamp() + $5::bigint * interval '1 microsecond', "
      "version = t.version + 1 WHERE namespace = $1::text AND key = $2::bytea AND "
      "version = $7::bigint AND " +
      live + " RETURNING version");
  kv_live_version = qualify(
      "SELECT version FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea AND " + live);
  // $2… arrays of keys, values, metadata and TTLs. Returns each key (hex) with its version.
  kv_upsert_many = qualify(
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
      "ELSE t.version + 1 END RETURNING encode(key, 'hex'), version");
  kv_copy = qualify(
      "COPY {schema}.kv (namespace, key, value, value_json, version, metadata, expires_at) "
      "FROM STDIN");
  kv_erase = qualify(
      "DELETE FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea "
      "RETURNING " +
      live);
  kv_erase_at_version = qualify(
      "DELETE FROM {schema}.kv WHERE namespace = $1::text AND key = $2::bytea AND "
      "version = $3::bigint AND " +
      live + " RETURNING true");
  kv_erase_many = qualify(
      "DELETE FROM {schema}.kv WHERE namespace = $1::text AND "
      "key = ANY($2::bytea[]) RETURNING " +
      live);
  kv_count = qualify("SELECT count(*) FROM {schema}.kv WHERE " + std::string(kInRange) + live);
  kv_scan = qualify("SELECT " + columns + " FROM {schema}.kv WHERE " + std::string(kInRange) +
                    live + " ORDER BY key LIMIT $4::bigint");
  // $5 the JSON pattern or the words. The conditions match the GIN indexes' expressions.
  const std::string page = " ORDER BY key LIMIT $4::bigint";
  kv_find_value = qualify("SELECT " + columns + " FROM {schema}.kv WHERE " + std::string(kInRange) +
                          live + " AND value_json @> $5::jsonb" + page);
  kv_find_metadata =
      qualify("SELECT " + columns + " FROM {schema}.kv WHERE " + std::string(kInRange) + live +
              " AND metadata::jsonb @> $5::jsonb" + page);
  kv_search =
      qualify("SELECT " + columns + " FROM {schema}.kv WHERE " + std::string(kInRange) + live +
              " AND to_tsvector('simple', value_json) @@ "
              "plainto_tsquery('simple', $5::text)" +
              page);
  kv_clear = qualify("DELETE FROM {schema}.kv WHERE namespace = $1::text");
  // Bounded and never waiting: rows another transaction holds are left for the next batch.
  kv_purge_expired = qualify(
      "DELETE FROM {schema}.kv WHERE (namespace, key) IN (SELECT namespace, key FROM "
      "{schema}.kv WHERE namespace = $1::text AND expires_at <= statement_timestamp() "
      "LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING true");
  kv_checkpoint_header = qualify(
      "INSERT INTO {schema}.kv_checkpoints (namespace, created_at, entries, bytes) "
      "VALUES ($1::text, statement_timestamp(), 0, 0) "
      "RETURNING id, (extract(epoch FROM created_at) * 1000000)::bigint");
  // One statement, so one snapshot: a consistent copy even while others write.
  kv_checkpoint_copy = qualify(
      "INSERT INTO {schema}.kv_checkpoint_entries "
      "SELECT $1::bigint, key, value, value_json, version, metadata, expires_at FROM {schema}.kv "
      "WHERE namespace = $2::text AND " +
      live);
  kv_checkpoint_totals = qualify(
      "UPDATE {schema}.kv_checkpoints SET "
      "entries = (SELECT count(*) FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $1), "
      "bytes = (SELECT coalesce(sum(octet_length(key) + octet_length(value)), 0) "
      "FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $1) "
      "WHERE id = $1::bigint RETURNING entries, bytes");
  kv_checkpoint_list = qualify(
      "SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint, entries, bytes "
      "FROM {schema}.kv_checkpoints WHERE namespace = $1::text ORDER BY id");
  kv_checkpoint_exists = qualify(
      "SELECT 1 FROM {schema}.kv_checkpoints WHERE id = $1::bigint AND namespace = $2::text");
  kv_checkpoint_restore = qualify(
      "INSERT INTO {schema}.kv (namespace, key, value, value_json, version, metadata, "
      "expires_at) SELECT $1::text, key, value, value_json, version, metadata, expires_at "
      "FROM {schema}.kv_checkpoint_entries WHERE checkpoint_id = $2::bigint ORDER BY key");
  // Writers of several keys take their rows in key order, so two of them cannot deadlock.
  kv_lock_namespace =
      qualify("SELECT 1 FROM {schema}.kv WHERE namespace = $1::text ORDER BY key FOR UPDATE");
  kv_checkpoint_delete = qualify(
      "DELETE FROM {schema}.kv_checkpoints WHERE id = $1::bigint AND namespace = $2::text "
      "RETURNING true");
  // Queues. "Now" is the transaction's start (now()), one instant for every statement of a call.
  const std::string micros_now = "(extract(epoch FROM now()) * 1000000)::bigint";
  const std::string bury =
      "INSERT INTO {schema}.dead_letters (id, queue, payload, headers, priority, dedup_key, "
      "attempts, history, reason, failed_at, created_at) SELECT id, queue, payload, headers, "
      "priority, dedup_key, attempts, history || jsonb_build_array(jsonb_build_object("
      "'attempt', attempts, 'outcome', 'dead', 'reason', $R::text, 'at', " +
      micros_now + ")), $R::text, now(), created_at FROM gone WHERE $D::boolean";
  auto with = [](std::string sql, const char* reason, const char* dead) {
    for (auto [from, to] : {std::pair{std::string("$R"), std::string(reason)},
                            std::pair{std::string("$D"), std::string(dead)}}) {
      for (auto at = sql.find(from); at != std::string::npos; at = sql.find(from, at)) {
        sql.replace(at, from.size(), to);
      }
    }
    return sql;
  };
  queue_names = qualify("SELECT name FROM {schema}.queues ORDER BY name");
  queue_config = qualify(
      "SELECT lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, dead_letters, "
      "paused FROM {schema}.queues WHERE name = $1::text");
  queue_create = qualify(
      "INSERT INTO {schema}.queues (name, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, "
      "expire_ms, dead_letters) VALUES ($1::text, $2::bigint, $3::integer, $4::bigint, "
      "$5::bigint, $6::bigint, $7::boolean) ON CONFLICT (name) DO UPDATE SET "
      "lease_ms = excluded.lease_ms, max_attempts = excluded.max_attempts, "
      "retry_base_ms = excluded.retry_base_ms, retry_cap_ms = excluded.retry_cap_ms, "
      "expire_ms = excluded.expire_ms, dead_letters = excluded.dead_letters");
  queue_unkey_expired = qualify(
      "DELETE FROM {schema}.queue_items WHERE queue = $1::text AND dedup_key = $2::text AND "
      "lease_token IS NULL AND expires_at <= now()");
  // Producing reads the queue's row: its default expiry, and nothing is inserted into a queue
  // that does not exist.
  // $1 queue, $2 payload, $3 headers, $4 priority, $5 delay ms, $6 expiry ms (NULL: the
  // queue's), $7 dedup key.
  queue_insert = qualify(
      "INSERT INTO {schema}.queue_items (queue, payload, headers, priority, run_at, expires_at, "
      "dedup_key, created_at) SELECT name, $2::bytea, $3::json, $4::integer, "
      "now() + $5::bigint * interval '1 millisecond', "
      "now() + coalesce($6::bigint, expire_ms) * interval '1 millisecond', $7::text, now() "
      "FROM {schema}.queues WHERE name = $1::text "
      "ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id");
  // A batch without dedup keys, as one statement: identity values are drawn in row order, so
  // the ids returned, sorted, follow the input's order.
  queue_insert_many = qualify(
      "INSERT INTO {schema}.queue_items (queue, payload, headers, priority, run_at, expires_at, "
      "created_at) SELECT name, m.payload, m.headers, m.priority, "
      "now() + m.delay_ms * interval '1 millisecond', "
      "now() + coalesce(m.expires_ms, expire_ms) * interval '1 millisecond', now() "
      "FROM {schema}.queues, unnest($2::bytea[], $3::json[], $4::integer[], $5::bigint[], "
      "$6::bigint[]) WITH ORDINALITY AS m (payload, headers, priority, delay_ms, expires_ms, "
      "ordinal) WHERE name = $1::text ORDER BY m.ordinal RETURNING id");
  queue_dedup_id = qualify(
      "SELECT id FROM {schema}.queue_items WHERE queue = $1::text AND dedup_key = $2::text");
  const std::string keeps_dead_letters =
      "(SELECT dead_letters FROM {schema}.queues WHERE name = $1::text)";
  queue_bury_exhausted = qualify(
      with("WITH gone AS (DELETE FROM {schema}.queue_items WHERE id = ANY(ARRAY(SELECT id FROM "
           "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NOT NULL AND "
           "leased_until <= now() AND attempts >= (SELECT max_attempts FROM {schema}.queues "
           "WHERE name = $1::text) LIMIT 100 FOR UPDATE SKIP LOCKED)) RETURNING *) " +
               bury,
           "'lease expired on its last attempt'", keeps_dead_letters.c_str()));
  queue_reclaim = qualify(
      "UPDATE {schema}.queue_items SET lease_token = NULL, leased_until = NULL, "
      "history = history || jsonb_build_array(jsonb_build_object('attempt', attempts, "
      "'outcome', 'lease expired', 'at', " +
      micros_now +
      ")) WHERE id = ANY(ARRAY(SELECT id FROM "
      "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NOT NULL AND "
      "leased_until <= now() LIMIT 100 FOR UPDATE SKIP LOCKED))");
  queue_sweep = qualify(
      "DELETE FROM {schema}.queue_items WHERE id = ANY(ARRAY(SELECT id FROM "
      "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NULL AND "
      "expires_at <= now() LIMIT 100 FOR UPDATE SKIP LOCKED))");
  // $1 queue, $2 how many, $3 lease ms (NULL: the queue's), $4 the lease. Nothing when the
  // queue is paused or unknown. Claims and sweeps pick their rows as an array, so that even a
  // plan made without knowing how many finds each row by its primary key.
  queue_claim = qualify(
      "UPDATE {schema}.queue_items SET lease_token = $4::text, leased_until = now() + "
      "coalesce($3::bigint, (SELECT lease_ms FROM {schema}.queues WHERE name = $1::text)) * "
      "interval '1 millisecond', attempts = attempts + 1 WHERE id = ANY(ARRAY(SELECT id FROM "
      "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NULL AND run_at <= now() "
      "AND (expires_at IS NULL OR expires_at > now()) AND EXISTS (SELECT 1 FROM "
      "{schema}.queues WHERE name = $1::text AND NOT paused) ORDER BY priority DESC, id "
      "LIMIT $2::bigint FOR UPDATE SKIP LOCKED)) RETURNING id, encode(payload, 'hex'), headers, "
      "priority, attempts, (extract(epoch FROM leased_until) * 1000000)::bigint");
  // The item a token holds: $1 queue, $2 item id, $3 lease.
  const std::string held =
      "id = $2::bigint AND queue = $1::text AND lease_token = $3::text AND leased_until > now()";
  // $4 lease ms (NULL: the queue's).
  queue_extend = qualify(
      "UPDATE {schema}.queue_items SET leased_until = now() + coalesce($4::bigint, "
      "(SELECT lease_ms FROM {schema}.queues WHERE name = $1::text)) * interval '1 millisecond' "
      "WHERE " +
      held + " RETURNING true");
  // $1 queue, $2 item ids, $3 their leases.
  queue_complete = qualify(
      "DELETE FROM {schema}.queue_items AS item USING unnest($2::bigint[], $3::text[]) AS "
      "held (id, lease) WHERE item.id = held.id AND item.queue = $1::text AND "
      "item.lease_token = held.lease AND item.leased_until > now() RETURNING true");
  // The held item's attempts and its queue's settings, as queue_config lists them.
  queue_held_attempts = qualify(
      "SELECT attempts, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, "
      "dead_letters, paused FROM {schema}.queue_items AS item JOIN {schema}.queues ON "
      "name = queue WHERE " +
      held + " FOR UPDATE OF item");
  // $4 delay ms.
  queue_give_back = qualify(
      "UPDATE {schema}.queue_items SET lease_token = NULL, leased_until = NULL, "
      "run_at = now() + $4::bigint * interval '1 millisecond', history = history || "
      "jsonb_build_array(jsonb_build_object('attempt', attempts, 'outcome', 'retried', 'at', " +
      micros_now + ")) WHERE " + held);
  // $4 reason. Returns how many items it buried (or dropped, when the queue keeps no dead
  // letters): 1, or 0 when the token holds nothing.
  queue_bury_held = qualify(with("WITH gone AS (DELETE FROM {schema}.queue_items WHERE " + held +
                                     " RETURNING *), buried AS (" + bury +
                                     " RETURNING 1) SELECT count(*) FROM gone",
                                 "$4", keeps_dead_letters.c_str()));
  queue_stats = qualify(
      "SELECT count(*) FILTER (WHERE (lease_token IS NULL OR leased_until <= now()) AND "
      "run_at <= now()), count(*) FILTER (WHERE lease_token IS NULL AND run_at > now()), "
      "count(*) FILTER (WHERE lease_token IS NOT NULL AND leased_until > now()), "
      "extract(epoch FROM now() - min(run_at) FILTER (WHERE (lease_token IS NULL OR "
      "leased_until <= now()) AND run_at <= now()))::float8, (SELECT count(*) FROM "
      "{schema}.dead_letters WHERE queue = $1::text) FROM {schema}.queue_items "
      "WHERE queue = $1::text AND (expires_at IS NULL OR expires_at > now())");
  queue_set_paused = qualify(
      "UPDATE {schema}.queues SET paused = $2::boolean WHERE name = $1::text RETURNING true");
  queue_purge = qualify("DELETE FROM {schema}.queue_items WHERE queue = $1::text RETURNING true");
  queue_dead_letters = qualify(
      "SELECT id, encode(payload, 'hex'), headers, dedup_key, attempts, reason, history::text, "
      "(extract(epoch FROM failed_at) * 1000000)::bigint FROM {schema}.dead_letters "
      "WHERE queue = $1::text AND id > $2::bigint ORDER BY id LIMIT $3::bigint");
  // $2 the ids (NULL: all), $3 expiry ms. A dead letter whose dedup key a live item holds stays.
  queue_requeue = qualify(
      "WITH back AS (DELETE FROM {schema}.dead_letters AS d WHERE queue = $1::text AND "
      "($2::bigint[] IS NULL OR id = ANY($2::bigint[])) AND (dedup_key IS NULL OR NOT EXISTS "
      "(SELECT 1 FROM {schema}.queue_items AS live WHERE live.queue = $1::text AND "
      "live.dedup_key = d.dedup_key)) RETURNING *) INSERT INTO {schema}.queue_items (id, queue, "
      "payload, headers, priority, run_at, expires_at, dedup_key, attempts, history, created_at) "
      "SELECT id, queue, payload, headers, priority, now(), now() + $3::bigint * interval "
      "'1 millisecond', dedup_key, 0, history || jsonb_build_array(jsonb_build_object("
      "'outcome', 'requeued', 'at', " +
      micros_now + ")), created_at FROM back RETURNING true");
  queue_purge_dead =
      qualify("DELETE FROM {schema}.dead_letters WHERE queue = $1::text RETURNING true");
  const std::string workflow_columns =
      "SELECT workflow, version, state, (extract(epoch FROM created_at) * 1000000)::bigint "
      "FROM {schema}.workflow_checkpoints WHERE workflow = $1::text ";
  // The caller holds the workflow's advisory lock, so the next version is its own.
  workflow_save = qualify(
      "INSERT INTO {schema}.workflow_checkpoints (workflow, version, state, created_at) "
      "SELECT $1::text, coalesce(max(version), 0) + 1, $2::json, statement_timestamp() "
      "FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
      "RETURNING version, (extract(epoch FROM created_at) * 1000000)::bigint");
  workflow_latest = qualify(workflow_columns + "ORDER BY version DESC LIMIT 1");
  workflow_at_version = qualify(workflow_columns + "AND version = $2::bigint");
  workflow_list = qualify(workflow_columns + "ORDER BY version");
  workflow_delete = qualify(
      "DELETE FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
      "AND ($2::bigint IS NULL OR version = $2::bigint) RETURNING true");
  workflow_prune = qualify(
      "DELETE FROM {schema}.workflow_checkpoints WHERE workflow = $1::text AND version <= "
      "(SELECT version FROM {schema}.workflow_checkpoints WHERE workflow = $1::text "
      "ORDER BY version DESC LIMIT 1 OFFSET $2::bigint) RETURNING true");
  applied_version = qualify("SELECT coalesce(max(version), 0) FROM {schema}.strata_migrations");
  create_migrations_table = qualify(
      "CREATE SCHEMA IF NOT EXISTS {schema}; "
      "CREATE TABLE IF NOT EXISTS {schema}.strata_migrations (version integer PRIMARY KEY, "
      "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  migration_applied =
      qualify("SELECT 1 FROM {schema}.strata_migrations WHERE version = $1::integer");
  record_migration = qualify(
      "INSERT INTO {schema}.strata_migrations (version, name) VALUES ($1::integer, $2::text)");
}

}  // namespace strata::detail
