#include "sqlite/sqlite_locks.h"

#include "core/ids.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr std::int64_t kMicrosPerMs = 1000;

// A row is held while it has a holder and its expiry is after ?3 (now). The token survives
// release and expiry, so the next acquisition's token is higher.
constexpr const char* kAcquire =
    "INSERT INTO strata_locks (key, holder, token, expires_at) VALUES (?1, ?2, 1, ?3 + ?4) "
    "ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, token = token + 1, "
    "expires_at = excluded.expires_at WHERE holder IS NULL OR expires_at <= ?3 "
    "RETURNING holder, token, expires_at";
constexpr const char* kExtend =
    "UPDATE strata_locks SET expires_at = ?3 + ?4 "
    "WHERE key = ?1 AND token = ?2 AND holder IS NOT NULL AND expires_at > ?3 "
    "RETURNING holder, token, expires_at";
constexpr const char* kRelease =
    "UPDATE strata_locks SET holder = NULL, expires_at = NULL "
    "WHERE key = ?1 AND token = ?2 AND holder IS NOT NULL AND expires_at > ?3 RETURNING 1";
constexpr const char* kStatus =
    "SELECT holder, token, expires_at FROM strata_locks "
    "WHERE key = ?1 AND holder IS NOT NULL AND expires_at > ?2";

std::optional<Lock> read_lock(std::string_view key, Query& query) {
  if (!query.step()) return std::nullopt;
  return Lock{std::string(key), query.text(0), query.integer(1), query.integer(2)};
}

}  // namespace

std::optional<Lock> SqliteLocks::acquire(std::string_view key, std::string_view holder,
                                         std::int64_t ttl_ms) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kAcquire);
  query.bind(1, key).bind(2, holder).bind(3, now_micros()).bind(4, ttl_ms * kMicrosPerMs);
  return read_lock(key, query);
}

std::optional<Lock> SqliteLocks::extend(std::string_view key, std::int64_t token,
                                        std::int64_t ttl_ms) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kExtend);
  query.bind(1, key).bind(2, token).bind(3, now_micros()).bind(4, ttl_ms * kMicrosPerMs);
  return read_lock(key, query);
}

bool SqliteLocks::release(std::string_view key, std::int64_t token) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kRelease);
  query.bind(1, key).bind(2, token).bind(3, now_micros());
  return query.step();
}

std::optional<Lock> SqliteLocks::status(std::string_view key) {
  Query query = context_.db.query(kStatus);
  query.bind(1, key).bind(2, now_micros());
  return read_lock(key, query);
}

}  // namespace strata::detail
