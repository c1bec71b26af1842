// The one internal interface every backend implements: a Backend hands out Sessions, and a
// Session hands out one room per primitive. Core code (validation, idempotency, retries) calls
// them; backends hold only what truly differs: SQL, round trips, pooling.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "core/metrics.h"
#include "core/migration.h"
#include "core/ops/consumers.h"
#include "core/ops/event_indexes.h"
#include "core/ops/events.h"
#include "core/ops/kv.h"
#include "core/ops/locks.h"
#include "core/ops/queue.h"
#include "core/ops/snapshots.h"
#include "core/ops/stats.h"
#include "core/ops/streams.h"
#include "core/ops/workflows.h"
#include "core/pool.h"

namespace strata::detail {

// One connection's primitives. A backend builds one Session per connection, its rooms sharing
// that connection's state, and lends it to one call (or one transaction) at a time.
class Session {
 public:
  struct Rooms {
    std::unique_ptr<EventOps> events;
    std::unique_ptr<StreamOps> streams;
    std::unique_ptr<KvOps> kv;
    std::unique_ptr<QueueOps> queues;
    std::unique_ptr<WorkflowOps> workflows;
    std::unique_ptr<LockOps> locks;
    std::unique_ptr<SnapshotOps> snapshots;
    std::unique_ptr<ConsumerOps> consumers;
    std::unique_ptr<StatsOps> stats;
    std::unique_ptr<EventIndexOps> indexes;
  };

  explicit Session(Rooms rooms) : rooms_(std::move(rooms)) {}

  EventOps& events() const { return *rooms_.events; }
  StreamOps& streams() const { return *rooms_.streams; }
  KvOps& kv() const { return *rooms_.kv; }
  QueueOps& queues() const { return *rooms_.queues; }
  WorkflowOps& workflows() const { return *rooms_.workflows; }
  LockOps& locks() const { return *rooms_.locks; }
  SnapshotOps& snapshots() const { return *rooms_.snapshots; }
  ConsumerOps& consumers() const { return *rooms_.consumers; }
  StatsOps& stats() const { return *rooms_.stats; }
  EventIndexOps& indexes() const { return *rooms_.indexes; }

 private:
  Rooms rooms_;
};

using SessionFn = std::function<void(Session&)>;

// Whether a call outside a transaction may write. A writing call takes the writer's turn
// (SQLite), and a connection lost while it runs leaves its outcome unknown; a reading call's
// statements may not write (SQLite refuses every one it prepares that would).
enum class Access { read, write };

// A database: its pool, migrations and sessions. Thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  // The Store's metrics, recorded by the core and read by Store::metrics().
  Metrics& metrics() { return metrics_; }
  virtual PoolStats pool_stats() = 0;

  virtual std::string_view name() const = 0;
  // Applies this build's pending migrations, each once (core checks a newer schema first).
  virtual void migrate() = 0;
  virtual SchemaState schema_state() = 0;
  // Runs `fn` on a pooled session outside any transaction.
  virtual void run(Access access, const SessionFn& fn) = 0;
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
