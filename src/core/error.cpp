#include "strata/error.h"

namespace strata {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::wrong_expected_version:
      return "wrong_expected_version";
    case ErrorCode::already_exists:
      return "already_exists";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::unknown_outcome:
      return "unknown_outcome";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::stream_deleted:
      return "stream_deleted";
    case ErrorCode::incompatible_schema:
      return "incompatible_schema";
  }
  return "internal";
}

WrongExpectedVersion::WrongExpectedVersion(std::string stream, std::string expected,
                                           std::int64_t actual)
    : Error(ErrorCode::wrong_expected_version, "wrong expected version for stream '" + stream +
                                                   "': expected " + expected + ", actual version " +
                                                   std::to_string(actual)),
      stream_(std::move(stream)),
      actual_(actual) {}

}  // namespace strata
