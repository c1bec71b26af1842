// What a backend does for locks: rows timed on the database's clock (PostgreSQL) or the
// process's (SQLite).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "strata/lock.h"

namespace strata::detail {

class LockOps {
 public:
  virtual ~LockOps() = default;
  // Takes `key` when free or lapsed, with the key's next token; nullopt when held.
  virtual std::optional<Lock> acquire(std::string_view key, std::string_view holder,
                                      std::int64_t ttl_ms) = 0;
  // The lock with its new expiry, or nullopt when `token` no longer holds it.
  virtual std::optional<Lock> extend(std::string_view key, std::int64_t token,
                                     std::int64_t ttl_ms) = 0;
  virtual bool release(std::string_view key, std::int64_t token) = 0;
  virtual std::optional<Lock> status(std::string_view key) = 0;
};

}  // namespace strata::detail
