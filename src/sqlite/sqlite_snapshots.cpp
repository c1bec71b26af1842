// Snapshots on SQLite: one row per stream and version.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// ?1 stream, ?2 version, ?3 state, ?4 now.
constexpr Statement kSave{
    "INSERT INTO strata_snapshots (stream, version, state, created_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (stream, version) DO UPDATE SET state = excluded.state, "
    "created_at = excluded.created_at"};
// ?1 stream, ?2 the highest version wanted.
constexpr Statement kLoad{
    "SELECT stream, version, state, created_at FROM strata_snapshots "
    "WHERE stream = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1"};
constexpr Statement kList{
    "SELECT stream, version, state, created_at FROM strata_snapshots "
    "WHERE stream = ?1 ORDER BY version"};
// ?1 stream (NULL: all), ?2 keep_last, ?3 the oldest creation time kept (NULL: any).
constexpr Statement kPrune{
    "DELETE FROM strata_snapshots WHERE (stream, version) IN ("
    "SELECT stream, version FROM (SELECT stream, version, created_at, "
    "row_number() OVER (PARTITION BY stream ORDER BY version DESC) AS rank "
    "FROM strata_snapshots WHERE ?1 IS NULL OR stream = ?1) "
    "WHERE rank > ?2 OR created_at < ?3)"};

// Rows of kLoad and kList.
std::vector<Snapshot> read_snapshots(Query& query) {
  const int stream = query.column("stream");
  const int version = query.column("version");
  const int state = query.column("state");
  const int created_at = query.column("created_at");
  std::vector<Snapshot> snapshots;
  while (query.step()) {
    snapshots.push_back(Snapshot{query.text(stream), query.integer(version), query.text(state),
                                 query.integer(created_at)});
  }
  return snapshots;
}

class SqliteSnapshots final : public SnapshotOps {
 public:
  explicit SqliteSnapshots(SqliteContext& context) : context_(context) {}

  Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) override {
    const Timestamp now = now_micros();
    context_.query(kSave).bind(1, stream).bind(2, version).bind(3, state).bind(4, now).run();
    return Snapshot{std::string(stream), version, std::string(state), now};
  }

  std::optional<Snapshot> load(std::string_view stream, std::int64_t version) override {
    Query query = context_.query(kLoad);
    query.bind(1, stream).bind(2, version);
    auto found = read_snapshots(query);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<Snapshot> list(std::string_view stream) override {
    Query query = context_.query(kList);
    query.bind(1, stream);
    return read_snapshots(query);
  }

  std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) override {
    Query query = context_.query(kPrune);
    query.bind_optional(1, stream);
    if (rule.keep_last) query.bind(2, *rule.keep_last);
    if (rule.max_age_ms) query.bind(3, now_micros() - *rule.max_age_ms * 1000);
    query.run();
    return static_cast<std::size_t>(context_.db.changes());
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<SnapshotOps> sqlite_snapshots(SqliteContext& context) {
  return std::make_unique<SqliteSnapshots>(context);
}

}  // namespace strata::detail
