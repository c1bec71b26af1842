#include "postgres/pg_context.h"

namespace strata::detail {

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

std::string stream_lock_key(std::uint64_t stream_hash) {
  const auto key = static_cast<std::int32_t>(static_cast<std::uint32_t>(stream_hash));
  return std::to_string(key == 0 ? 1 : key);
}

const std::string& PgContext::sql(const Statement& statement) {
  return qualified_.of(
      statement, [&](const std::string& text) { return with_schema(text, store.quoted_schema); });
}

std::vector<pq::Result> PgContext::atomic_pipeline(std::span<const pq::Command> commands) {
  if (!in_transaction) return connection.pipeline(commands);
  const pq::Params none;
  std::vector<pq::Command> wrapped = {command(kSavepoint, none)};
  for (const pq::Command& each : commands) wrapped.push_back(each);
  wrapped.push_back(command(kReleaseSavepoint, none));
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
  if (!in_transaction) return connection.roll_back();
  if (connection.is_broken()) return;
  try {
    connection.exec("ROLLBACK TO SAVEPOINT strata_atomic; RELEASE SAVEPOINT strata_atomic");
  } catch (const pq::PqError&) {
    // Broken now; the pool drops it.
  }
}

}  // namespace strata::detail
