// UTF-8, checked strictly: no overlong forms, no surrogates, nothing past U+10FFFF.
#pragma once

#include <cstddef>
#include <string_view>

namespace strata::detail {

// The length (1 to 4) of the valid UTF-8 character that `text` starts with; 0 if it starts with
// an invalid or truncated one, or is empty.
std::size_t utf8_character_length(std::string_view text) noexcept;

bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace strata::detail
