#include "sqlite/schema.h"

namespace strata::detail {
namespace {

constexpr Migration kMigrations[] = {
    {1, "event streams", R"sql(
CREATE TABLE strata_events (
  position   INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so the order only grows
  stream     TEXT NOT NULL,
  version    INTEGER NOT NULL,
  id         TEXT NOT NULL UNIQUE,
  type       TEXT NOT NULL,
  data       TEXT NOT NULL,
  metadata   TEXT,
  created_at INTEGER NOT NULL,                    -- microseconds since 1970, UTC
  UNIQUE (stream, version)                        -- also gives a stream's current version
);
)sql"},
};

}  // namespace

std::span<const Migration> sqlite_migrations() {
  return kMigrations;
}

}  // namespace strata::detail
