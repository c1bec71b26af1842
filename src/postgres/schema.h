// The PostgreSQL schema, as migrations. "{schema}" stands for the quoted schema name.
#pragma once

#include <span>

#include "core/migration.h"

namespace strata::detail {

std::span<const Migration> postgres_migrations();

}  // namespace strata::detail
