// Lease tokens: what lease() hands out with each item, and what fences every later call about
// it. A token names the item and the lease it belongs to ("<item id>.<lease>"); one lease, a
// random 128-bit value, covers every item of a lease() call, so the database keeps no index of
// tokens and finds a held item by its primary key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::detail {

struct LeaseToken {
  std::int64_t item = 0;
  std::string lease;  // 32 lower-case hex digits.
};

// A new random lease. Thread-safe.
std::string new_lease();
std::string format_lease_token(std::int64_t item, std::string_view lease);
// Throws Error(invalid_argument) naming `text` when it is not a token lease() could have made.
LeaseToken parse_lease_token(std::string_view text);

}  // namespace strata::detail
