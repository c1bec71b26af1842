#include "core/json_contains.h"

#include <nlohmann/json.hpp>

namespace strata::detail {
namespace {

using Json = nlohmann::json;

bool scalars_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) return a.get<double>() == b.get<double>();
    if (a.is_number_unsigned() || b.is_number_unsigned()) {
      if (a.get<double>() < 0 || b.get<double>() < 0) return false;
      return a.get<std::uint64_t>() == b.get<std::uint64_t>();
    }
    return a.get<std::int64_t>() == b.get<std::int64_t>();
  }
  return a.type() == b.type() && a == b;
}

bool contains(const Json& document, const Json& pattern, bool top_level) {
  if (pattern.is_object()) {
    if (!document.is_object()) return false;
    for (const auto& [key, value] : pattern.items()) {
      const auto found = document.find(key);
      if (found == document.end() || !contains(*found, value, false)) return false;
    }
    return true;
  }
  if (pattern.is_array()) {
    if (!document.is_array()) return false;
    for (const Json& wanted : pattern) {
      bool matched = false;
      for (const Json& element : document) {
        if (contains(element, wanted, false)) {
          matched = true;
          break;
        }
      }
      if (!matched) return false;
    }
    return true;
  }
  if (document.is_array() && top_level) {
    for (const Json& element : document) {
      if (!element.is_structured() && scalars_equal(element, pattern)) return true;
    }
    return false;
  }
  return !document.is_structured() && scalars_equal(document, pattern);
}

}  // namespace

bool json_contains(std::string_view document, std::string_view pattern) {
  const Json parsed_document = Json::parse(document, nullptr, false);
  const Json parsed_pattern = Json::parse(pattern, nullptr, false);
  if (parsed_document.is_discarded() || parsed_pattern.is_discarded()) return false;
  return contains(parsed_document, parsed_pattern, true);
}

}  // namespace strata::detail
