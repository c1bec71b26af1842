// The containment matcher (SQLite's `find`): two JSON documents split at the first NUL byte;
// it never fails but with strata::Error, nor takes long.
#include "core/json.h"
#include "core/json_contains.h"
#include "fuzz_target.h"
#include "strata/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view input = fuzz::text_of(data, size);
  const auto split = input.find('\0');
  const std::string_view document = input.substr(0, split);
  const std::string_view pattern =
      split == std::string_view::npos ? document : input.substr(split + 1);
  if (!detail::is_queryable_json(document) || !detail::is_queryable_json(pattern)) return 0;
  try {
    detail::json_contains(document, pattern);
  } catch (const Error&) {
    // Refused with a message.
  }
  return 0;
}
