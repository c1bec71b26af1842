#include "core/migration.h"

#include <string>

#include "strata/error.h"

namespace strata::detail {

void check_compatible(const SchemaState& state) {
  if (state.version <= kSchemaVersion || state.oldest_build <= kSchemaVersion) return;
  throw Error(ErrorCode::incompatible_schema,
              "the database is at schema version " + std::to_string(state.version) +
                  ", which builds of schema version " + std::to_string(state.oldest_build) +
                  " or later can use; this build knows schema version " +
                  std::to_string(kSchemaVersion) + ": upgrade it");
}

}  // namespace strata::detail
