// Positions as text: parse either refuses with strata::Error or gives a position that prints
// back to a text parsing to the same position.
#include "fuzz_target.h"
#include "strata/error.h"
#include "strata/position.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  try {
    const Position position = Position::parse(fuzz::text_of(data, size));
    fuzz::require(Position::parse(position.to_string()) == position,
                  "a position does not round-trip through its text");
  } catch (const Error&) {
    // Refused with a message.
  }
  return 0;
}
