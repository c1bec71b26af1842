// Snapshots on SQLite: one row per stream and version.
#pragma once

#include "core/backend.h"
#include "sqlite/session_context.h"

namespace strata::detail {

class SqliteSnapshots final : public SnapshotOps {
 public:
  explicit SqliteSnapshots(SqliteContext& context) : context_(context) {}

  Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) override;
  std::optional<Snapshot> load(std::string_view stream, std::int64_t version) override;
  std::vector<Snapshot> list(std::string_view stream) override;
  std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) override;

 private:
  SqliteContext& context_;
};

}  // namespace strata::detail
