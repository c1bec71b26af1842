#include "postgres/session_context.h"

namespace strata::detail {

std::vector<pq::Result> PgContext::atomic_pipeline(std::span<const pq::Command> commands) {
  if (!in_transaction) return connection.pipeline(commands);
  const pq::Params none;
  std::vector<pq::Command> wrapped = {pq::Command{sql.atomic_savepoint, none}};
  for (const pq::Command& command : commands) wrapped.push_back(command);
  wrapped.push_back(pq::Command{sql.atomic_release, none});
  std::vector<pq::Result> results;
  try {
    results = connection.pipeline(wrapped);
  } catch (...) {
    roll_back_quietly(sql.atomic_rollback);
    throw;
  }
  results.pop_back();
  results.erase(results.begin());
  return results;
}

void PgContext::roll_back_quietly(const std::string& to_savepoint) noexcept {
  if (connection.is_broken()) return;
  try {
    if (in_transaction) {
      connection.exec(to_savepoint);
    } else if (connection.transaction_status() != PQTRANS_IDLE) {
      connection.exec("ROLLBACK");
    }
  } catch (const pq::PqError&) {
    // Broken now; the pool drops it.
  }
}

}  // namespace strata::detail
