// The SQLite schema, as migrations. Tables carry a strata_ prefix: SQLite has no schemas.
#pragma once

#include <span>

#include "core/migration.h"

namespace strata::detail {

std::span<const Migration> sqlite_migrations();

}  // namespace strata::detail
