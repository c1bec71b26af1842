// Store statistics on SQLite: counts of the store's tables, and the database's size.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// One row of totals, then one per namespace (`namespace` NULL on the first); ?1 now.
constexpr Statement kStorage{
    "SELECT NULL AS namespace, (SELECT count(*) FROM strata_events) AS count, "
    "(SELECT count(DISTINCT stream) FROM strata_events) AS streams, "
    "(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()) AS bytes "
    "UNION ALL SELECT * FROM (SELECT namespace, count(*), 0, sum(length(key) + length(value)) "
    "FROM strata_kv WHERE expires_at IS NULL OR expires_at > ?1 "
    "GROUP BY namespace ORDER BY namespace)"};

class SqliteStats final : public StatsOps {
 public:
  explicit SqliteStats(SqliteContext& context) : context_(context) {}

  StorageStats storage() override {
    Query query = context_.query(kStorage);
    query.bind(1, now_micros());
    const int name = query.column("namespace");
    const int count = query.column("count");
    const int bytes = query.column("bytes");
    StorageStats stats;
    query.step();
    stats.events = static_cast<std::uint64_t>(query.integer(count));
    stats.streams = static_cast<std::uint64_t>(query.integer(query.column("streams")));
    stats.bytes = static_cast<std::uint64_t>(query.integer(bytes));
    while (query.step()) {
      stats.namespaces.push_back(NamespaceStats{query.text(name),
                                                static_cast<std::uint64_t>(query.integer(count)),
                                                static_cast<std::uint64_t>(query.integer(bytes))});
    }
    return stats;
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<StatsOps> sqlite_stats(SqliteContext& context) {
  return std::make_unique<SqliteStats>(context);
}

}  // namespace strata::detail
