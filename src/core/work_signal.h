// Wakes threads waiting for queue items or events: a generation counter under a condition
// variable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace strata::detail {

class WorkSignal {
 public:
  // Wakes every waiter. Thread-safe.
  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // Returns at the next notify() or at `until`, whichever comes first. Thread-safe.
  void wait_until(std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    const std::uint64_t seen = generation_;
    changed_.wait_until(lock, until, [&] { return generation_ != seen; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
};

// A backend's wake-ups: one for queue items produced, one for events appended.
struct Signals {
  WorkSignal queues;
  WorkSignal events;
};

}  // namespace strata::detail
