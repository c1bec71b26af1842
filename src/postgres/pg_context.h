// What every room of a PostgreSQL connection shares: the connection, the store's statements
// qualified for it, whether a transaction is open, and the ways to run statements atomically.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "postgres/pq/pq.h"

namespace strata::detail {

class QueueUpkeep;

// One statement of the PostgreSQL backend. Its text says {schema} where the store's schema
// goes; a connection qualifies it once, on first use (PgContext::sql), and knows it by address
// from then on. Define each at namespace scope, beside the code that binds and reads it.
class Statement {
 public:
  explicit Statement(std::string text) : text_(std::move(text)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// `name` as a quoted SQL identifier ("name", with inner quotes doubled).
std::string quote_identifier(std::string_view name);
// `sql` with each "{schema}" replaced by `quoted_schema`.
std::string with_schema(std::string_view sql, const std::string& quoted_schema);
// An advisory lock's key: a stable hash (e.g. of a stream's name), as the signed bigint
// PostgreSQL takes.
std::string advisory_lock_key(std::uint64_t hash);

// Waits for the transaction-scoped advisory lock $1 (advisory_lock_key).
extern const Statement kTakeAdvisoryLock;

// What every connection of one store shares.
struct PgStore {
  std::string quoted_schema;
  std::string queue_channel;  // Where producers NOTIFY waiting leases.
  QueueUpkeep& upkeep;        // When leases sweep, and the queue table's VACUUM.
};

class PgContext {
 public:
  PgContext(pq::Connection& connection, const PgStore& store)
      : connection(connection), store(store) {}
  PgContext(const PgContext&) = delete;
  PgContext& operator=(const PgContext&) = delete;

  pq::Connection& connection;
  const PgStore& store;
  // Set by the backend for each call: whether it runs inside the caller's transaction.
  bool in_transaction = false;
  // Set by appends: subscribers are told once the call's transaction commits.
  bool appended = false;

  // `statement` qualified with the store's schema.
  const std::string& sql(const Statement& statement);
  pq::Result query(const Statement& statement, const pq::Params& params) {
    return connection.query(sql(statement), params);
  }
  pq::Command command(const Statement& statement, const pq::Params& params) {
    return pq::Command{sql(statement), params};
  }

  // Runs `body` atomically: in a transaction of its own, or under a savepoint inside the caller's.
  template <class Fn>
  std::invoke_result_t<Fn&> atomically(Fn&& body) {
    connection.exec(in_transaction ? kSavepoint : kBegin);
    try {
      auto result = body();
      connection.exec(in_transaction ? kRelease : kCommit);
      return result;
    } catch (...) {
      roll_back_quietly();
      throw;
    }
  }

  // Runs `commands` atomically in one round trip: in the pipeline's implicit transaction, or
  // under a savepoint inside the caller's, rolled back to when one fails. Returns their results.
  std::vector<pq::Result> atomic_pipeline(std::span<const pq::Command> commands);

  // Leaves no trace of a failed call: inside the caller's transaction, rolls back to the call's
  // savepoint; else rolls back the call's own transaction, if one is open. Never throws.
  void roll_back_quietly() noexcept;

  // Appends rely on each statement seeing what committed before it, whatever the server's default.
  static inline const std::string kBegin = "BEGIN ISOLATION LEVEL READ COMMITTED";
  static inline const std::string kCommit = "COMMIT";
  static inline const std::string kSavepoint = "SAVEPOINT strata_atomic";
  static inline const std::string kRelease = "RELEASE SAVEPOINT strata_atomic";

 private:
  std::unordered_map<const Statement*, std::string> qualified_;
};

}  // namespace strata::detail
