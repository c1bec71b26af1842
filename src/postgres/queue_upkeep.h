// Keeping PostgreSQL queues fast under churn: when a lease should also return expired leases
// and sweep expired items, and a background VACUUM of the queue table.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "postgres/pq/pq.h"

namespace strata::detail {

class QueueUpkeep {
 public:
  using Connect = std::function<std::unique_ptr<pq::Connection>()>;

  // `vacuum_sql` runs on a connection of its own from `connect`; empty: never vacuum.
  QueueUpkeep(Connect connect, std::string vacuum_sql);
  QueueUpkeep(const QueueUpkeep&) = delete;
  QueueUpkeep& operator=(const QueueUpkeep&) = delete;
  // Stops the vacuum thread, waiting for a VACUUM under way.
  ~QueueUpkeep();

  // Whether a lease of `queue` should sweep now: a second has passed since this process last
  // swept it. When true, the caller sweeps, and the next sweep is a second away. Thread-safe.
  bool sweep_due(std::string_view queue);
  // Records a sweep of `queue` made without being due: the next is a second away. Thread-safe.
  void swept(std::string_view queue);

  // Records rows that leases turned into dead versions; once enough have gathered, the queue
  // table is vacuumed on a background thread, at most a quarter of the time. Thread-safe.
  void churned(std::size_t rows);

 private:
  void vacuum_loop();

  static constexpr std::chrono::seconds kSweepInterval{1};
  // Dead index entries at the head of the ready index: about 300 of them fill a page that
  // every claim then steps over until VACUUM removes them.
  static constexpr std::size_t kVacuumAfterRows = 10000;

  const Connect connect_;
  const std::string vacuum_sql_;
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> next_sweep_;
  std::condition_variable wake_;
  std::size_t churned_rows_ = 0;
  bool stopping_ = false;
  std::thread vacuum_thread_;
};

}  // namespace strata::detail
