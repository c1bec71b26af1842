// The JSON validator against nlohmann's parser: both accept the same texts, except that Strata
// refuses nesting deeper than kMaxJsonDepth and nlohmann refuses numbers beyond a double (which
// Strata stores, but as bytes that queries do not look into). What Strata lets queries see is
// JSON nlohmann reads.
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "fuzz_target.h"
#include "strata/limits.h"

namespace {

std::size_t depth_of(const nlohmann::json& value) {
  std::size_t deepest = 0;
  if (value.is_structured()) {
    for (const auto& child : value) deepest = std::max(deepest, depth_of(child));
    return deepest + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view text = fuzz::text_of(data, size);
  const bool valid = detail::is_valid_json(text);
  const bool queryable = detail::is_queryable_json(text);
  // nlohmann stops reading at a NUL byte, which JSON allows only inside strings, escaped.
  if (text.find('\0') != std::string_view::npos) {
    fuzz::require(!valid, "is_valid_json accepted a raw NUL byte");
    return 0;
  }
  const bool nlohmann_reads = nlohmann::json::accept(text.begin(), text.end());
  if (queryable) {
    fuzz::require(valid, "is_queryable_json accepted invalid JSON");
    fuzz::require(nlohmann_reads, "is_queryable_json accepted what nlohmann refuses");
  }
  if (nlohmann_reads && !valid) {
    fuzz::require(depth_of(nlohmann::json::parse(text.begin(), text.end())) > kMaxJsonDepth,
                  "is_valid_json refused JSON nlohmann reads, nested no deeper than the limit");
  }
  return 0;
}
