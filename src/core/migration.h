// A schema migration: applied once, in order, inside a transaction, recorded by version.
#pragma once

#include <string_view>

namespace strata::detail {

// The schema version this build migrates a database to: every backend's last migration (each
// schema file asserts it).
inline constexpr int kSchemaVersion = 12;

struct Migration {
  int version;            // 1, 2, 3…: applied in this order, each exactly once.
  std::string_view name;  // What it does, recorded beside the version.
  std::string_view sql;   // One or more statements.
  // Builds that know only earlier versions cannot run against the schema once it is applied
  // (it changes or removes what they use). Recorded beside the version, so that those builds can
  // tell; a migration that only adds leaves it false, and they keep running through an upgrade.
  bool breaks_older_builds = false;
};

// A database's schema as its migrations table records it.
struct SchemaState {
  int version = 0;  // The highest migration applied; 0 for an empty database.
  // The newest migration that breaks older builds: a build must know at least this version.
  int oldest_build = 0;
  // Restored into a cluster whose transaction ids lie below the store's commit ids (or without
  // the feed's offset): appends would sort before the restored events until a migrate moves the
  // commit ids past them.
  bool restored_behind = false;
};

// Throws Error(incompatible_schema), naming both versions, when `state` is newer than this
// build's kSchemaVersion and one of its newer migrations breaks older builds.
void check_compatible(const SchemaState& state);

}  // namespace strata::detail
