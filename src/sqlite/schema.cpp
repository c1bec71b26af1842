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
    {2, "key-value state", R"sql(
CREATE TABLE strata_kv (
  namespace     TEXT NOT NULL,
  key           BLOB NOT NULL,     -- bytes, compared bytewise
  value         BLOB NOT NULL,
  value_is_json INTEGER NOT NULL,  -- 1: the value is JSON, seen by find and search
  version       INTEGER NOT NULL,
  metadata      TEXT,
  expires_at    INTEGER,           -- microseconds since 1970, UTC; NULL: never
  PRIMARY KEY (namespace, key)     -- a rowid table: the rowid links the full-text index
);
CREATE INDEX strata_kv_expiry ON strata_kv (namespace, expires_at) WHERE expires_at IS NOT NULL;

-- The string values of JSON values, for search(). Writes of JSON values add their rows (the
-- backend does, so that writes of other values pay nothing); these triggers remove them.
CREATE VIRTUAL TABLE strata_kv_text USING fts5 (text, tokenize = 'unicode61 remove_diacritics 0');
CREATE TRIGGER strata_kv_text_delete AFTER DELETE ON strata_kv WHEN old.value_is_json BEGIN
  DELETE FROM strata_kv_text WHERE rowid = old.rowid;
END;
CREATE TRIGGER strata_kv_text_update AFTER UPDATE OF value ON strata_kv
WHEN old.value_is_json BEGIN
  DELETE FROM strata_kv_text WHERE rowid = old.rowid;
END;

CREATE TABLE strata_kv_checkpoints (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  entries    INTEGER NOT NULL,
  bytes      INTEGER NOT NULL
);
CREATE INDEX strata_kv_checkpoints_namespace ON strata_kv_checkpoints (namespace, id);
CREATE TABLE strata_kv_checkpoint_entries (
  checkpoint_id INTEGER NOT NULL,
  key           BLOB NOT NULL,
  value         BLOB NOT NULL,
  value_is_json INTEGER NOT NULL,
  version       INTEGER NOT NULL,
  metadata      TEXT,
  expires_at    INTEGER,
  PRIMARY KEY (checkpoint_id, key)
) WITHOUT ROWID;

CREATE TABLE strata_workflow_checkpoints (
  workflow   TEXT NOT NULL,
  version    INTEGER NOT NULL,
  state      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workflow, version)
) WITHOUT ROWID;
)sql"},
};

}  // namespace

std::span<const Migration> sqlite_migrations() {
  return kMigrations;
}

}  // namespace strata::detail
