// Locks on SQLite: one row per key, timed on the process's clock.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr std::int64_t kMicrosPerMs = 1000;

// A row is held while it has a holder and its expiry is after now. The token survives release
// and expiry, so the next acquisition's token is higher. Each returns the lock as held.
// ?1 key, ?2 holder, ?3 now, ?4 TTL in microseconds.
constexpr Statement kAcquire{
    "INSERT INTO strata_locks (key, holder, token, expires_at) VALUES (?1, ?2, 1, ?3 + ?4) "
    "ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, token = token + 1, "
    "expires_at = excluded.expires_at WHERE holder IS NULL OR expires_at <= ?3 "
    "RETURNING holder, token, expires_at"};
// ?1 key, ?2 token, ?3 now, ?4 TTL in microseconds.
constexpr Statement kExtend{
    "UPDATE strata_locks SET expires_at = ?3 + ?4 "
    "WHERE key = ?1 AND token = ?2 AND holder IS NOT NULL AND expires_at > ?3 "
    "RETURNING holder, token, expires_at"};
// ?1 key, ?2 token, ?3 now.
constexpr Statement kRelease{
    "UPDATE strata_locks SET holder = NULL, expires_at = NULL "
    "WHERE key = ?1 AND token = ?2 AND holder IS NOT NULL AND expires_at > ?3 RETURNING 1"};
// ?1 key, ?2 now.
constexpr Statement kStatus{
    "SELECT holder, token, expires_at FROM strata_locks "
    "WHERE key = ?1 AND holder IS NOT NULL AND expires_at > ?2"};

std::optional<Lock> read_lock(std::string_view key, Query& query) {
  if (!query.step()) return std::nullopt;
  return Lock{std::string(key), query.text(query.column("holder")),
              query.integer(query.column("token")), query.integer(query.column("expires_at"))};
}

class SqliteLocks final : public LockOps {
 public:
  explicit SqliteLocks(SqliteContext& context) : context_(context) {}

  std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                              std::int64_t ttl_ms) override {
    Query query = context_.query(kAcquire);
    query.bind(1, key).bind(2, holder).bind(3, now_micros()).bind(4, ttl_ms * kMicrosPerMs);
    return read_lock(key, query);
  }

  std::optional<Lock> extend(std::string_view key, std::int64_t token,
                             std::int64_t ttl_ms) override {
    Query query = context_.query(kExtend);
    query.bind(1, key).bind(2, token).bind(3, now_micros()).bind(4, ttl_ms * kMicrosPerMs);
    return read_lock(key, query);
  }

  bool release(std::string_view key, std::int64_t token) override {
    Query query = context_.query(kRelease);
    query.bind(1, key).bind(2, token).bind(3, now_micros());
    return query.step();
  }

  std::optional<Lock> status(std::string_view key) override {
    Query query = context_.query(kStatus);
    query.bind(1, key).bind(2, now_micros());
    return read_lock(key, query);
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<LockOps> sqlite_locks(SqliteContext& context) {
  return std::make_unique<SqliteLocks>(context);
}

}  // namespace strata::detail
