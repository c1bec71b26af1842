// Lease tokens as text: parsing refuses with strata::Error or gives parts that format back to
// the same token.
#include "core/lease_token.h"
#include "fuzz_target.h"
#include "strata/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view text = fuzz::text_of(data, size);
  try {
    const detail::LeaseToken token = detail::parse_lease_token(text);
    fuzz::require(detail::format_lease_token(token.item, token.lease) == text,
                  "a lease token does not round-trip");
  } catch (const Error&) {
    // Refused with a message.
  }
  return 0;
}
