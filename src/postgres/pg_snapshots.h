// Snapshots on PostgreSQL: one row per stream and version, timed on the server's clock.
#pragma once

#include <string>

#include "core/backend.h"

namespace strata::detail {

struct PgContext;

struct PgSnapshotSql {
  explicit PgSnapshotSql(const std::string& quoted_schema);
  std::string save;
  std::string load;
  std::string list;
  std::string prune;
};

class PgSnapshots final : public SnapshotOps {
 public:
  explicit PgSnapshots(PgContext& context) : context_(context) {}

  Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) override;
  std::optional<Snapshot> load(std::string_view stream, std::int64_t version) override;
  std::vector<Snapshot> list(std::string_view stream) override;
  std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) override;

 private:
  PgContext& context_;
};

}  // namespace strata::detail
