// Stream lifecycle on SQLite: deletes, tombstones, truncation and retention, kept in the
// strata_streams table beside the events.
#include <algorithm>

#include "core/ids.h"
#include "sqlite/sqlite_event_sql.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// ?1 stream, ?2 first version kept, ?3 tombstone.
constexpr Statement kMarkRemoved{
    "INSERT INTO strata_streams (name, truncate_before, deleted) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET "
    "truncate_before = max(truncate_before, excluded.truncate_before), "
    "deleted = excluded.deleted"};
// ?1 stream, ?2 first version kept.
constexpr Statement kRemoveEvents{"DELETE FROM strata_events WHERE stream = ?1 AND version < ?2"};
// ?1 stream, ?2 max age in ms, ?3 max count (each NULL: none).
constexpr Statement kSetSettings{
    "INSERT INTO strata_streams (name, truncate_before, deleted, max_age_ms, max_count) "
    "VALUES (?1, 1, 0, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
    "max_age_ms = excluded.max_age_ms, max_count = excluded.max_count"};
constexpr Statement kSettings{"SELECT max_age_ms, max_count FROM strata_streams WHERE name = ?1"};
// Each stream's hidden events form a prefix (up to clocks that disagree on max age): its first
// version kept moves past the newest of them (?1 now), and everything below goes.
constexpr Statement kRaiseTruncation{
    "UPDATE strata_streams AS t SET truncate_before = max(t.truncate_before, h.keep_from) "
    "FROM (SELECT e.stream, max(e.version) + 1 AS keep_from FROM strata_events e "
    "WHERE e.stream IN (SELECT name FROM strata_streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND NOT ",
    kRetainedBefore, "?1", kRetainedAfter, " GROUP BY e.stream) AS h WHERE t.name = h.stream"};
constexpr Statement kRemoveTruncated{
    "DELETE FROM strata_events WHERE stream IN (SELECT name FROM strata_streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND version < "
    "(SELECT truncate_before FROM strata_streams WHERE name = strata_events.stream)"};

// ?1 the first name, ?2 the prefix, ?3 how many, ?4 now. Walks the names from ?1 on (kListFrom)
// or after it (kListAfter) while they start with ?2, one probe each of the events' (stream,
// version) index and the streams table (a loose index scan), and reads each stream's version,
// tombstone and first and last events to read.
constexpr std::string_view kListFrom =
    "(SELECT min(x) FROM (SELECT min(stream) AS x FROM strata_events WHERE stream >= ?1 "
    "UNION ALL SELECT min(name) FROM strata_streams WHERE name >= ?1))";
constexpr std::string_view kListAfter =
    "(SELECT min(x) FROM (SELECT min(stream) AS x FROM strata_events WHERE stream > ?1 "
    "UNION ALL SELECT min(name) FROM strata_streams WHERE name > ?1))";
constexpr std::string_view kListWalk = R"sql(
  UNION ALL
  SELECT (SELECT min(x) FROM (SELECT min(stream) AS x FROM strata_events WHERE stream > n.name
          UNION ALL SELECT min(name) FROM strata_streams WHERE name > n.name))
  FROM names n WHERE substr(n.name, 1, length(?2)) = ?2
  LIMIT ?3
)
SELECT d.*, CASE WHEN d.first_micros IS NOT NULL THEN (SELECT e.created_at FROM strata_events e
         WHERE e.stream = d.name ORDER BY e.version DESC LIMIT 1) END AS last_micros
FROM (SELECT n.name,
             max(coalesce((SELECT max(version) FROM strata_events WHERE stream = n.name), 0),
                 coalesce(s.truncate_before - 1, 0)) AS version,
             coalesce(s.deleted, 0) AS deleted,
             (SELECT e.created_at FROM strata_events e WHERE e.stream = n.name AND )sql";
// A stream's settings hide its newest event only when they hide every one (max age): its
// newest event to read is its newest, or none.
constexpr std::string_view kListOldestEnd = R"sql(
              ORDER BY e.version LIMIT 1) AS first_micros
      FROM names n LEFT JOIN strata_streams s ON s.name = n.name
      WHERE substr(n.name, 1, length(?2)) = ?2) AS d
