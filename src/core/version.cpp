#include "strata/version.h"

#include "core/migration.h"

namespace strata {

const char* version() noexcept {
  return STRATA_VERSION;
}

int latest_schema_version() noexcept {
  return detail::kSchemaVersion;
}

}  // namespace strata
