// JSON syntax (RFC 8259), checked on every event's data and metadata before it is stored.
#pragma once

#include <string_view>

namespace strata::detail {

// Whether `text` is exactly one JSON value (surrounding whitespace allowed) in valid UTF-8,
// with escapes that PostgreSQL's json type also accepts (surrogates only in pairs). Nesting
// deeper than kMaxJsonDepth is refused. A single pass, no allocation.
inline constexpr int kMaxJsonDepth = 512;
bool is_valid_json(std::string_view text) noexcept;

}  // namespace strata::detail
