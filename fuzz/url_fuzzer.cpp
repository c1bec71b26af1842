// Store URLs: parsing, redaction and scrubbing never fail but with strata::Error, never take
// long (a timeout is a finding), and messages show a URL as redact_url writes it.
#include <variant>

#include "core/url.h"
#include "fuzz_target.h"
#include "strata/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view url = fuzz::text_of(data, size);
  detail::redact_url(url);
  detail::scrub_password(std::string(url), url);
  detail::parse_duration(url);
  try {
    const detail::StoreSettings settings = detail::parse_store_url(url);
    if (const auto* postgres = std::get_if<detail::PostgresSettings>(&settings)) {
      fuzz::require(postgres->redacted == detail::redact_url(url),
                    "a PostgreSQL URL's messages show another form than redact_url's");
    }
  } catch (const Error&) {
    // Refused, with a message: what bad input gets.
  }
  return 0;
}
