#include "sqlite/sqlite_streams.h"

#include <algorithm>

#include "core/ids.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr const char* kStreamState =
    "SELECT max(coalesce((SELECT max(version) FROM strata_events WHERE stream = ?1), 0), "
    "coalesce(truncate_before - 1, 0)), coalesce(deleted, 0) "
    "FROM (SELECT 1) LEFT JOIN strata_streams ON name = ?1";
// ?1 stream, ?2 first version kept, ?3 tombstone.
constexpr const char* kMarkRemoved =
    "INSERT INTO strata_streams (name, truncate_before, deleted) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET "
    "truncate_before = max(truncate_before, excluded.truncate_before), "
    "deleted = excluded.deleted";
constexpr const char* kRemoveEvents =
    "DELETE FROM strata_events WHERE stream = ?1 AND version < ?2";
constexpr const char* kSetSettings =
    "INSERT INTO strata_streams (name, truncate_before, deleted, max_age_ms, max_count) "
    "VALUES (?1, 1, 0, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
    "max_age_ms = excluded.max_age_ms, max_count = excluded.max_count";
constexpr const char* kSettings =
    "SELECT max_age_ms, max_count FROM strata_streams WHERE name = ?1";

}  // namespace

StreamState read_stream_state(sqlite::Database& db, std::string_view stream) {
  Query query = db.query(kStreamState);
  query.bind(1, stream);
  query.step();
  return StreamState{query.integer(0), query.integer(1) != 0};
}

std::string retained_event_sql(int now_parameter) {
  const std::string now = "?" + std::to_string(now_parameter);
  // The first test is uncorrelated, so SQLite runs it once per statement: stores without
  // settings pay nothing per row.
  return "(NOT EXISTS (SELECT 1 FROM strata_streams "
         "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) OR "
         "NOT EXISTS (SELECT 1 FROM strata_streams s WHERE s.name = e.stream AND ("
         "(s.max_age_ms IS NOT NULL AND e.created_at <= " +
         now +
         " - s.max_age_ms * 1000) OR (s.max_count IS NOT NULL AND e.version <= "
         "(SELECT max(m.version) FROM strata_events m WHERE m.stream = e.stream) - "
         "s.max_count))))";
}

std::optional<std::size_t> SqliteStreams::remove(std::string_view stream, std::int64_t before,
                                                 bool tombstone) {
  const auto writing = context_.writer_turn();
  AtomicScope atomic(context_.db, context_.in_transaction());
  const StreamState state = read_stream_state(context_.db, stream);
  if (state.deleted) {
    if (tombstone) return 0;
    return std::nullopt;
  }
  const std::int64_t keep_from = std::min(before, state.version + 1);
  context_.db.query(kMarkRemoved)
      .bind(1, stream)
      .bind(2, keep_from)
      .bind(3, std::int64_t{tombstone})
      .run();
  context_.db.query(kRemoveEvents).bind(1, stream).bind(2, keep_from).run();
  const auto removed = static_cast<std::size_t>(context_.db.changes());
  atomic.commit();
  return removed;
}

void SqliteStreams::set_settings(std::string_view stream, const StreamSettings& settings) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kSetSettings);
  query.bind(1, stream);
  if (settings.max_age) query.bind(2, static_cast<std::int64_t>(settings.max_age->count()));
  if (settings.max_count) query.bind(3, *settings.max_count);
  query.run();
}

StreamSettings SqliteStreams::settings(std::string_view stream) {
  Query query = context_.db.query(kSettings);
  query.bind(1, stream);
  StreamSettings settings;
  if (!query.step()) return settings;
  if (!query.is_null(0)) settings.max_age = std::chrono::milliseconds(query.integer(0));
  if (!query.is_null(1)) settings.max_count = query.integer(1);
  return settings;
}

std::size_t SqliteStreams::enforce_retention() {
  const auto writing = context_.writer_turn();
  AtomicScope atomic(context_.db, context_.in_transaction());
  // Each stream's hidden events form a prefix (up to clocks that disagree on max age): its
  // first version kept moves past the newest of them, and everything below goes.
  context_.db
      .query(
          "UPDATE strata_streams AS t SET truncate_before = max(t.truncate_before, h.keep_from) "
          "FROM (SELECT e.stream, max(e.version) + 1 AS keep_from FROM strata_events e "
          "WHERE e.stream IN (SELECT name FROM strata_streams "
          "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND NOT " +
          retained_event_sql(1) + " GROUP BY e.stream) AS h WHERE t.name = h.stream")
      .bind(1, now_micros())
      .run();
  context_.db
      .query(
          "DELETE FROM strata_events WHERE stream IN (SELECT name FROM strata_streams "
          "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND version < "
          "(SELECT truncate_before FROM strata_streams WHERE name = strata_events.stream)")
      .run();
  const auto removed = static_cast<std::size_t>(context_.db.changes());
  atomic.commit();
  return removed;
}

}  // namespace strata::detail
