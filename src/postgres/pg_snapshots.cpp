#include "postgres/pg_snapshots.h"

#include "postgres/session_context.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

constexpr std::string_view kColumns =
    "stream, version, state, (extract(epoch FROM created_at) * 1000000)::bigint";

std::vector<Snapshot> read_snapshots(const Result& rows) {
  std::vector<Snapshot> snapshots;
  for (int row = 0; row < rows.rows(); ++row) {
    snapshots.push_back(Snapshot{rows.string(row, 0), rows.integer(row, 1), rows.string(row, 2),
                                 rows.integer(row, 3)});
  }
  return snapshots;
}

}  // namespace

PgSnapshotSql::PgSnapshotSql(const std::string& quoted_schema) {
  auto qualify = [&](const std::string& sql) { return with_schema(sql, quoted_schema); };
  const std::string columns(kColumns);
  save = qualify(
      "INSERT INTO {schema}.snapshots (stream, version, state, created_at) "
      "VALUES ($1::text, $2::bigint, $3::json, statement_timestamp()) "
      "ON CONFLICT (stream, version) DO UPDATE SET state = excluded.state, "
      "created_at = excluded.created_at RETURNING " +
      columns);
  load = qualify("SELECT " + columns +
                 " FROM {schema}.snapshots WHERE stream = $1::text AND version <= $2::bigint "
                 "ORDER BY version DESC LIMIT 1");
  list = qualify("SELECT " + columns +
                 " FROM {schema}.snapshots WHERE stream = $1::text ORDER BY version");
  // $1 stream (NULL: all), $2 keep_last (NULL: any number), $3 max age in ms (NULL: any age).
  prune = qualify(
      "DELETE FROM {schema}.snapshots s USING ("
      "SELECT stream, version, created_at, "
      "row_number() OVER (PARTITION BY stream ORDER BY version DESC) AS rank "
      "FROM {schema}.snapshots WHERE $1::text IS NULL OR stream = $1::text) r "
      "WHERE s.stream = r.stream AND s.version = r.version AND (r.rank > $2::bigint "
      "OR r.created_at < statement_timestamp() - $3::bigint * interval '1 millisecond') "
      "RETURNING true");
}

Snapshot PgSnapshots::save(std::string_view stream, std::int64_t version, std::string_view state) {
  context_.wrote = true;
  return read_snapshots(context_.connection.query(context_.sql.snapshots.save,
                                                  Params().add(stream).add(version).add(state)))
      .front();
}

std::optional<Snapshot> PgSnapshots::load(std::string_view stream, std::int64_t version) {
  auto found = read_snapshots(
      context_.connection.query(context_.sql.snapshots.load, Params().add(stream).add(version)));
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::vector<Snapshot> PgSnapshots::list(std::string_view stream) {
  return read_snapshots(
      context_.connection.query(context_.sql.snapshots.list, Params().add(stream)));
}

std::size_t PgSnapshots::prune(std::optional<std::string_view> stream, const PruneRule& rule) {
  context_.wrote = true;
  Params params;
  params.add_nullable(stream).add_nullable(rule.keep_last).add_nullable(rule.max_age_ms);
  return static_cast<std::size_t>(
      context_.connection.query(context_.sql.snapshots.prune, params).rows());
}

}  // namespace strata::detail
