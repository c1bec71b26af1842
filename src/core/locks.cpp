#include "strata/lock.h"

#include <algorithm>
#include <thread>

#include "core/backend.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {
namespace {

constexpr std::chrono::milliseconds kFirstPause{10};
constexpr std::chrono::milliseconds kLongestPause{200};

std::int64_t validated_ttl(std::chrono::milliseconds ttl) {
  detail::validate_duration("lock ttl", ttl);
  return ttl.count();
}

}  // namespace

using detail::Call;
using detail::Session;

std::optional<Lock> Locks::try_acquire(std::string_view key, std::string_view holder,
                                       std::chrono::milliseconds ttl) const {
  detail::validate_lock_key(key);
  detail::validate_name("lock holder", holder, kMaxLockHolderBytes);
  const std::int64_t ttl_ms = validated_ttl(ttl);
  // Never sent again: a retry after a lost reply would find the lock held by the first attempt.
  auto lock = detail::run_on_session(
      scope_, "lock.try_acquire", Call::write,
      [&](Session& session) { return session.locks().acquire(key, holder, ttl_ms); });
  if (!lock) {
    scope_.backend->metrics().add("strata_lock_contention_total",
                                  {{"backend", scope_.backend->name()}});
  }
  return lock;
}

std::optional<Lock> Locks::acquire(std::string_view key, std::string_view holder,
                                   std::chrono::milliseconds ttl,
                                   std::chrono::milliseconds wait) const {
  detail::validate_duration("lock wait", wait, std::chrono::milliseconds(0));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = kFirstPause;
  while (true) {
    if (auto lock = try_acquire(key, holder, ttl)) return lock;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, kLongestPause);
  }
}

Lock Locks::extend(std::string_view key, std::int64_t token, std::chrono::milliseconds ttl) const {
  detail::validate_lock_key(key);
  const std::int64_t ttl_ms = validated_ttl(ttl);
  auto lock = detail::run_on_session(scope_, "lock.extend", Call::write, [&](Session& session) {
    return session.locks().extend(key, token, ttl_ms);
  });
  if (!lock) {
    throw LeaseLost("lock '" + std::string(key) + "' is no longer held with token " +
                    std::to_string(token));
  }
  return *lock;
}

bool Locks::release(std::string_view key, std::int64_t token) const {
  detail::validate_lock_key(key);
  return detail::run_on_session(scope_, "lock.release", Call::write, [&](Session& session) {
    return session.locks().release(key, token);
  });
}

std::optional<Lock> Locks::status(std::string_view key) const {
  detail::validate_lock_key(key);
  return detail::run_on_session(scope_, "lock.status", Call::read,
                                [&](Session& session) { return session.locks().status(key); });
}

}  // namespace strata
