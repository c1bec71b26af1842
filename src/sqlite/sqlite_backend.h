// The SQLite backend: a file (WAL, one writer at a time, many readers) or an in-memory database.
#pragma once

#include <memory>

#include "core/backend.h"
#include "core/url.h"

namespace strata::detail {

// Opens the database described by `settings`. Throws Error(unavailable) when it cannot be opened.
std::shared_ptr<Backend> open_sqlite_backend(const SqliteSettings& settings);

}  // namespace strata::detail
