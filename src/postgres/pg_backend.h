// The PostgreSQL backend: a pool of libpq connections, pipelined appends, COPY for large
// batches, and an all-events order by transaction id that never needs a global lock.
#pragma once

#include <memory>

#include "core/backend.h"
#include "core/url.h"

namespace strata::detail {

// Opens a pool on the server described by `settings` (min_connections are connected now).
// Throws Error(invalid_argument) for parameters libpq rejects, Error(unavailable) when the
// server cannot be reached.
std::shared_ptr<Backend> open_postgres_backend(const PostgresSettings& settings);

}  // namespace strata::detail
