// The one internal interface every backend implements. Core code (validation, idempotency,
// retries) calls it; backends hold only what truly differs: SQL, round trips, pooling.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lease_token.h"
#include "core/metrics.h"
#include "core/pool.h"
#include "strata/event.h"
#include "strata/kv.h"
#include "strata/lock.h"
#include "strata/queue.h"
#include "strata/snapshot.h"
#include "strata/workflow.h"

namespace strata::detail {

// An event ready to store: validated, with its id and time fixed. Its text is viewed, not
// copied, from the caller's EventData, which outlives the append.
struct PendingEvent {
  std::string id;  // Canonical lower-case UUID.
  std::string_view type;
  std::string_view data;
  std::optional<std::string_view> metadata;
  Timestamp created_at = 0;
};

struct AppendBatch {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::any();
  std::vector<PendingEvent> events;  // Never empty.
  std::uint64_t stream_key = 0;      // stable_hash64(stream): the stream's lock key.
};

// What one attempt to append did. Only `appended` wrote anything.
struct AppendAttempt {
  enum class Outcome {
    appended,          // `result` holds the new version and position.
    version_mismatch,  // `expected` does not hold for `current_version`.
    duplicate_id,      // An event id is already stored (possibly an idempotent retry).
    order_conflict,    // A later transaction already appended to the stream (PostgreSQL only).
    stream_deleted,    // The stream is tombstoned.
  };
  Outcome outcome = Outcome::appended;
  AppendResult result;
  std::int64_t current_version = 0;  // The stream's version before the attempt.
};

// A validated write of one key. Text is viewed from the caller's KvPut.
struct KvWrite {
  enum class Condition { none, absent, version };
  std::string_view key;
  std::string_view value;
  std::optional<std::int64_t> ttl_micros;
  std::optional<std::string_view> metadata;
  Condition condition = Condition::none;
  std::int64_t if_version = 0;
  bool value_is_json = false;  // Valid JSON that PostgreSQL's jsonb can hold: queries see it.
};

// What a conditional write or delete did: `done` with the key's new version (0 after a delete),
// or refused with its current version (0 when absent or expired).
struct KvOutcome {
  bool done = false;
  std::int64_t version = 0;
};

// Live keys from `from` (inclusive) up to `to` (exclusive; unbounded when absent).
struct KeyRange {
  std::string from;
  std::optional<std::string> to;
};

// A validated item to produce; text viewed from the caller's QueueMessage.
struct PendingMessage {
  std::string_view payload;
  std::optional<std::string_view> headers;
  int priority = 0;
  std::int64_t delay_ms = 0;
  std::optional<std::int64_t> expires_in_ms;  // Absent: the queue's expire_after, if any.
  std::optional<std::string_view> dedup_key;
};

// Locks kept as rows, timed on the database's clock (PostgreSQL) or the process's (SQLite).
class LockOps {
 public:
  virtual ~LockOps() = default;
  // Takes `key` when free or lapsed, with the key's next token; nullopt when held.
  virtual std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                                      std::int64_t ttl_ms) = 0;
  // The lock with its new expiry, or nullopt when `token` no longer holds it.
  virtual std::optional<Lock> extend(std::string_view key, std::int64_t token,
                                     std::int64_t ttl_ms) = 0;
  virtual bool release(std::string_view key, std::int64_t token) = 0;
  virtual std::optional<Lock> status(std::string_view key) = 0;
};

// Which snapshots a prune deletes: those beyond the newest `keep_last` of their stream, and
// those older than `max_age_ms`.
struct PruneRule {
  std::optional<std::int64_t> keep_last;
  std::optional<std::int64_t> max_age_ms;
};

class SnapshotOps {
 public:
  virtual ~SnapshotOps() = default;
  virtual Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) = 0;
  // The newest snapshot at or below `version`.
  virtual std::optional<Snapshot> load(std::string_view stream, std::int64_t version) = 0;
  virtual std::vector<Snapshot> list(std::string_view stream) = 0;
  // Applies `rule` to one stream, or to all when `stream` is absent; returns how many went.
  virtual std::size_t prune(std::optional<std::string_view> stream, const PruneRule& rule) = 0;
};

