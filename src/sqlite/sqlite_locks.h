// Locks on SQLite: one row per key, timed on this machine's clock.
#pragma once

#include "core/backend.h"
#include "sqlite/session_context.h"

namespace strata::detail {

class SqliteLocks final : public LockOps {
 public:
  explicit SqliteLocks(SqliteContext& context) : context_(context) {}

  std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                              std::int64_t ttl_ms) override;
  std::optional<Lock> extend(std::string_view key, std::int64_t token,
                             std::int64_t ttl_ms) override;
  bool release(std::string_view key, std::int64_t token) override;
  std::optional<Lock> status(std::string_view key) override;

 private:
  SqliteContext& context_;
};

}  // namespace strata::detail
