// Long-running work (subscriptions, consumers, waiting leases, leader election) rides out a
// database that cannot be reached for a while: it waits and tries again instead of failing.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

#include "strata/error.h"

namespace strata::detail {

// Whether the database may answer if asked again later: it could not be reached, a deadline
// passed, or the connection was lost mid-call.
inline bool is_transient(const Error& error) {
  const ErrorCode code = error.code();
  return code == ErrorCode::unavailable || code == ErrorCode::timeout ||
         code == ErrorCode::unknown_outcome;
}

// Pauses between attempts: 50 ms, doubling up to 1 s, back to 50 ms after a success.
class Backoff {
 public:
  std::chrono::milliseconds next() {
    const auto pause = pause_;
    pause_ = std::min(pause_ * 2, kLongest);
    return pause;
  }
  void reset() { pause_ = kFirst; }

 private:
  static constexpr std::chrono::milliseconds kFirst{50};
  static constexpr std::chrono::milliseconds kLongest{1000};
  std::chrono::milliseconds pause_ = kFirst;
};

// Before asking an unreachable database again: sleeps the next pause, cut short at `deadline`.
// Returns false, without sleeping, once the deadline has passed.
inline bool pause_before_retry(Backoff& backoff, std::chrono::steady_clock::time_point deadline) {
  const auto now = std::chrono::steady_clock::now();
  if (now >= deadline) return false;
  std::this_thread::sleep_for(
      std::min<std::chrono::steady_clock::duration>(backoff.next(), deadline - now));
  return true;
}

}  // namespace strata::detail
