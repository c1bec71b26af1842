// Store: the entry point. Opens a database from a URL and hands out the primitives.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "strata/events.h"
#include "strata/export.h"
#include "strata/kv.h"
#include "strata/lock.h"
#include "strata/queue.h"
#include "strata/scope.h"
#include "strata/snapshot.h"
#include "strata/stats.h"
#include "strata/subscription.h"
#include "strata/workflow.h"

namespace strata {

// What Store::health() found.
struct Health {
  // The database answered, and its schema is the one this build expects, or a newer one that
  // this build can still use (its newer migrations do not break older builds).
  bool ok = false;
  std::string backend;
  int schema_version = 0;           // As applied in the database.
  int expected_schema_version = 0;  // As this build's migrations lead to.
  double latency_ms = 0;            // One round trip to the database.
  std::string error;                // Why it is not ok; empty when it is.
};

struct OpenOptions {
  // Apply pending migrations when opening (safe when many processes open at once). Default: true.
  bool migrate = true;
  // Refuse a SQLite file that does not exist (unavailable) instead of creating it, as a check
  // of a store must. Default: false.
  bool must_exist = false;
};

// One transaction's view of the Store: every handle it gives out works on the transaction's
// connection, so all their writes commit or roll back together. Used only inside
// Store::transaction, from the thread that runs it.
class Transaction {
 public:
  Events events() const { return Events(scope_); }
  // The key-value namespace `name`. Throws invalid_argument for a bad name.
  KeyValue kv(std::string_view name) const { return KeyValue(scope_, std::string(name)); }
  Workflows workflows() const { return Workflows(scope_); }
  Queue queue(std::string_view name) const { return Queue(scope_, std::string(name)); }
  Snapshots snapshots() const { return Snapshots(scope_); }

 private:
  friend class Store;
  friend class Consumer;
  explicit Transaction(detail::Scope scope) : scope_(std::move(scope)) {}
  detail::Scope scope_;
};

// A durable store on SQLite or PostgreSQL. Thread-safe: share one Store between threads; it
// pools its connections. Movable, not copyable; closing it closes the pool.
class STRATA_EXPORT Store {
 public:
  // Opens the store at `url`:
  //   sqlite:PATH, sqlite::memory:        (params: max_connections, busy_timeout, synchronous)
  //   postgres://… or postgresql://…     (libpq's URI; plus max_connections, min_connections,
  //                                        acquire_timeout, statement_timeout, schema)
  // Throws invalid_argument naming a malformed URL, unknown scheme or unknown parameter;
  // unavailable when the database cannot be reached. Messages never contain the password.
  static Store open(std::string_view url, const OpenOptions& options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // The event streams; each call runs as its own atomic unit of work.
  Events events() const { return Events(detail::Scope{backend_}); }

  // The key-value namespace `name`: each call runs as its own atomic unit of work. Throws
  // invalid_argument for a bad name.
  KeyValue kv(std::string_view name) const {
    return KeyValue(detail::Scope{backend_}, std::string(name));
  }

  // The work queue `name` (create it with Queue::create); each call runs as its own atomic unit
  // of work. Throws invalid_argument for a bad name.
  Queue queue(std::string_view name) const {
    return Queue(detail::Scope{backend_}, std::string(name));
  }

  // Workflow checkpoints; each call runs as its own atomic unit of work.
  Workflows workflows() const { return Workflows(detail::Scope{backend_}); }

  // Snapshots of streams' state; each call runs as its own atomic unit of work.
  Snapshots snapshots() const { return Snapshots(detail::Scope{backend_}); }

  // A feed of the events after `options.after` that catches up, then follows new appends (see
  // subscription.h). Throws invalid_argument for a bad filter, or a position this Store did not
  // hand out (beyond its head, or another Store's).
  Subscription subscribe(const SubscriptionOptions& options = {}) const {
    return Subscription(detail::Scope{backend_}, options);
  }

  // The durable consumer `name` (one member of its group, see ConsumerOptions). Throws
  // invalid_argument for a bad name, filter, member or lease.
  Consumer consumer(std::string_view name, const ConsumerOptions& options = {}) const;

  // Locks and, over them, leader election (see lock.h); each call is its own unit of work.
  Locks locks() const { return Locks(detail::Scope{backend_}); }

  // Runs `fn(Transaction&)` atomically on one connection: commits when it returns, rolls back
  // and rethrows when it throws. Returns what `fn` returns. A commit whose outcome is unknown
  // (connection lost) throws unknown_outcome; it is never retried. Inside `fn`, work through the
  // Transaction's handles (valid only until `fn` returns): the Store's own handles take another
  // connection, outside the transaction (on sqlite::memory:, which has one, they time out).
  template <class Fn>
  std::invoke_result_t<Fn&, Transaction&> transaction(Fn&& fn) const {
    using Result = std::invoke_result_t<Fn&, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run_transaction([&](Transaction& tx) { fn(tx); });
    } else {
      std::optional<Result> result;
      run_transaction([&](Transaction& tx) { result.emplace(fn(tx)); });
      return std::move(*result);
    }
  }

  // Applies pending migrations, each once, in its own transaction. Safe to call concurrently
  // from many processes; a no-op when up to date, or when a newer build migrated the database
  // further in a way this build can use. Throws Error(incompatible_schema), naming both
  // versions, when a newer build's migration breaks this one (Store::open migrates, so it too).
  void migrate() const;

  // The highest migration applied (0 for an empty database).
  int schema_version() const;

  // "sqlite" or "postgres".
  std::string_view backend_name() const;

  // This Store's metrics in Prometheus text format (0.0.4): calls by operation and backend,
  // their latency and errors by code; the pool (in use, idle, waiting, acquire wait); lock
  // contention; queue depth by state and items produced, leased and completed; durable
  // consumers' progress and lag; and what stats() counts. Counters cover this process since
  // open; the pool, queue depth and the store's counts are read now. Throws what stats() throws.
  std::string metrics() const;

  // What the store holds and its size on disk, counted now (a scan of the events' indexes).
  // Throws unavailable, timeout.
  StoreStats stats() const;

  // Checks the database: reachable, one round trip timed, schema up to date. Never throws.
  Health health() const;

 private:
  explicit Store(std::shared_ptr<detail::Backend> backend);
  void run_transaction(const std::function<void(Transaction&)>& body) const;

  std::shared_ptr<detail::Backend> backend_;
};

}  // namespace strata
