// UTF-8 decoding against the definition: a valid text decodes into one character per byte that
// is not a continuation byte, and validity agrees with nlohmann's parser reading the text as a
// JSON string.
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view text = fuzz::text_of(data, size);
  const bool valid = detail::is_valid_utf8(text);
  if (valid) {
    // Character by character, a valid text steps once per byte that is not a continuation byte.
    std::size_t leading = 0;
    for (const char byte : text) leading += (static_cast<unsigned char>(byte) & 0xC0) != 0x80;
    std::size_t characters = 0;
    for (std::string_view rest = text; !rest.empty(); ++characters) {
      const std::size_t length = detail::utf8_character_length(rest);
      fuzz::require(length >= 1 && length <= rest.size(), "a valid text has a bad character");
      rest.remove_prefix(length);
    }
    fuzz::require(characters == leading, "a valid text's characters are not its leading bytes");
  }
  // As a JSON string, with no byte that JSON would need escaped, nlohmann checks the UTF-8.
  bool plain = true;
  for (const char byte : text)
    plain &= static_cast<unsigned char>(byte) >= 0x20 && byte != '"' && byte != '\\';
  if (plain) {
    const std::string quoted = "\"" + std::string(text) + "\"";
    fuzz::require(nlohmann::json::accept(quoted) == valid,
                  "is_valid_utf8 disagrees with nlohmann's UTF-8 check");
  }
  return 0;
}
