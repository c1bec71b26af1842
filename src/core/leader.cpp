#include "core/reconnect.h"
#include "core/validate.h"
#include "strata/lock.h"

namespace strata {

LeaderElection::LeaderElection(Locks locks, std::string name, std::string candidate,
                               std::chrono::milliseconds term)
    : locks_(std::move(locks)),
      name_(std::move(name)),
      candidate_(std::move(candidate)),
      term_(term) {
  detail::validate_lock_key(name_);
  detail::validate_name("leader candidate", candidate_, kMaxLockHolderBytes);
  detail::validate_duration("leader term", term_);
}

bool LeaderElection::campaign() {
  // The term is counted from before the request: the Store's lock lasts at least that long.
  const auto sent = std::chrono::steady_clock::now();
  try {
    if (held_) {
      try {
        held_ = locks_.extend(name_, held_->token, term_);
      } catch (const LeaseLost&) {
        held_.reset();
      }
    }
    if (!held_) held_ = locks_.try_acquire(name_, candidate_, term_);
  } catch (const Error& error) {
    // Unreachable for now: still the leader until the last term that surely began runs out.
    if (!detail::is_transient(error)) throw;
    return is_leader();
  }
  held_until_ = sent + term_;
  return held_.has_value();
}

bool LeaderElection::is_leader() const {
  return held_ && std::chrono::steady_clock::now() < held_until_;
}

std::optional<std::int64_t> LeaderElection::term() const {
  if (!is_leader()) return std::nullopt;
  return held_->token;
}

void LeaderElection::resign() {
  if (!held_) return;
  const std::int64_t token = held_->token;
  held_.reset();
  locks_.release(name_, token);
}

std::optional<Lock> LeaderElection::leader() const {
  return locks_.status(name_);
}

}  // namespace strata
