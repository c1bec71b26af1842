// Locks on PostgreSQL: one row per key, timed on the server's clock. No advisory locks, no
// session state: they hold through any pool and behind PgBouncer in transaction mode.
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

// A row is held while it has a holder and its expiry is in the future. The token survives
// release and expiry, so the next acquisition's token is higher.
constexpr std::string_view kReturning =
    " RETURNING holder, token, (extract(epoch FROM expires_at) * 1000000)::bigint AS "
    "expires_micros";
// $3 the TTL in ms.
constexpr std::string_view kExpiry =
    "statement_timestamp() + $3::bigint * interval '1 millisecond'";

// Rows of kReturning, of which there is at most one.
std::optional<Lock> read_lock(std::string_view key, const Result& rows) {
  if (rows.rows() == 0) return std::nullopt;
  return Lock{std::string(key), rows.string(0, rows.column("holder")),
              rows.integer(0, rows.column("token")),
              rows.integer(0, rows.column("expires_micros"))};
}

// $1 key, $2 holder, $3 TTL ms.
constexpr Statement kAcquire{
    "INSERT INTO {schema}.locks AS l (key, holder, token, expires_at) "
    "VALUES ($1::text, $2::text, 1, ",
    kExpiry,
    ") ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, token = l.token + 1, "
    "expires_at = excluded.expires_at "
    "WHERE l.holder IS NULL OR l.expires_at <= statement_timestamp()",
    kReturning};
// $1 key, $2 token, $3 TTL ms.
constexpr Statement kExtend{"UPDATE {schema}.locks SET expires_at = ", kExpiry,
                            " WHERE key = $1::text AND token = $2::bigint AND holder IS NOT NULL "
                            "AND expires_at > statement_timestamp()",
                            kReturning};
// $1 key, $2 token.
constexpr Statement kRelease{
    "UPDATE {schema}.locks SET holder = NULL, expires_at = NULL "
    "WHERE key = $1::text AND token = $2::bigint AND holder IS NOT NULL "
    "AND expires_at > statement_timestamp() RETURNING 1"};
constexpr Statement kStatus{
    "SELECT holder, token, (extract(epoch FROM expires_at) * 1000000)::bigint AS expires_micros "
    "FROM {schema}.locks WHERE key = $1::text AND holder IS NOT NULL "
    "AND expires_at > statement_timestamp()"};

class PgLocks final : public LockOps {
 public:
  explicit PgLocks(PgContext& context) : context_(context) {}

  std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                              std::int64_t ttl_ms) override {
    return read_lock(key, context_.query(kAcquire, Params().add(key).add(holder).add(ttl_ms)));
  }

  std::optional<Lock> extend(std::string_view key, std::int64_t token,
                             std::int64_t ttl_ms) override {
    return read_lock(key, context_.query(kExtend, Params().add(key).add(token).add(ttl_ms)));
  }

  bool release(std::string_view key, std::int64_t token) override {
    return context_.query(kRelease, Params().add(key).add(token)).rows() > 0;
  }

  std::optional<Lock> status(std::string_view key) override {
    return read_lock(key, context_.query(kStatus, Params().add(key)));
  }

 private:
  PgContext& context_;
};

}  // namespace

std::unique_ptr<LockOps> pg_locks(PgContext& context) {
  return std::make_unique<PgLocks>(context);
}

}  // namespace strata::detail
