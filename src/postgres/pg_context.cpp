#include "postgres/pg_context.h"

namespace strata::detail {

const Statement kTakeAdvisoryLock{"SELECT pg_advisory_xact_lock($1::bigint)"};

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string with_schema(std::string_view sql, const std::string& quoted_schema) {
  constexpr std::string_view kPlaceholder = "{schema}";
  std::string out;
  out.reserve(sql.size() + 64);
  std::size_t from = 0;
  for (auto at = sql.find(kPlaceholder); at != std::string_view::npos;
       at = sql.find(kPlaceholder, from)) {
    out.append(sql.substr(from, at - from)).append(quoted_schema);
    from = at + kPlaceholder.size();
  }
  return out.append(sql.substr(from));
}

std::string advisory_lock_key(std::uint64_t hash) {
  return std::to_string(static_cast<std::int64_t>(hash));
}

const std::string& PgContext::sql(const Statement& statement) {
  auto [entry, added] = qualified_.try_emplace(&statement);
  if (added) entry->second = with_schema(statement.text(), store.quoted_schema);
  return entry->second;
}

std::vector<pq::Result> PgContext::atomic_pipeline(std::span<const pq::Command> commands) {
  if (!in_transaction) return connection.pipeline(commands);
  const pq::Params none;
  std::vector<pq::Command> wrapped = {pq::Command{kSavepoint, none}};
  for (const pq::Command& command : commands) wrapped.push_back(command);
  wrapped.push_back(pq::Command{kRelease, none});
  std::vector<pq::Result> results;
  try {
    results = connection.pipeline(wrapped);
  } catch (...) {
    roll_back_quietly();
    throw;
  }
  results.pop_back();
  results.erase(results.begin());
  return results;
}

void PgContext::roll_back_quietly() noexcept {
  if (connection.is_broken()) return;
  try {
    if (in_transaction) {
      connection.exec("ROLLBACK TO SAVEPOINT strata_atomic; RELEASE SAVEPOINT strata_atomic");
    } else if (connection.transaction_status() != PQTRANS_IDLE) {
      connection.exec("ROLLBACK");
    }
  } catch (const pq::PqError&) {
    // Broken now; the pool drops it.
  }
}

}  // namespace strata::detail
