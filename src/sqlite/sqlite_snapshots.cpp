#include "sqlite/sqlite_snapshots.h"

#include "core/ids.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr const char* kSave =
    "INSERT INTO strata_snapshots (stream, version, state, created_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (stream, version) DO UPDATE SET state = excluded.state, "
    "created_at = excluded.created_at";
constexpr const char* kLoad =
    "SELECT stream, version, state, created_at FROM strata_snapshots "
    "WHERE stream = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1";
constexpr const char* kList =
    "SELECT stream, version, state, created_at FROM strata_snapshots "
    "WHERE stream = ?1 ORDER BY version";
// ?1 stream (NULL: all), ?2 keep_last, ?3 the oldest creation time kept (NULL: any).
constexpr const char* kPrune =
    "DELETE FROM strata_snapshots WHERE (stream, version) IN ("
    "SELECT stream, version FROM (SELECT stream, version, created_at, "
    "row_number() OVER (PARTITION BY stream ORDER BY version DESC) AS rank "
    "FROM strata_snapshots WHERE ?1 IS NULL OR stream = ?1) "
    "WHERE rank > ?2 OR created_at < ?3)";

Snapshot read_snapshot(const Query& row) {
  return Snapshot{row.text(0), row.integer(1), row.text(2), row.integer(3)};
}

}  // namespace

Snapshot SqliteSnapshots::save(std::string_view stream, std::int64_t version,
                               std::string_view state) {
  const auto writing = context_.writer_turn();
  const Timestamp now = now_micros();
  context_.db.query(kSave).bind(1, stream).bind(2, version).bind(3, state).bind(4, now).run();
  return Snapshot{std::string(stream), version, std::string(state), now};
}

std::optional<Snapshot> SqliteSnapshots::load(std::string_view stream, std::int64_t version) {
  Query query = context_.db.query(kLoad);
  query.bind(1, stream).bind(2, version);
  if (!query.step()) return std::nullopt;
  return read_snapshot(query);
}

std::vector<Snapshot> SqliteSnapshots::list(std::string_view stream) {
  Query query = context_.db.query(kList);
  query.bind(1, stream);
  std::vector<Snapshot> snapshots;
  while (query.step()) snapshots.push_back(read_snapshot(query));
  return snapshots;
}

std::size_t SqliteSnapshots::prune(std::optional<std::string_view> stream, const PruneRule& rule) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kPrune);
  query.bind_optional(1, stream);
  if (rule.keep_last) query.bind(2, *rule.keep_last);
  if (rule.max_age_ms) query.bind(3, now_micros() - *rule.max_age_ms * 1000);
  query.run();
  return static_cast<std::size_t>(context_.db.changes());
}

}  // namespace strata::detail
