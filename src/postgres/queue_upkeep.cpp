#include "postgres/queue_upkeep.h"

namespace strata::detail {

QueueUpkeep::QueueUpkeep(Connect connect, std::string vacuum_sql)
    : connect_(std::move(connect)), vacuum_sql_(std::move(vacuum_sql)) {}

QueueUpkeep::~QueueUpkeep() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (vacuum_thread_.joinable()) vacuum_thread_.join();
}

bool QueueUpkeep::sweep_due(std::string_view queue) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  const auto next = next_sweep_.find(queue);
  if (next != next_sweep_.end() && now < next->second) return false;
  next_sweep_.insert_or_assign(std::string(queue), now + kSweepInterval);
  return true;
}

void QueueUpkeep::swept(std::string_view queue) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  next_sweep_.insert_or_assign(std::string(queue), now + kSweepInterval);
}

void QueueUpkeep::churned(std::size_t rows) {
  if (vacuum_sql_.empty() || rows == 0) return;
  std::lock_guard lock(mutex_);
  churned_rows_ += rows;
  if (churned_rows_ < kVacuumAfterRows) return;
  if (!vacuum_thread_.joinable()) vacuum_thread_ = std::thread([this] { vacuum_loop(); });
  wake_.notify_all();
}

void QueueUpkeep::vacuum_loop() {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<pq::Connection> connection;
  auto next_allowed = Clock::now();
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || churned_rows_ >= kVacuumAfterRows; });
    // Paced so that VACUUM takes at most a quarter of the time, however large the table: the
    // dead rows it removes cost every lease more.
    if (wake_.wait_until(lock, next_allowed, [&] { return stopping_; })) return;
    churned_rows_ = 0;
    lock.unlock();
    const auto start = Clock::now();
    try {
      if (!connection || connection->is_broken()) connection = connect_();
      connection->exec(vacuum_sql_);
    } catch (const std::exception&) {
      // The server is away or refused; autovacuum still runs, and the next churn tries again.
      connection.reset();
    }
    const auto took = Clock::now() - start;
    next_allowed =
        Clock::now() + std::max<Clock::duration>(3 * took, std::chrono::milliseconds(100));
    lock.lock();
  }
}

}  // namespace strata::detail
