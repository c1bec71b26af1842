// What every part of a SQLite session shares: the connection, the Store's writer lock and
// whether a transaction is open.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "sqlite/db.h"
#include "strata/error.h"

namespace strata::detail {

// The Store's writer lock: waits up to busy_timeout, as SQLite itself would.
struct WriterLock {
  std::timed_mutex mutex;
  std::chrono::milliseconds timeout;

  std::unique_lock<std::timed_mutex> take() {
    std::unique_lock lock(mutex, std::defer_lock);
    if (!lock.try_lock_for(timeout)) {
      throw Error(ErrorCode::timeout,
                  "another writer of this store held the sqlite database for "
                  "longer than busy_timeout (" +
                      std::to_string(timeout.count()) + " ms)");
    }
    return lock;
  }
};

// A transaction of its own, or a savepoint inside the caller's. Rolls back unless committed.
class AtomicScope {
 public:
  AtomicScope(sqlite::Database& db, bool nested) : db_(db), nested_(nested) {
    db_.exec(nested_ ? "SAVEPOINT strata_atomic" : "BEGIN IMMEDIATE");
  }
  AtomicScope(const AtomicScope&) = delete;
  AtomicScope& operator=(const AtomicScope&) = delete;
  ~AtomicScope() {
    if (open_) rollback();
  }
  void commit() {
    db_.exec(nested_ ? "RELEASE strata_atomic" : "COMMIT");
    open_ = false;
  }
  void rollback() noexcept {
    open_ = false;
    try {
      db_.exec(nested_ ? "ROLLBACK TO strata_atomic; RELEASE strata_atomic" : "ROLLBACK");
    } catch (const sqlite::SqliteError&) {
      // Nothing more to undo: SQLite already rolled the transaction back.
    }
  }

 private:
  sqlite::Database& db_;
  bool nested_;
  bool open_ = true;
};

struct SqliteContext {
  sqlite::Database& db;
  WriterLock* writer;  // Null inside a transaction, which holds it throughout.

  bool in_transaction() const { return writer == nullptr; }

  // One writer at a time in this process, in the order they come: SQLite's own busy handler
  // polls with sleeps, so a writer that loops can starve the others until busy_timeout. Other
  // processes still wait through busy_timeout.
  std::unique_lock<std::timed_mutex> writer_turn() const {
    return writer != nullptr ? writer->take() : std::unique_lock<std::timed_mutex>();
  }
};

}  // namespace strata::detail
