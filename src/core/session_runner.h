// Runs a primitive's call on the right session: the transaction's, or a pooled one, sent again
// after a lost connection only when that is safe.
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

// What a call does to the store, declared by every call: it decides how the call runs (see
// Access) and whether it is sent again after a lost connection.
enum class Call {
  read,              // Writes nothing: sent again.
  write,             // Its outcome may be unknown after a lost connection: never sent again then.
  idempotent_write,  // Running it twice does what running it once does (an append, whose event
                     // ids are fixed before the first attempt): sent again.
};

// Whether a call that failed this way may safely run again: nothing was applied (unavailable),
// or it may have been and running it again is harmless.
inline bool is_retryable(const Error& error, Call call) {
  return error.code() == ErrorCode::unavailable ||
         (error.code() == ErrorCode::unknown_outcome && call != Call::write);
}

// Throws invalid_argument inside a transaction, for the calls that cannot be part of one.
inline void refuse_in_transaction(const Scope& scope, const std::string& what) {
  if (scope.session != nullptr) {
    throw Error(ErrorCode::invalid_argument, what + " cannot be part of a transaction");
  }
}

// Runs `fn(Session&)` and returns its result. Inside a transaction, on the transaction's session,
// once. Outside, on a pooled session, and again on a fresh one when the connection failed and
// is_retryable allows it.
template <class Fn>
std::invoke_result_t<Fn&, Session&> run_with_retries(const Scope& scope, Call call, Fn& fn) {
  if (scope.session != nullptr) return fn(*scope.session);
  using Result = std::invoke_result_t<Fn&, Session&>;
  const Access access = call == Call::read ? Access::read : Access::write;
  auto backoff = std::chrono::milliseconds(20);
  for (int attempt = 1;; ++attempt) {
    try {
      std::optional<Result> result;
      scope.backend->run(access, [&](Session& session) { result.emplace(fn(session)); });
      return std::move(*result);
    } catch (const Error& error) {
      if (!is_retryable(error, call) || attempt == kCallAttempts) throw;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

// run_with_retries, recorded in the backend's metrics as one call of `operation`.
template <class Fn>
std::invoke_result_t<Fn&, Session&> run_on_session(const Scope& scope, const char* operation,
                                                   Call call, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  try {
    auto result = run_with_retries(scope, call, fn);
    record_call(scope.backend->metrics(), scope.backend->name(), operation, seconds(), nullptr);
    return result;
  } catch (const Error& error) {
    const ErrorCode code = error.code();
    record_call(scope.backend->metrics(), scope.backend->name(), operation, seconds(), &code);
    throw;
  }
}

}  // namespace strata::detail
