// Internal: what a primitive's handle runs on. Not part of the public API; include it only
// through the primitives' headers.
#pragma once

#include <memory>

namespace strata::detail {

class Backend;
class Session;

// A Store's backend and, inside a transaction, the session the transaction owns.
struct Scope {
  std::shared_ptr<Backend> backend;
  Session* session = nullptr;  // Null: each call takes a pooled connection of its own.
};

}  // namespace strata::detail
