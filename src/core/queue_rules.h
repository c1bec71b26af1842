// Queue rules both backends share: a queue's stored settings, the retry backoff, and whether a
// retried item goes back or to the dead letters.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::detail {

// A queue's settings as stored, in milliseconds.
struct QueueConfig {
  std::int64_t lease_ms = 0;
  std::int64_t max_attempts = 0;
  std::int64_t retry_base_ms = 0;
  std::int64_t retry_cap_ms = 0;
  std::optional<std::int64_t> expire_ms;
  bool dead_letters = true;
  bool paused = false;
};

// The delay before retrying after `attempt` (1 for the first): base × 2^(attempt−1), capped,
// scaled by `jitter` (0.5 to 1).
std::int64_t backoff_ms(const QueueConfig& config, std::int64_t attempt, double jitter);

// The delay before a retried item that has had `attempts` attempts goes back: `delay_ms` when
// given, else the backoff scaled by `jitter`. Nullopt when it has used its attempts: it goes to
// the dead letters, with kRetriedAfterLastAttempt as the reason.
std::optional<std::int64_t> retry_delay_ms(const QueueConfig& config, std::int64_t attempts,
                                           std::optional<std::int64_t> delay_ms, double jitter);
inline constexpr std::string_view kRetriedAfterLastAttempt = "retried after its last attempt";
// The reason recorded for an item whose lease ran out on its last attempt.
inline constexpr std::string_view kLeaseExpiredOnLastAttempt = "lease expired on its last attempt";

// Throws Error(not_found) naming the queue.
[[noreturn]] void throw_unknown_queue(std::string_view queue);

}  // namespace strata::detail
