#include "postgres/pg_streams.h"

#include <array>

#include "core/ids.h"
#include "postgres/session_context.h"

namespace strata::detail {
namespace {

using pq::Command;
using pq::Params;
using pq::Result;

}  // namespace

PgStreamSql::PgStreamSql(const std::string& quoted_schema) {
  auto qualify = [&](const std::string& sql) { return with_schema(sql, quoted_schema); };
  const std::string retained(retained_event_sql());
  // $1 stream, $2 first version kept (at most the next version), $3 tombstone. Returns the
  // first version kept; no row when the stream is tombstoned already.
  mark_removed = qualify(
      "INSERT INTO {schema}.streams AS t (name, truncate_before, deleted) "
      "SELECT $1::text, least($2::bigint, coalesce(last.version, 0) + 1), $3::boolean" +
      std::string(stream_state_sql()) +
      "\nON CONFLICT (name) DO UPDATE SET "
      "truncate_before = greatest(t.truncate_before, excluded.truncate_before), "
      "deleted = excluded.deleted WHERE NOT t.deleted RETURNING truncate_before");
  remove_events = qualify(
      "WITH removed AS (DELETE FROM {schema}.events WHERE stream = $1::text AND version < "
      "(SELECT truncate_before FROM {schema}.streams WHERE name = $1::text) RETURNING 1) "
      "SELECT count(*) FROM removed");
  set_settings = qualify(
      "INSERT INTO {schema}.streams (name, truncate_before, deleted, max_age_ms, max_count) "
      "VALUES ($1::text, 1, false, $2::bigint, $3::bigint) ON CONFLICT (name) DO UPDATE SET "
      "max_age_ms = excluded.max_age_ms, max_count = excluded.max_count");
  settings = qualify("SELECT max_age_ms, max_count FROM {schema}.streams WHERE name = $1::text");
  // Each stream's hidden events form a prefix (up to clocks that disagree on max age): its
  // first version kept moves past the newest of them, and everything below goes.
  enforce_retention = qualify(
      "WITH hidden AS (SELECT e.stream, max(e.version) + 1 AS keep_from FROM {schema}.events e "
      "WHERE e.stream IN (SELECT name FROM {schema}.streams "
      "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND NOT " +
      retained +
      " GROUP BY e.stream), "
      "raised AS (UPDATE {schema}.streams t "
      "SET truncate_before = greatest(t.truncate_before, h.keep_from) FROM hidden h "
      "WHERE t.name = h.stream RETURNING t.name, t.truncate_before), "
      "removed AS (DELETE FROM {schema}.events e USING raised r "
      "WHERE e.stream = r.name AND e.version < r.truncate_before RETURNING 1) "
      "SELECT count(*) FROM removed");
}

std::optional<std::size_t> PgStreams::remove(std::string_view stream, std::int64_t before,
                                             bool tombstone) {
  context_.wrote = true;
  const Params lock = Params().add(advisory_lock_key(stable_hash64(stream)));
  const Params mark = Params().add(stream).add(before).add(tombstone ? "t" : "f");
  const Params removal = Params().add(stream);
  const std::array<Command, 3> commands = {Command{context_.sql.lock_stream, lock},
                                           Command{context_.sql.streams.mark_removed, mark},
                                           Command{context_.sql.streams.remove_events, removal}};
  const auto results = context_.atomic_pipeline(commands);
  if (results[1].rows() == 0) {
    if (tombstone) return 0;
    return std::nullopt;
  }
  return static_cast<std::size_t>(results[2].integer(0, 0));
}

void PgStreams::set_settings(std::string_view stream, const StreamSettings& settings) {
  context_.wrote = true;
  Params params;
  params.add(stream);
  params.add_nullable(settings.max_age ? std::optional(settings.max_age->count()) : std::nullopt);
  params.add_nullable(settings.max_count);
  context_.connection.query(context_.sql.streams.set_settings, params);
}

StreamSettings PgStreams::settings(std::string_view stream) {
  const Result rows =
      context_.connection.query(context_.sql.streams.settings, Params().add(stream));
  StreamSettings settings;
  if (rows.rows() == 0) return settings;
  if (!rows.is_null(0, 0)) settings.max_age = std::chrono::milliseconds(rows.integer(0, 0));
  if (!rows.is_null(0, 1)) settings.max_count = rows.integer(0, 1);
  return settings;
}

std::size_t PgStreams::enforce_retention() {
  context_.wrote = true;
  return static_cast<std::size_t>(
      context_.connection.query(context_.sql.streams.enforce_retention, Params()).integer(0, 0));
}

}  // namespace strata::detail
