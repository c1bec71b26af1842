// Store statistics: what a store holds and how much room it takes, from Store::stats().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strata/queue.h"

namespace strata {

struct NamespaceStats {
  std::string name;
  std::uint64_t keys = 0;   // Live keys.
  std::uint64_t bytes = 0;  // Of their keys and values.
};

struct QueueSummary {
  std::string name;
  QueueStats stats;
};

struct StoreStats {
  std::uint64_t events = 0;   // Stored, including those reads hide until retention removes them.
  std::uint64_t streams = 0;  // With stored events.
  // On disk: on PostgreSQL the store schema's tables with their indexes and TOAST; on SQLite the
  // database's pages.
  std::uint64_t bytes = 0;
  std::vector<NamespaceStats> namespaces;  // Key-value namespaces with live keys, by name.
  std::vector<QueueSummary> queues;        // By name.
};

}  // namespace strata
