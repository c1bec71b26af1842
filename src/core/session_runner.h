// Runs a primitive's call on the right session: the transaction's, or a pooled one.
#pragma once

#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>

#include "core/backend.h"
#include "core/metrics.h"
#include "strata/error.h"
#include "strata/scope.h"

namespace strata::detail {

inline constexpr int kCallAttempts = 3;

// Whether running a call twice has the effect of running it once. Every read is idempotent, and
// so is an append (its event ids are fixed before the first attempt); a key-value write is not
// (each write raises the key's version).
enum class Idempotence { idempotent, not_idempotent };

// Whether a call that failed this way may safely run again: nothing was applied (unavailable),
// or it may have been and running it again is harmless because the call is idempotent.
inline bool is_retryable(const Error& error, Idempotence idempotence) {
  return error.code() == ErrorCode::unavailable ||
         (error.code() == ErrorCode::unknown_outcome && idempotence == Idempotence::idempotent);
}

// Runs `fn(Session&)` and returns its result. Inside a transaction, on the transaction's session,
// once. Outside, on a pooled session, and again on a fresh one when the connection failed and
// is_retryable allows it.
template <class Fn>
std::invoke_result_t<Fn&, Session&> run_with_retries(const Scope& scope, Fn& fn,
                                                     Idempotence idempotence) {
  if (scope.session != nullptr) return fn(*scope.session);
  using Result = std::invoke_result_t<Fn&, Session&>;
  auto backoff = std::chrono::milliseconds(20);
  for (int attempt = 1;; ++attempt) {
    try {
      std::optional<Result> result;
      scope.backend->run([&](Session& session) { result.emplace(fn(session)); });
      return std::move(*result);
    } catch (const Error& error) {
      if (!is_retryable(error, idempotence) || attempt == kCallAttempts) throw;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

// run_with_retries, recorded in the backend's metrics as one call of `operation`.
template <class Fn>
std::invoke_result_t<Fn&, Session&> run_on_session(
    const Scope& scope, const char* operation, Fn&& fn,
    Idempotence idempotence = Idempotence::idempotent) {
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  try {
    auto result = run_with_retries(scope, fn, idempotence);
    record_call(scope.backend->metrics(), scope.backend->name(), operation, seconds(), nullptr);
    return result;
  } catch (const Error& error) {
    const ErrorCode code = error.code();
    record_call(scope.backend->metrics(), scope.backend->name(), operation, seconds(), &code);
    throw;
  }
}

}  // namespace strata::detail
