#include "postgres/pg_locks.h"

#include "postgres/session_context.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

// A row is held while it has a holder and its expiry is in the future. The token survives
// release and expiry, so the next acquisition's token is higher. Columns: holder, token, expiry.
constexpr std::string_view kReturning =
    " RETURNING holder, token, (extract(epoch FROM expires_at) * 1000000)::bigint";
constexpr std::string_view kExpiry =
    "statement_timestamp() + $3::bigint * interval '1 millisecond'";

std::optional<Lock> read_lock(std::string_view key, const Result& rows) {
  if (rows.rows() == 0) return std::nullopt;
  return Lock{std::string(key), rows.string(0, 0), rows.integer(0, 1), rows.integer(0, 2)};
}

}  // namespace

PgLockSql::PgLockSql(const std::string& quoted_schema) {
  auto qualify = [&](const std::string& sql) { return with_schema(sql, quoted_schema); };
  acquire = qualify(
      "INSERT INTO {schema}.locks AS l (key, holder, token, expires_at) "
      "VALUES ($1::text, $2::text, 1, " +
      std::string(kExpiry) +
      ") ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, token = l.token + 1, "
      "expires_at = excluded.expires_at "
      "WHERE l.holder IS NULL OR l.expires_at <= statement_timestamp()" +
      std::string(kReturning));
  extend = qualify("UPDATE {schema}.locks SET expires_at = " + std::string(kExpiry) +
                   " WHERE key = $1::text AND token = $2::bigint AND holder IS NOT NULL "
                   "AND expires_at > statement_timestamp()" +
                   std::string(kReturning));
  release = qualify(
      "UPDATE {schema}.locks SET holder = NULL, expires_at = NULL "
      "WHERE key = $1::text AND token = $2::bigint AND holder IS NOT NULL "
      "AND expires_at > statement_timestamp() RETURNING 1");
  status = qualify(
      "SELECT holder, token, (extract(epoch FROM expires_at) * 1000000)::bigint "
      "FROM {schema}.locks WHERE key = $1::text AND holder IS NOT NULL "
      "AND expires_at > statement_timestamp()");
}

std::optional<Lock> PgLocks::acquire(std::string_view key, std::string_view holder,
                                     std::int64_t ttl_ms) {
  context_.wrote = true;
  return read_lock(key, context_.connection.query(context_.sql.locks.acquire,
                                                  Params().add(key).add(holder).add(ttl_ms)));
}

std::optional<Lock> PgLocks::extend(std::string_view key, std::int64_t token, std::int64_t ttl_ms) {
  context_.wrote = true;
  return read_lock(key, context_.connection.query(context_.sql.locks.extend,
                                                  Params().add(key).add(token).add(ttl_ms)));
}

bool PgLocks::release(std::string_view key, std::int64_t token) {
  context_.wrote = true;
  return context_.connection.query(context_.sql.locks.release, Params().add(key).add(token))
             .rows() > 0;
}

std::optional<Lock> PgLocks::status(std::string_view key) {
  return read_lock(key, context_.connection.query(context_.sql.locks.status, Params().add(key)));
}

}  // namespace strata::detail
