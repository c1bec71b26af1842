// Stream lifecycle on PostgreSQL: deletes, tombstones, truncation and retention, kept in the
// streams table beside the events.
#include <array>

#include "core/ids.h"
#include "postgres/pg_event_sql.h"
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

// $1 stream, $2 first version kept (at most the next version), $3 tombstone. Returns the first
// version kept; no row when the stream is tombstoned already.
constexpr Statement kMarkRemoved{
    "INSERT INTO {schema}.streams AS t (name, truncate_before, deleted) "
    "SELECT $1::text, least($2::bigint, coalesce(last.version, 0) + 1), $3::boolean",
    kStreamStateSql,
    "\nON CONFLICT (name) DO UPDATE SET "
    "truncate_before = greatest(t.truncate_before, excluded.truncate_before), "
    "deleted = excluded.deleted WHERE NOT t.deleted RETURNING truncate_before"};

// $1 stream. One row: how many events went.
constexpr Statement kRemoveEvents{
    "WITH removed AS (DELETE FROM {schema}.events WHERE stream = $1::text AND version < "
    "(SELECT truncate_before FROM {schema}.streams WHERE name = $1::text) RETURNING 1) "
    "SELECT count(*) AS removed FROM removed"};

// $1 stream, $2 max age in ms, $3 max count (each NULL: none).
constexpr Statement kSetSettings{
    "INSERT INTO {schema}.streams (name, truncate_before, deleted, max_age_ms, max_count) "
    "VALUES ($1::text, 1, false, $2::bigint, $3::bigint) ON CONFLICT (name) DO UPDATE SET "
    "max_age_ms = excluded.max_age_ms, max_count = excluded.max_count"};

constexpr Statement kSettings{
    "SELECT max_age_ms, max_count FROM {schema}.streams WHERE name = $1::text"};

// Each stream's hidden events form a prefix (up to clocks that disagree on max age): its first
// version kept moves past the newest of them, and everything below goes. One row: how many.
constexpr Statement kEnforceRetention{
    "WITH hidden AS (SELECT e.stream, max(e.version) + 1 AS keep_from FROM {schema}.events e "
    "WHERE e.stream IN (SELECT name FROM {schema}.streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) AND NOT ",
    kRetainedSql,
    " GROUP BY e.stream), "
    "raised AS (UPDATE {schema}.streams t "
    "SET truncate_before = greatest(t.truncate_before, h.keep_from) FROM hidden h "
    "WHERE t.name = h.stream RETURNING t.name, t.truncate_before), "
    "removed AS (DELETE FROM {schema}.events e USING raised r "
    "WHERE e.stream = r.name AND e.version < r.truncate_before RETURNING 1) "
    "SELECT count(*) AS removed FROM removed"};

// The first name from $1 on (kListFrom) or after it (kListAfter), among the events' streams and
// the streams table's rows: an index probe of each (the events' primary key leads by stream).
constexpr std::string_view kListFrom =
    "(SELECT min(x) FROM (SELECT min(stream) AS x FROM {schema}.events WHERE stream >= $1::text "
    "UNION ALL SELECT min(name) FROM {schema}.streams WHERE name >= $1::text) AS next)";
constexpr std::string_view kListAfter =
    "(SELECT min(x) FROM (SELECT min(stream) AS x FROM {schema}.events WHERE stream > $1::text "
    "UNION ALL SELECT min(name) FROM {schema}.streams WHERE name > $1::text) AS next)";
// Walks the names from the first one while they start with $2, one probe each (a loose index
// scan), and reads each stream's version, tombstone and first and last events to read, up to $3.
constexpr std::string_view kListWalk = R"sql(
  UNION ALL
  SELECT (SELECT min(x) FROM (SELECT min(stream) AS x FROM {schema}.events WHERE stream > n.name
          UNION ALL SELECT min(name) FROM {schema}.streams WHERE name > n.name) AS next)
  FROM names n WHERE starts_with(n.name, $2::text)
), page AS (SELECT name FROM names WHERE starts_with(name, $2::text) LIMIT $3::bigint)
SELECT n.name, coalesce(greatest(latest.version, s.truncate_before - 1), 0) AS version,
       coalesce(s.deleted, false) AS deleted,
       (extract(epoch FROM oldest.created_at) * 1000000)::bigint AS first_micros,
       (extract(epoch FROM latest.created_at) * 1000000)::bigint AS last_micros
FROM page n
LEFT JOIN {schema}.streams s ON s.name = n.name
LEFT JOIN LATERAL (SELECT e.created_at FROM {schema}.events e WHERE e.stream = n.name AND )sql";
// A stream's settings hide its newest event only when they hide every one (max age): its
// newest event to read is its newest, or none.
constexpr std::string_view kListOldestEnd = R"sql(
                   ORDER BY e.version LIMIT 1) AS oldest ON true
