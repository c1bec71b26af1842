#include "core/lease_token.h"

#include <charconv>

#include "core/ids.h"
#include "strata/error.h"

namespace strata::detail {
namespace {

constexpr std::size_t kLeaseDigits = 32;

bool is_lease(std::string_view text) {
  return text.size() == kLeaseDigits &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string new_lease() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string lease(kLeaseDigits, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = thread_random()();
    for (std::size_t i = 0; i < kLeaseDigits / 2; ++i, bits >>= 4) {
      lease[half * (kLeaseDigits / 2) + i] = kHex[bits & 0xF];
    }
  }
  return lease;
}

std::string format_lease_token(std::int64_t item, std::string_view lease) {
  return std::to_string(item) + "." + std::string(lease);
}

LeaseToken parse_lease_token(std::string_view text) {
  const auto dot = text.find('.');
  LeaseToken token;
  // As format_lease_token writes it: no sign, no leading zero (fuzzing found "02." accepted).
  if (dot != std::string_view::npos && dot > 0 && text[0] != '0') {
    const auto [end, error] = std::from_chars(text.data(), text.data() + dot, token.item);
    if (error == std::errc() && end == text.data() + dot && token.item > 0 &&
        is_lease(text.substr(dot + 1))) {
      token.lease = text.substr(dot + 1);
      return token;
    }
  }
  throw Error(ErrorCode::invalid_argument,
              "'" + std::string(text.substr(0, 100)) + "' is not a lease token");
}

}  // namespace strata::detail
