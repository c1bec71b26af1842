// What every part of a PostgreSQL session shares: the connection, the SQL, whether a
// transaction is open, whether anything was written, and the ways to run statements atomically.
#pragma once

#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "postgres/pg_sql.h"
#include "postgres/pq/pq.h"

namespace strata::detail {

// The NOTIFY channels of one store (its schema): one for queue items, one for events.
struct Channels {
  std::string queues;
  std::string events;
};

struct PgContext {
  pq::Connection& connection;
  const PgSql& sql;
  const bool in_transaction;
  // Set before a write is sent: a lost connection then means an unknown outcome.
  bool wrote = false;

  // Runs `body` atomically: in a transaction of its own, or under a savepoint inside the caller's.
  template <class Fn>
  std::invoke_result_t<Fn&> atomically(Fn&& body) {
    connection.exec(in_transaction ? sql.atomic_savepoint : sql.begin);
    try {
      auto result = body();
      connection.exec(in_transaction ? sql.atomic_release : sql.commit);
      return result;
    } catch (...) {
      roll_back_quietly(sql.atomic_rollback);
      throw;
    }
  }

  // Runs `commands` atomically in one round trip: in the pipeline's implicit transaction, or
  // under a savepoint inside the caller's, rolled back to when one fails. Returns their results.
  std::vector<pq::Result> atomic_pipeline(std::span<const pq::Command> commands);

  // Leaves no trace of a failed call: inside the caller's transaction, runs `to_savepoint` (the
  // call's ROLLBACK TO SAVEPOINT); else rolls back the call's own transaction. Never throws.
  void roll_back_quietly(const std::string& to_savepoint) noexcept;
};

}  // namespace strata::detail