// Stream lifecycle: what deletes and retention remove. A stream's version goes on from its
// highest removed version, whatever is left.
class StreamOps {
 public:
  virtual ~StreamOps() = default;
  // Removes the stream's events below `before` (every event for INT64_MAX) and, with
  // `tombstone`, marks it deleted. Returns how many went; nullopt, changing nothing, when the
  // stream is tombstoned and `tombstone` is false.
  virtual std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                            bool tombstone) = 0;
  virtual void set_settings(std::string_view stream, const StreamSettings& settings) = 0;
  virtual StreamSettings settings(std::string_view stream) = 0;
  // Removes every event that its stream's settings hide from reads; returns how many.
  virtual std::size_t enforce_retention() = 0;
};

// Durable consumers' checkpoints, one per consumer name and group member.
class ConsumerOps {
 public:
  virtual ~ConsumerOps() = default;
  // The stored checkpoint, or nullopt when the member never advanced.
  virtual std::optional<Position> checkpoint(std::string_view name, std::int64_t member) = 0;
  // Moves the checkpoint to `to` if it is at `from` (or absent); returns whether it moved.
  virtual bool advance(std::string_view name, std::int64_t member, Position from, Position to) = 0;
  virtual void reset(std::string_view name, std::int64_t member, Position to) = 0;
};

// One connection, inside or outside a transaction. Used by one thread at a time. Each
// primitive added since queues has an interface of its own, reached through an accessor.
class Session {
 public:
  virtual ~Session() = default;

  virtual LockOps& locks() = 0;
  virtual SnapshotOps& snapshots() = 0;
  virtual StreamOps& streams() = 0;
  virtual ConsumerOps& consumers() = 0;