LEFT JOIN LATERAL (SELECT e.version, CASE WHEN oldest.created_at IS NOT NULL THEN e.created_at END
                   AS created_at FROM {schema}.events e WHERE e.stream = n.name
                   ORDER BY e.version DESC LIMIT 1) AS latest ON true
ORDER BY n.name)sql";
constexpr Statement kListStreamsFrom{"WITH RECURSIVE names (name) AS (SELECT ", kListFrom,
                                     kListWalk, kRetainedSql, kListOldestEnd};
constexpr Statement kListStreamsAfter{"WITH RECURSIVE names (name) AS (SELECT ", kListAfter,
                                      kListWalk, kRetainedSql, kListOldestEnd};

// Whether the database orders text by its bytes, as the walk's prefix test needs: names with a
// common prefix then lie together. One row.
constexpr Statement kCollation{
    "SELECT datlocprovider = 'c' AND datcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8') "
    "AS bytewise, CASE WHEN datlocprovider = 'i' THEN 'ICU ' || daticulocale ELSE datcollate END "
    "AS collation FROM pg_database WHERE datname = current_database()"};

class PgStreams final : public StreamOps {
 public:
  explicit PgStreams(PgContext& context) : context_(context) {}

  std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                    bool tombstone) override {
    const Params lock = Params().add(stream_lock_key(stable_hash64(stream)));
    const Params mark = Params().add(stream).add(before).add(tombstone ? "t" : "f");
    const Params removal = Params().add(stream);
    const std::array<pq::Command, 3> commands = {context_.command(kTakeStreamLock, lock),
                                                 context_.command(kMarkRemoved, mark),
                                                 context_.command(kRemoveEvents, removal)};
    const auto results = context_.atomic_pipeline(commands);
    if (results[1].rows() == 0) {
      if (tombstone) return 0;
      return std::nullopt;
    }
    const Result& removed = results[2];
    return static_cast<std::size_t>(removed.integer(0, removed.column("removed")));
  }

  std::vector<StreamSummary> list(std::string_view prefix, std::string_view from, bool inclusive,
                                  std::size_t limit) override {
    if (!prefix.empty()) require_bytewise_collation();
    const Result rows =
        context_.query(inclusive ? kListStreamsFrom : kListStreamsAfter,
                       Params().add(from).add(prefix).add(static_cast<std::int64_t>(limit)));
    const int name = rows.column("name");
    const int version = rows.column("version");
    const int deleted = rows.column("deleted");
    const int first = rows.column("first_micros");
    const int last = rows.column("last_micros");
    std::vector<StreamSummary> streams;
    for (int row = 0; row < rows.rows(); ++row) {
      StreamSummary stream{rows.string(row, name), rows.integer(row, version),
                           rows.text(row, deleted) == "t", std::nullopt, std::nullopt};
      if (!rows.is_null(row, first)) stream.first_created_at = rows.integer(row, first);
      if (!rows.is_null(row, last)) stream.last_created_at = rows.integer(row, last);
      streams.push_back(std::move(stream));
    }
    return streams;
  }

  void set_settings(std::string_view stream, const StreamSettings& settings) override {
    Params params;
    params.add(stream);
    params.add_nullable(settings.max_age ? std::optional(settings.max_age->count()) : std::nullopt);
    params.add_nullable(settings.max_count);
    context_.query(kSetSettings, params);
  }

  StreamSettings settings(std::string_view stream) override {
    const Result rows = context_.query(kSettings, Params().add(stream));
    StreamSettings settings;
    if (rows.rows() == 0) return settings;
    const int max_age = rows.column("max_age_ms");
    const int max_count = rows.column("max_count");
    if (!rows.is_null(0, max_age)) {
      settings.max_age = std::chrono::milliseconds(rows.integer(0, max_age));
    }
    if (!rows.is_null(0, max_count)) settings.max_count = rows.integer(0, max_count);
    return settings;
  }

  std::size_t enforce_retention() override {
    const Result removed = context_.query(kEnforceRetention, Params());
    return static_cast<std::size_t>(removed.integer(0, removed.column("removed")));
  }

 private:
  // Under another collation, names with a prefix may lie apart ("order-1" < "order1x" <
  // "order-2" where '-' is ignored): a walk that stops at the first other name would miss some.
  void require_bytewise_collation() {
    if (!bytewise_) {
      const Result rows = context_.query(kCollation, Params());
      if (rows.text(0, rows.column("bytewise")) != "t") {
        throw Error(ErrorCode::invalid_argument,
                    "listing streams by prefix or category needs a database that orders text by "
                    "its bytes (collation C or C.UTF-8); this one's is " +
                        rows.string(0, rows.column("collation")) + ": list every stream instead");
      }
      bytewise_ = true;
    }
  }

  PgContext& context_;
  bool bytewise_ = false;  // Checked once per connection.
};

}  // namespace

std::unique_ptr<StreamOps> pg_streams(PgContext& context) {
  return std::make_unique<PgStreams>(context);
}

}  // namespace strata::detail
