// Errors: every failure Strata reports is a strata::Error carrying an ErrorCode.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "strata/export.h"

namespace strata {

// What went wrong, for callers to branch on. Stable: new codes may be added, none renumbered.
enum class ErrorCode {
  invalid_argument,        // Bad input (name, JSON, size, URL); nothing was written.
  not_found,               // The named thing does not exist.
  wrong_expected_version,  // The stream is not at the expected version; see WrongExpectedVersion.
  already_exists,          // An id is taken by different content (e.g. a reused event id).
  conflict,                // A concurrent writer interfered; retrying the transaction may succeed.
  unavailable,             // The database could not be reached; nothing was applied.
  timeout,                 // A deadline passed (pool acquire, statement, lock wait).
  unknown_outcome,         // The connection was lost after a write was sent: it may have applied.
  internal,                // A bug or an unexpected database error.
  stream_deleted,          // The stream was hard-deleted (tombstoned): it takes no more events.
  incompatible_schema,     // The database was migrated by a newer build that this one cannot use.
};

// The name of a code, e.g. "wrong_expected_version". Never null.
STRATA_EXPORT const char* to_string(ErrorCode code) noexcept;

// The single exception type Strata throws (with one subclass below). The message names the
// thing that is wrong and never contains a password.
class STRATA_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Thrown by an append whose expected version does not hold; carries the stream's actual version
// (0 when the stream has no events).
class STRATA_EXPORT WrongExpectedVersion : public Error {
 public:
  WrongExpectedVersion(std::string stream, std::string expected, std::int64_t actual);
  const std::string& stream() const noexcept { return stream_; }
  std::int64_t actual_version() const noexcept { return actual_; }

 private:
  std::string stream_;
  std::int64_t actual_;
};

// Thrown when a token no longer holds its lease: a queue item's (it ran out, or the item was
// completed, retried or failed) or a lock's (it lapsed, or was released). Code:
// wrong_expected_version.
class STRATA_EXPORT LeaseLost : public Error {
 public:
  explicit LeaseLost(const std::string& message)
      : Error(ErrorCode::wrong_expected_version, message) {}
};

}  // namespace strata