  // Appends atomically: inside a transaction under a savepoint, else in a transaction of its own.
  // A failed attempt leaves no trace and leaves an enclosing transaction usable.
  virtual AppendAttempt try_append(const AppendBatch& batch) = 0;
  // The stored events with any of these ids (canonical UUIDs), in any order.
  virtual std::vector<RecordedEvent> events_by_id(const std::vector<std::string>& ids) = 0;
  // Events of `stream` from version `from` (inclusive) in `direction`.
  virtual std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                                 Direction direction, std::size_t limit) = 0;
  virtual std::vector<RecordedEvent> read_all(const AllReadOptions& options) = 0;
  virtual StreamInfo stream_info(std::string_view stream) = 0;

  // Key-value state. Every call sees only live keys; writes are atomic (a savepoint inside a
  // transaction); "now" for expiry is the database's clock (PostgreSQL) or the process's (SQLite).
  virtual std::optional<KvEntry> kv_get(std::string_view ns, std::string_view key) = 0;
  virtual KvOutcome kv_put(std::string_view ns, const KvWrite& write) = 0;
  // Unconditional writes of distinct keys, in one round trip; the new versions in order.
  virtual std::vector<std::int64_t> kv_put_many(std::string_view ns,
                                                const std::vector<KvWrite>& writes) = 0;
  // Deletes the key (only at `if_version` when given, and only if live then). Returns done when
  // a live key was deleted.
  virtual KvOutcome kv_erase(std::string_view ns, std::string_view key,
                             std::optional<std::int64_t> if_version) = 0;
  // Deletes these keys; returns how many of them were live.
  virtual std::size_t kv_erase_many(std::string_view ns, const std::vector<std::string>& keys) = 0;
  virtual std::size_t kv_count(std::string_view ns, const KeyRange& range) = 0;
  virtual std::vector<KvEntry> kv_scan(std::string_view ns, const KeyRange& range,
                                       std::size_t limit) = 0;
  virtual void kv_clear(std::string_view ns) = 0;
  virtual std::vector<KvEntry> kv_find(std::string_view ns, JsonField field,
                                       std::string_view pattern, const KeyRange& range,
                                       std::size_t limit) = 0;
  // Entries whose JSON value's strings hold every one of `words` (non-empty, lower-case).
  virtual std::vector<KvEntry> kv_search(std::string_view ns, const std::vector<std::string>& words,
                                         const KeyRange& range, std::size_t limit) = 0;
  // Deletes at most `limit` expired keys; returns how many.
  virtual std::size_t kv_purge_expired(std::string_view ns, std::size_t limit) = 0;
  virtual KvCheckpoint kv_checkpoint_create(std::string_view ns) = 0;
  virtual std::vector<KvCheckpoint> kv_checkpoint_list(std::string_view ns) = 0;
  // False when the namespace has no checkpoint `id`.
  virtual bool kv_checkpoint_restore(std::string_view ns, std::int64_t id) = 0;
  virtual bool kv_checkpoint_delete(std::string_view ns, std::int64_t id) = 0;

  // Queues. Every call but queue_create throws Error(not_found) for an unknown queue. Token calls
  // return false (or count fewer) for tokens whose lease no longer holds. Durations are
  // milliseconds on the database's clock.
  virtual void queue_create(std::string_view queue, const QueueSettings& settings) = 0;
  virtual std::vector<Produced> queue_produce(std::string_view queue,
                                              const std::vector<PendingMessage>& messages) = 0;
  // Leases up to `max_items` under `lease` (see lease_token.h); the items' tokens are left empty.
  virtual std::vector<LeasedMessage> queue_lease(std::string_view queue, std::size_t max_items,
                                                 std::optional<std::int64_t> lease_ms,
                                                 std::string_view lease) = 0;
  virtual bool queue_extend(std::string_view queue, const LeaseToken& token,
                            std::optional<std::int64_t> lease_ms) = 0;
  virtual std::size_t queue_complete(std::string_view queue,
                                     const std::vector<LeaseToken>& tokens) = 0;
  // Without `delay_ms`, the queue's backoff scaled by `jitter` (0.5 to 1).
  virtual bool queue_retry(std::string_view queue, const LeaseToken& token,
                           std::optional<std::int64_t> delay_ms, double jitter) = 0;
  virtual bool queue_fail(std::string_view queue, const LeaseToken& token,
                          std::string_view reason) = 0;
  virtual QueueStats queue_stats(std::string_view queue) = 0;
  // Every queue created, by name.
  virtual std::vector<std::string> queue_names() = 0;
  virtual void queue_set_paused(std::string_view queue, bool paused) = 0;
  virtual std::size_t queue_purge(std::string_view queue) = 0;
  virtual std::vector<DeadLetter> queue_dead_letters(std::string_view queue, std::int64_t after_id,
                                                     std::size_t limit) = 0;
  // Requeues these dead letters, or all when absent.
  virtual std::size_t queue_requeue(std::string_view queue,
                                    const std::optional<std::vector<std::int64_t>>& ids) = 0;
  virtual std::size_t queue_purge_dead(std::string_view queue) = 0;

  // Workflow checkpoints: numbered states of one workflow.
  virtual WorkflowCheckpoint workflow_save(std::string_view workflow, std::string_view state) = 0;
  // The checkpoint at `version`, or the latest when absent.
  virtual std::optional<WorkflowCheckpoint> workflow_get(std::string_view workflow,
                                                         std::optional<std::int64_t> version) = 0;
  virtual std::vector<WorkflowCheckpoint> workflow_list(std::string_view workflow) = 0;
  // Deletes one version, or every version when absent; returns how many.
  virtual std::size_t workflow_delete(std::string_view workflow,
                                      std::optional<std::int64_t> version) = 0;
  // Deletes all but the newest `keep` versions; returns how many.
  virtual std::size_t workflow_prune(std::string_view workflow, std::size_t keep) = 0;
};

using SessionFn = std::function<void(Session&)>;

// A database: its pool, migrations and sessions. Thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  // The Store's metrics, recorded by the core and read by Store::metrics().
  Metrics& metrics() { return metrics_; }
  virtual PoolStats pool_stats() = 0;
  // The version the last migration this build knows leads to.
  virtual int latest_schema_version() const = 0;

  virtual std::string_view name() const = 0;
  virtual void migrate() = 0;
  virtual int schema_version() = 0;
  // Runs `fn` on a pooled session outside any transaction.
  virtual void run(const SessionFn& fn) = 0;
  // Runs `fn` inside a transaction: commits when it returns, rolls back when it throws.
  virtual void run_transaction(const SessionFn& fn) = 0;
  // Returns when work may have arrived for a queue (items produced in this process, or on
  // PostgreSQL a notification from any), or at `until`; spurious returns are allowed.
  virtual void wait_for_work(std::chrono::steady_clock::time_point until) = 0;
  // Returns when events may have been appended (in this process, or on PostgreSQL by any), or
  // at `until`; spurious returns are allowed.
  virtual void wait_for_events(std::chrono::steady_clock::time_point until) = 0;

 private:
  Metrics metrics_;
};

}  // namespace strata::detail
