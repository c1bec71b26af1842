// What a backend does for snapshots of streams' state.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "strata/snapshot.h"

namespace strata::detail {

// Which snapshots a prune deletes: those beyond the newest `keep_last` of their stream, and
// those older than `max_age_ms`.
struct PruneRule {
  std::optional<std::int64_t> keep_last;
  std::optional<std::int64_t> max_age_ms;
};

class SnapshotOps {
 public:
  virtual ~SnapshotOps() = default;
  virtual Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) = 0;
  // The newest snapshot at or below `version`.
  virtual std::optional<Snapshot> load(std::string_view stream, std::int64_t version) = 0;
  virtual std::vector<Snapshot> list(std::string_view stream) = 0;
  // Applies `rule` to one stream, or to all when `stream` is absent; returns how many went.
  virtual std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) = 0;
};

}  // namespace strata::detail
