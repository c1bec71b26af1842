// Subscriptions: feeds of events that catch up on what is stored, then follow what is appended;
// and durable consumers, which keep their checkpoint in the Store and move it in the same
// transaction as their handler's writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/event.h"
#include "strata/export.h"
#include "strata/limits.h"
#include "strata/scope.h"

namespace strata {

class Transaction;

// What a subscription follows, and from where.
struct SubscriptionOptions {
  Position after = Position::start();   // Deliver the events strictly after this position.
  std::optional<std::string> category;  // Only the streams of this category,
  std::optional<std::string> stream;    // or only this stream; every event when both are absent.
  EventFilter filter;                   // Only the events that pass it.
  std::size_t batch = 500;              // The most events one poll returns.
};

// A catch-up-then-live feed of events, from Store::subscribe(). The Store keeps no state for it:
// remember position() to resume. Not thread-safe: use one from one thread at a time.
class STRATA_EXPORT Subscription {
 public:
  // The next events after the last one returned, in the all-events order: first the backlog,
  // then new events as they are appended, with no gap or repeat between the two. When none is
  // there, waits up to `wait` for some (woken on PostgreSQL by LISTEN/NOTIFY on a dedicated
  // connection, on SQLite by appends in this process, and by polling otherwise); returns empty
  // when none came. A database that cannot be reached is asked again with backoff until `wait`
  // ends, and then nothing is returned: polling carries on when it is back. Throws what
  // Events::read_all throws otherwise.
  std::vector<RecordedEvent> poll(std::chrono::milliseconds wait = {});
  // The position of the last event returned (`after` before the first).
  Position position() const noexcept { return read_.after; }

 private:
  friend class Store;
  Subscription(detail::Scope scope, const SubscriptionOptions& options);
  detail::Scope scope_;
  AllReadOptions read_;
};

inline constexpr std::size_t kMaxConsumerNameBytes = 128;

// The member of a consumer group of `group_size` that handles `stream`: the 64-bit FNV-1a hash of
// the name's UTF-8 bytes, modulo `group_size`. Specified, so it never changes between versions,
// compilers or machines. Throws invalid_argument for a group size of 0.
STRATA_EXPORT std::size_t consumer_group_member(std::string_view stream, std::size_t group_size);

struct ConsumerOptions {
  std::optional<std::string> category;  // What it follows, as in SubscriptionOptions.
  std::optional<std::string> stream;
  EventFilter filter;
  std::size_t batch = 100;  // The most events one poll handles, in one transaction.
  // A consumer group: `group_size` members, each a Consumer of the same name with its own
  // `member` (0 to group_size − 1), split the streams by consumer_group_member(), so each stream
  // is handled by one member, in order. Each member keeps its own checkpoint; to change the size,
  // stop every member and reset them to a common position.
  std::size_t group_size = 1;
  std::size_t member = 0;
  // A member holds a lock while it polls, so that one process runs it at a time; when its
  // process stops polling for this long, a standby process takes over.
  std::chrono::milliseconds lease{std::chrono::seconds(30)};
};

// Handles one event inside the consumer's transaction: write through `tx` (key-value state,
// events, queue items) and the writes commit with the checkpoint.
using EventHandler = std::function<void(Transaction& tx, const RecordedEvent& event)>;

// A named, durable consumer, from Store::consumer(). Movable, not copyable; not thread-safe.
// Destroying it gives up its member lock.
class STRATA_EXPORT Consumer {
 public:
  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  ~Consumer();

  // Handles the next batch after the stored checkpoint, waiting up to `wait` for events when
  // there are none: calls `handler` for each event of this member's streams, in order, then
  // moves the checkpoint past the batch, all in one transaction, so each event takes effect
  // exactly once. Returns how many events the checkpoint moved past (the handler sees those of
  // this member's streams): 0 when none came, or when another process holds this member (this
  // one then waits as a standby). When the handler throws, nothing
  // of the batch is kept, the exception propagates and the same events come again. Throws
  // conflict, having applied nothing, when another process moved the checkpoint meanwhile.
  // When the database cannot be reached (unavailable, a timeout, a lost connection) it throws
  // nothing: it returns 0 after a pause (from 50 ms, doubling to 1 s while the database stays
  // away, and at most `wait` when that is longer than 50 ms), and the next poll carries on from
  // the stored checkpoint.
  std::size_t poll(const EventHandler& handler, std::chrono::milliseconds wait = {});
  // The stored checkpoint: the position of the last event handled (start() before any).
  Position checkpoint() const;
  // Moves the stored checkpoint, e.g. back to start() to rebuild a read model. Throws
  // invalid_argument for a position this Store did not hand out (beyond its head, or another's).
  void reset(Position position = Position::start());

 private:
  friend class Store;
  struct State;
  explicit Consumer(std::unique_ptr<State> state);
  bool hold_member_lock();
  // poll() without riding out an unreachable database.
  std::size_t handle_next_batch(const EventHandler& handler, std::chrono::milliseconds wait);
  std::unique_ptr<State> state_;
};

}  // namespace strata
