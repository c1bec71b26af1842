// Locks on PostgreSQL: one row per key, timed on the server's clock. No advisory locks, no
// session state: they hold through any pool and behind PgBouncer in transaction mode.
#pragma once

#include <string>

#include "core/backend.h"

namespace strata::detail {

struct PgContext;

struct PgLockSql {
  explicit PgLockSql(const std::string& quoted_schema);
  std::string acquire;
  std::string extend;
  std::string release;
  std::string status;
};

class PgLocks final : public LockOps {
 public:
  explicit PgLocks(PgContext& context) : context_(context) {}

  std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                              std::int64_t ttl_ms) override;
  std::optional<Lock> extend(std::string_view key, std::int64_t token,
                             std::int64_t ttl_ms) override;
  bool release(std::string_view key, std::int64_t token) override;
  std::optional<Lock> status(std::string_view key) override;

 private:
  PgContext& context_;
};

}  // namespace strata::detail
