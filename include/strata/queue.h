// Queue: work items with leases, scheduling, priorities, dedup, retries and dead letters.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/error.h"
#include "strata/event.h"
#include "strata/export.h"
#include "strata/limits.h"
#include "strata/scope.h"

namespace strata {

inline constexpr std::size_t kMaxQueueNameBytes = 128;
inline constexpr std::size_t kMaxPayloadBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxDedupKeyBytes = 1024;     // UTF-8.
inline constexpr std::size_t kMaxFailReasonBytes = 65536;  // UTF-8.

// A queue's settings, fixed by Queue::create (and changed by calling it again). Each duration
// is from 1 ms to kMaxDuration.
struct QueueSettings {
  std::chrono::milliseconds lease{std::chrono::seconds(30)};  // Default lease length.
  int max_attempts = 5;  // Leases an item may have before it is dead.
  // Retry delay when none is given: base × 2^(attempt−1), capped, with jitter down to half.
  std::chrono::milliseconds retry_base{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_cap{std::chrono::minutes(5)};
  std::optional<std::chrono::milliseconds> expire_after;  // Items expire this long after produced.
  bool dead_letters = true;  // Off: dead items are dropped instead of kept.
};

// One item to produce: a delay from 0 and an expiry from 1 ms, both up to kMaxDuration.
struct QueueMessage {
  std::string payload;                                  // Bytes.
  std::optional<std::string> headers;                   // JSON text.
  int priority = 0;                                     // Higher first; then oldest first.
  std::chrono::milliseconds delay{0};                   // Not handed out before this has passed.
  std::optional<std::chrono::milliseconds> expires_in;  // Overrides the queue's expire_after.
  // While an item with this key is live (ready, scheduled or leased) in the queue, producing
  // another is a no-op that reports the existing item.
  std::optional<std::string> dedup_key;
};

struct Produced {
  std::int64_t id = 0;
  bool deduplicated = false;  // True: an existing live item with the same dedup key.
};

// An item handed out by lease(). Its token fences every later call about it.
struct LeasedMessage {
  std::int64_t id = 0;
  std::string payload;
  std::optional<std::string> headers;
  int priority = 0;
  int attempt = 0;  // 1 on the first lease.
  std::string token;
  Timestamp lease_expires_at = 0;
};

struct DeadLetter {
  std::int64_t id = 0;
  std::string payload;
  std::optional<std::string> headers;
  std::optional<std::string> dedup_key;
  int attempts = 0;
  std::string reason;
  std::string history;  // JSON array: one object per attempt's outcome.
  Timestamp failed_at = 0;
};

struct QueueStats {
  std::int64_t ready = 0;      // Due now (including items whose lease ran out).
  std::int64_t scheduled = 0;  // Due later.
  std::int64_t leased = 0;
  std::int64_t dead = 0;
  std::optional<double> oldest_ready_age_seconds;
  bool paused = false;
};

// A handle on one queue, from Store::queue() or Transaction::queue(); calls behave as Events'
// do (their own unit of work, or the transaction's). Every call but create() throws not_found
// for a queue never created.
class STRATA_EXPORT Queue {
 public:
  const std::string& name() const noexcept { return name_; }

  // Creates the queue, or updates its settings. Throws invalid_argument for bad settings.
  void create(const QueueSettings& settings = {}) const;

  // Adds items, all in one round trip and one transaction. Returns one Produced per item.
  std::vector<Produced> produce(const std::vector<QueueMessage>& messages) const;

  // Hands out up to `max_items` ready items (due, unexpired, queue not paused) by priority then
  // age, each held by this caller alone until its lease ends. Returns fewer (or none) when fewer
  // are ready. Items whose lease ran out come back (or move to the dead letters once their
  // attempts are used up) before a lease that would otherwise come back short, and within about
  // a second in any case; expired items are never handed out. With `wait`, when none is ready,
  // waits up to that long for one: woken by producers in this process and, on PostgreSQL, by
  // LISTEN/NOTIFY from any; polling otherwise. Inside a transaction it never waits. While it
  // waits, a database that cannot be reached is asked again with backoff until `wait` ends
  // (then none is returned); an item a lost call leased comes back when that lease runs out.
  std::vector<LeasedMessage> lease(std::size_t max_items = 1,
                                   std::optional<std::chrono::milliseconds> lease_for = {},
                                   std::chrono::milliseconds wait = {}) const;

  // Token calls throw Error(invalid_argument), writing nothing, for a string that is not a token
  // lease() made.

  // Lengthens a held lease from now. Throws LeaseLost for a stale token.
  void extend(std::string_view token,
              std::optional<std::chrono::milliseconds> lease_for = {}) const;
  // Finishes an item: it leaves the queue. Throws LeaseLost for a stale token.
  void complete(std::string_view token) const;
  // Finishes every item whose token still holds; returns how many.
  std::size_t complete(const std::vector<std::string>& tokens) const;
  // Gives the item back, due after `delay` (the queue's backoff when absent); an item whose
  // attempts are used up goes to the dead letters instead. Throws LeaseLost for a stale token.
  void retry(std::string_view token, std::optional<std::chrono::milliseconds> delay = {}) const;
  // Moves the item to the dead letters with `reason`. Throws LeaseLost for a stale token.
  void fail(std::string_view token, std::string_view reason) const;

  QueueStats stats() const;
  void pause() const;
  void resume() const;
  // Deletes every live item; returns how many.
  std::size_t purge() const;

  // Dead letters with ids above `after_id`, oldest first.
  std::vector<DeadLetter> dead_letters(std::int64_t after_id = 0, std::size_t limit = 100) const;
  // Makes these dead letters ready again (attempts from zero; id, dedup key and history kept).
  // One whose dedup key belongs to a live item stays dead. Returns how many were requeued.
  std::size_t requeue(const std::vector<std::int64_t>& ids) const;
  std::size_t requeue_all() const;
  std::size_t purge_dead() const;

 private:
  friend class Store;
  friend class Transaction;
  Queue(detail::Scope scope, std::string name);
  // Adds `items` to the queue's counter `metric`.
  void count(std::string_view metric, std::size_t items) const;

  detail::Scope scope_;
  std::string name_;
};

}  // namespace strata
