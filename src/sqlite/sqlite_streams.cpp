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
