// What every room of a PostgreSQL connection shares: the connection, the store's statements
// qualified for it, whether a transaction is open, and the ways to run statements atomically.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/statement.h"
#include "postgres/pq/pq.h"

namespace strata::detail {

class QueueUpkeep;

// Larger batches go by COPY: two more round trips, but the fastest way rows reach the server.
inline constexpr std::size_t kMaxRowsPerStatement = 64;
inline constexpr std::string_view kUniqueViolation = "23505";

// `sql` with each "{schema}" replaced by `quoted_schema`.
std::string with_schema(std::string_view sql, const std::string& quoted_schema);
// An advisory lock's key: a stable hash (e.g. of a stream's name), as the signed bigint
// PostgreSQL takes.
std::string advisory_lock_key(std::uint64_t hash);

// Waits for the transaction-scoped advisory lock $1 (advisory_lock_key).
inline constexpr Statement kTakeAdvisoryLock{"SELECT pg_advisory_xact_lock($1::bigint)"};

// Appends rely on each statement seeing what committed before it, whatever the server's default.
inline constexpr std::string_view kBeginSql = "BEGIN ISOLATION LEVEL READ COMMITTED";
inline constexpr Statement kBegin{kBeginSql};
inline constexpr Statement kCommit{"COMMIT"};
inline constexpr Statement kSavepoint{"SAVEPOINT strata_atomic"};
inline constexpr Statement kReleaseSavepoint{"RELEASE SAVEPOINT strata_atomic"};

// Appenders' locks (see docs/ordering.md): advisory locks of two keys whose first is
// kAppenderLockClass, which readers of the all-events order look up in pg_locks. A transaction
// that may append takes one before it gets a transaction id and keeps it until it has ended.
inline constexpr std::string_view kAppenderLockClass = "1398035009";  // "STRA"
// The lock of the stream whose stream_lock_key is $1, taken exclusively: by its appends, deletes
// and truncations.
inline constexpr Statement kTakeStreamLock{"SELECT pg_advisory_xact_lock(", kAppenderLockClass,
                                           ", $1::int)"};
// A stream's key for kTakeStreamLock: never 0, which is kBeginAppender's.
std::string stream_lock_key(std::uint64_t stream_hash);
// Opens a caller's transaction, marked as an appender's (shared, so that none waits for another):
// any statement of it may append.
inline constexpr Statement kBeginAppender{kBeginSql, "; SELECT pg_advisory_xact_lock_shared(",
                                          kAppenderLockClass, ", 0)"};

// Search words (search_terms) as plainto_tsquery reads them: side by side, all to match.
inline std::string tsquery_text(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

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

  // `statement`'s text, qualified with the store's schema once per connection.
  const std::string& sql(const Statement& statement);
  pq::Result query(const Statement& statement, const pq::Params& params) {
    return connection.query(sql(statement), params);
  }
  pq::Command command(const Statement& statement, const pq::Params& params) {
    return pq::Command{sql(statement), params};
  }

  // What opens and what ends an atomic call: a transaction of its own, or a savepoint inside the
  // caller's.
  const Statement& atomic_start() const { return in_transaction ? kSavepoint : kBegin; }
  const Statement& atomic_end() const { return in_transaction ? kReleaseSavepoint : kCommit; }

  // Runs `body` atomically (see atomic_start).
  template <class Fn>
  std::invoke_result_t<Fn&> atomically(Fn&& body) {
    connection.exec(sql(atomic_start()));
    try {
      auto result = body();
      connection.exec(sql(atomic_end()));
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

 private:
  StatementTexts qualified_;
};

}  // namespace strata::detail
