// What a backend counts for Store::stats(): the store's sizes (queues are counted by their room).
#pragma once

#include <cstdint>
#include <vector>

#include "strata/stats.h"

namespace strata::detail {

struct StorageStats {
  std::uint64_t events = 0;
  std::uint64_t streams = 0;
  std::uint64_t bytes = 0;
  std::vector<NamespaceStats> namespaces;
};

class StatsOps {
 public:
  virtual ~StatsOps() = default;
  // Counted in one statement, so the counts agree with each other.
  virtual StorageStats storage() = 0;
};

}  // namespace strata::detail
