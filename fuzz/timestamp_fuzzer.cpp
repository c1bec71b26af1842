// Times as text: parse_timestamp either refuses with strata::Error or gives a time that
// format_timestamp prints as a text parsing to the same time.
#include "fuzz_target.h"
#include "strata/error.h"
#include "strata/event.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  try {
    const Timestamp micros = parse_timestamp(fuzz::text_of(data, size));
    fuzz::require(parse_timestamp(format_timestamp(micros)) == micros,
                  "a time does not round-trip through its text");
  } catch (const Error&) {
    // Refused with a message.
  }
  return 0;
}
