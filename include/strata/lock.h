// Locks: named leases with fencing tokens, shared by every process and machine on the Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "strata/error.h"
#include "strata/event.h"
#include "strata/export.h"
#include "strata/limits.h"
#include "strata/scope.h"

namespace strata {

inline constexpr std::size_t kMaxLockKeyBytes = 256;
inline constexpr std::size_t kMaxLockHolderBytes = 256;

// A lock as held: by whom, with which fencing token, until when.
struct Lock {
  std::string key;
  std::string holder;
  // Strictly increases with every acquisition of `key`, for as long as the Store lives: pass it
  // to whatever the lock guards so that it can refuse a holder whose lock has lapsed.
  std::int64_t token = 0;
  Timestamp expires_at = 0;  // On the database's clock (PostgreSQL) or this machine's (SQLite).

  friend bool operator==(const Lock&, const Lock&) = default;
};

// A handle on the Store's locks, from Store::locks(). Locks are rows, not sessions: they hold
// through a pool, across processes and machines, and behind PgBouncer in transaction mode, and
// they lapse at their expiry whatever happens to their holder. Keys are 1..kMaxLockKeyBytes and
// holders 1..kMaxLockHolderBytes of UTF-8 without control characters (invalid_argument
// otherwise); a TTL is 1 ms to kMaxDuration, a wait 0 to kMaxDuration. Thread-safe.
class STRATA_EXPORT Locks {
 public:
  // Takes `key` for `holder` for `ttl` when nobody holds it (or the last holder's lock lapsed),
  // with a new fencing token. Returns nullopt, at once, when it is held, even by `holder`.
  std::optional<Lock> try_acquire(std::string_view key, std::string_view holder,
                                  std::chrono::milliseconds ttl) const;
  // As try_acquire, but waits up to `wait` for the lock to come free (polling, at most 200 ms
  // apart). Returns nullopt when it is still held then.
  std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                              std::chrono::milliseconds ttl, std::chrono::milliseconds wait) const;
  // Makes the lock holding `token` last `ttl` from now. Throws LeaseLost when it no longer holds.
  Lock extend(std::string_view key, std::int64_t token, std::chrono::milliseconds ttl) const;
  // Frees the lock if `token` still holds it; returns whether it did.
  bool release(std::string_view key, std::int64_t token) const;
  // The lock on `key` as held now, or nullopt when it is free.
  std::optional<Lock> status(std::string_view key) const;

 private:
  friend class Store;
  friend class Consumer;
  explicit Locks(detail::Scope scope) : scope_(std::move(scope)) {}
  detail::Scope scope_;
};

// Leader election over one lock: among the candidates campaigning for `name`, one leads at a
// time. Call campaign() well within each term (a third of it, say): the leader renews its term,
// the others take over once it lapses. Not thread-safe: one object per candidate.
class STRATA_EXPORT LeaderElection {
 public:
  // `candidate` names this process (e.g. host and pid); `term` is how long a leadership lasts
  // unless renewed. Throws invalid_argument for a bad name, candidate or term.
  LeaderElection(Locks locks, std::string name, std::string candidate,
                 std::chrono::milliseconds term);

  // Renews this candidate's term when it leads, or takes the lead when nobody holds it. Returns
  // whether this candidate leads now. When the database cannot be reached (unavailable, a
  // timeout, a lost connection) it throws nothing: it returns is_leader(), as leadership ends
  // when the last term that surely began does, and the next campaign tries again.
  bool campaign();
  // Whether this candidate led at its last campaign and that term has not run out (measured
  // from before the campaign was sent, so never longer than the Store's view).
  bool is_leader() const;
  // The current leadership's fencing token (the term number), when is_leader().
  std::optional<std::int64_t> term() const;
  // Steps down at once, if leading, so another candidate may take over.
  void resign();
  // Who leads `name` now, by the Store; nullopt when nobody does.
  std::optional<Lock> leader() const;

 private:
  Locks locks_;
  std::string name_;
  std::string candidate_;
  std::chrono::milliseconds term_;
  std::optional<Lock> held_;
  std::chrono::steady_clock::time_point held_until_;
};

}  // namespace strata
