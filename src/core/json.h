// JSON syntax (RFC 8259), checked on every event's data and metadata before it is stored.
#pragma once

#include <cstddef>
#include <string_view>

#include "strata/limits.h"

namespace strata::detail {

// Whether `text` is exactly one JSON value (surrounding whitespace allowed) in valid UTF-8,
// with escapes that PostgreSQL's json type also accepts (surrogates only in pairs). Nesting
// deeper than strata::kMaxJsonDepth is refused. A single pass, no allocation.
bool is_valid_json(std::string_view text) noexcept;

// Whether `text` is valid JSON whose numbers every backend's JSON queries compare alike: at most
// kMaxJsonNumberDigits digits, an exponent within ±kMaxJsonExponent (PostgreSQL's jsonb refuses
// numbers beyond its numeric type) and, unless zero, a magnitude from 1e−kMaxJsonMagnitude to
// 1e+kMaxJsonMagnitude (SQLite's matcher compares numbers as doubles).
inline constexpr std::size_t kMaxJsonNumberDigits = 1000;
inline constexpr int kMaxJsonExponent = 1000;
inline constexpr int kMaxJsonMagnitude = 300;
bool is_queryable_json(std::string_view text) noexcept;

// Whether JSON queries (key-value find, event filters) may look into `text` on every backend
// alike: queryable JSON without a \u0000 escape, which PostgreSQL's jsonb cannot hold.
bool is_comparable_json(std::string_view text) noexcept;

}  // namespace strata::detail
