// JSON containment with PostgreSQL jsonb's `@>` rules, for backends without it (SQLite).
#pragma once

#include <string_view>

namespace strata::detail {

// Whether `document` contains `pattern`: every key of a pattern object is in the document object
// with a contained value; every element of a pattern array is contained in some element of the
// document array; scalars are equal (numbers by value: 1 equals 1.0); and, at the top level only,
// an array contains a scalar equal to one of its elements. False when either is not JSON.
bool json_contains(std::string_view document, std::string_view pattern);

}  // namespace strata::detail
