// Snapshots on PostgreSQL: one row per stream and version, the newest at or below a version
// found by the primary key.
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

constexpr std::string_view kColumns =
    "stream, version, state, (extract(epoch FROM created_at) * 1000000)::bigint AS "
    "created_micros";

// Rows of kColumns, selected or returned.
std::vector<Snapshot> read_snapshots(const Result& rows) {
  const int stream = rows.column("stream");
  const int version = rows.column("version");
  const int state = rows.column("state");
  const int created_at = rows.column("created_micros");
  std::vector<Snapshot> snapshots;
  for (int row = 0; row < rows.rows(); ++row) {
    snapshots.push_back(Snapshot{rows.string(row, stream), rows.integer(row, version),
                                 rows.string(row, state), rows.integer(row, created_at)});
  }
  return snapshots;
}

// $1 stream, $2 version, $3 state.
constexpr Statement kSave{
    "INSERT INTO {schema}.snapshots (stream, version, state, created_at) "
    "VALUES ($1::text, $2::bigint, $3::json, statement_timestamp()) "
    "ON CONFLICT (stream, version) DO UPDATE SET state = excluded.state, "
    "created_at = excluded.created_at RETURNING ",
    kColumns};
// $1 stream, $2 the highest version wanted.
constexpr Statement kLoad{"SELECT ", kColumns,
                          " FROM {schema}.snapshots WHERE stream = $1::text AND "
                          "version <= $2::bigint ORDER BY version DESC LIMIT 1"};
constexpr Statement kList{"SELECT ", kColumns,
                          " FROM {schema}.snapshots WHERE stream = $1::text ORDER BY version"};
// $1 stream (NULL: all), $2 keep_last (NULL: any number), $3 max age in ms (NULL: any age).
constexpr Statement kPrune{
    "DELETE FROM {schema}.snapshots s USING ("
    "SELECT stream, version, created_at, "
    "row_number() OVER (PARTITION BY stream ORDER BY version DESC) AS rank "
    "FROM {schema}.snapshots WHERE $1::text IS NULL OR stream = $1::text) r "
    "WHERE s.stream = r.stream AND s.version = r.version AND (r.rank > $2::bigint "
    "OR r.created_at < statement_timestamp() - $3::bigint * interval '1 millisecond') "
    "RETURNING true"};

class PgSnapshots final : public SnapshotOps {
 public:
  explicit PgSnapshots(PgContext& context) : context_(context) {}

  Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) override {
    return read_snapshots(context_.query(kSave, Params().add(stream).add(version).add(state)))
        .front();
  }

  std::optional<Snapshot> load(std::string_view stream, std::int64_t version) override {
    auto found = read_snapshots(context_.query(kLoad, Params().add(stream).add(version)));
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<Snapshot> list(std::string_view stream) override {
    return read_snapshots(context_.query(kList, Params().add(stream)));
  }

  std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) override {
    Params params;
    params.add_nullable(stream).add_nullable(rule.keep_last).add_nullable(rule.max_age_ms);
    return static_cast<std::size_t>(context_.query(kPrune, params).rows());
  }

 private:
  PgContext& context_;
};

}  // namespace

std::unique_ptr<SnapshotOps> pg_snapshots(PgContext& context) {
  return std::make_unique<PgSnapshots>(context);
}

}  // namespace strata::detail
