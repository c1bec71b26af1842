// Store statistics on PostgreSQL: counts of the store's tables, and the schema's size.
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

// One row of totals, then one per namespace (`namespace` NULL on the first).
constexpr Statement kStorage{
    "SELECT NULL AS namespace, (SELECT count(*) FROM {schema}.events) AS count, "
    "(SELECT count(*) FROM (SELECT DISTINCT stream FROM {schema}.events) AS s) AS streams, "
    "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "WHERE c.relnamespace = '{schema}'::regnamespace AND c.relkind IN ('r', 'p', 'm'))::bigint "
    "AS bytes "
    "UNION ALL (SELECT namespace, count(*), 0, sum(octet_length(key) + octet_length(value)) "
    "FROM {schema}.kv WHERE expires_at IS NULL OR expires_at > statement_timestamp() "
    "GROUP BY namespace ORDER BY namespace)"};

class PgStats final : public StatsOps {
 public:
  explicit PgStats(PgContext& context) : context_(context) {}

  StorageStats storage() override {
    const Result rows = context_.query(kStorage, Params());
    const int name = rows.column("namespace");
    const int count = rows.column("count");
    const int bytes = rows.column("bytes");
    StorageStats stats;
    stats.events = rows.unsigned_integer(0, count);
    stats.streams = rows.unsigned_integer(0, rows.column("streams"));
    stats.bytes = rows.unsigned_integer(0, bytes);
    for (int row = 1; row < rows.rows(); ++row) {
      stats.namespaces.push_back(NamespaceStats{rows.string(row, name),
                                                rows.unsigned_integer(row, count),
                                                rows.unsigned_integer(row, bytes)});
    }
    return stats;
  }

 private:
  PgContext& context_;
};

}  // namespace

std::unique_ptr<StatsOps> pg_stats(PgContext& context) {
  return std::make_unique<PgStats>(context);
}

}  // namespace strata::detail
