// Names and keys: each validator refuses with strata::Error or accepts text that is UTF-8.
#include "core/utf8.h"
#include "core/validate.h"
#include "fuzz_target.h"
#include "strata/error.h"

namespace {

template <class Validate>
void check(std::string_view text, Validate&& validate, const char* what) {
  try {
    validate(text);
  } catch (const strata::Error&) {
    return;
  }
  strata::fuzz::require(strata::detail::is_valid_utf8(text), what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata::detail;
  const std::string_view text = strata::fuzz::text_of(data, size);
  check(text, validate_stream_name, "a stream name that is not UTF-8");
  check(text, validate_category, "a category that is not UTF-8");
  check(text, validate_namespace, "a namespace that is not UTF-8");
  check(text, validate_queue_name, "a queue name that is not UTF-8");
  check(text, validate_workflow_name, "a workflow name that is not UTF-8");
  check(text, validate_lock_key, "a lock key that is not UTF-8");
  check(
      text, [](std::string_view t) { validate_text("reason", t, 65536); },
      "a text that is not UTF-8");
  try {
    validate_key(text);  // Keys are bytes: any content, bounded in size.
  } catch (const strata::Error&) {
  }
  return 0;
}