ORDER BY d.name)sql";
constexpr Statement kListStreamsFrom{"WITH RECURSIVE names (name) AS (SELECT ",
                                     kListFrom,
                                     kListWalk,
                                     kRetainedBefore,
                                     "?4",
                                     kRetainedAfter,
                                     kListOldestEnd};
constexpr Statement kListStreamsAfter{"WITH RECURSIVE names (name) AS (SELECT ",
                                      kListAfter,
                                      kListWalk,
                                      kRetainedBefore,
                                      "?4",
                                      kRetainedAfter,
                                      kListOldestEnd};

class SqliteStreams final : public StreamOps {
 public:
  explicit SqliteStreams(SqliteContext& context) : context_(context) {}

  std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                    bool tombstone) override {
    AtomicScope atomic(context_);
    const StreamState state = read_stream_state(context_, stream);
    if (state.deleted) {
      if (tombstone) return 0;
      return std::nullopt;
    }
    const std::int64_t keep_from = std::min(before, state.version + 1);
    context_.query(kMarkRemoved)
        .bind(1, stream)
        .bind(2, keep_from)
        .bind(3, std::int64_t{tombstone})
        .run();
    context_.query(kRemoveEvents).bind(1, stream).bind(2, keep_from).run();
    const auto removed = static_cast<std::size_t>(context_.db.changes());
    atomic.commit();
    return removed;
  }

  std::vector<StreamSummary> list(std::string_view prefix, std::string_view from, bool inclusive,
                                  std::size_t limit) override {
    Query query = context_.query(inclusive ? kListStreamsFrom : kListStreamsAfter);
    query.bind(1, from)
        .bind(2, prefix)
        .bind(3, static_cast<std::int64_t>(limit))
        .bind(4, now_micros());
    const int name = query.column("name");
    const int version = query.column("version");
    const int deleted = query.column("deleted");
    const int first = query.column("first_micros");
    const int last = query.column("last_micros");
    std::vector<StreamSummary> streams;
    while (query.step()) {
      StreamSummary stream{query.text(name), query.integer(version), query.integer(deleted) != 0,
                           std::nullopt, std::nullopt};
      if (!query.is_null(first)) stream.first_created_at = query.integer(first);
      if (!query.is_null(last)) stream.last_created_at = query.integer(last);
      streams.push_back(std::move(stream));
    }
    return streams;
  }

  void set_settings(std::string_view stream, const StreamSettings& settings) override {
    Query query = context_.query(kSetSettings);
    query.bind(1, stream);
    if (settings.max_age) query.bind(2, static_cast<std::int64_t>(settings.max_age->count()));
    if (settings.max_count) query.bind(3, *settings.max_count);
    query.run();
  }

  StreamSettings settings(std::string_view stream) override {
    Query query = context_.query(kSettings);
    query.bind(1, stream);
    StreamSettings settings;
    if (!query.step()) return settings;
    const int max_age = query.column("max_age_ms");
    const int max_count = query.column("max_count");
    if (!query.is_null(max_age))
      settings.max_age = std::chrono::milliseconds(query.integer(max_age));
    if (!query.is_null(max_count)) settings.max_count = query.integer(max_count);
    return settings;
  }

  std::size_t enforce_retention() override {
    AtomicScope atomic(context_);
    context_.query(kRaiseTruncation).bind(1, now_micros()).run();
    context_.query(kRemoveTruncated).run();
    const auto removed = static_cast<std::size_t>(context_.db.changes());
    atomic.commit();
    return removed;
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<StreamOps> sqlite_streams(SqliteContext& context) {
  return std::make_unique<SqliteStreams>(context);
}

}  // namespace strata::detail
