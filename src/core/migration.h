// A schema migration: applied once, in order, inside a transaction, recorded by version.
#pragma once

#include <string_view>

namespace strata::detail {

// The schema version this build migrates a database to: every backend's last migration (each
// schema file asserts it).
inline constexpr int kSchemaVersion = 8;

struct Migration {
  int version;            // 1, 2, 3…: applied in this order, each exactly once.
  std::string_view name;  // What it does, recorded beside the version.
  std::string_view sql;   // One or more statements.
};

}  // namespace strata::detail
