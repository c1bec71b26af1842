#include "sqlite/schema.h"

#include <iterator>

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
    {3, "work queues", R"sql(
CREATE TABLE strata_queues (
  name          TEXT PRIMARY KEY,
  lease_ms      INTEGER NOT NULL,
  max_attempts  INTEGER NOT NULL,
  retry_base_ms INTEGER NOT NULL,
  retry_cap_ms  INTEGER NOT NULL,
  expire_ms     INTEGER,
  dead_letters  INTEGER NOT NULL,
  paused        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Live items only: finished ones leave, dead ones move to strata_dead_letters.
CREATE TABLE strata_queue_items (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  queue        TEXT NOT NULL,
  payload      BLOB NOT NULL,
  headers      TEXT,
  priority     INTEGER NOT NULL,
  run_at       INTEGER NOT NULL,   -- microseconds since 1970, UTC
  expires_at   INTEGER,
  dedup_key    TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  lease_token  TEXT,
  leased_until INTEGER,
  history      TEXT NOT NULL DEFAULT '[]',
  created_at   INTEGER NOT NULL
);
-- The claim walks only items nobody holds.
CREATE INDEX strata_queue_ready ON strata_queue_items (queue, priority DESC, id)
  WHERE lease_token IS NULL;
CREATE INDEX strata_queue_leased ON strata_queue_items (queue, leased_until)
  WHERE lease_token IS NOT NULL;
CREATE UNIQUE INDEX strata_queue_tokens ON strata_queue_items (lease_token)
  WHERE lease_token IS NOT NULL;
CREATE UNIQUE INDEX strata_queue_dedup ON strata_queue_items (queue, dedup_key)
  WHERE dedup_key IS NOT NULL;
CREATE INDEX strata_queue_expiry ON strata_queue_items (queue, expires_at)
  WHERE expires_at IS NOT NULL AND lease_token IS NULL;

CREATE TABLE strata_dead_letters (
  id         INTEGER PRIMARY KEY,  -- the item's id, kept through requeues
  queue      TEXT NOT NULL,
  payload    BLOB NOT NULL,
  headers    TEXT,
  priority   INTEGER NOT NULL,
  dedup_key  TEXT,
  attempts   INTEGER NOT NULL,
  history    TEXT NOT NULL,
  reason     TEXT NOT NULL,
  failed_at  INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX strata_dead_letters_queue ON strata_dead_letters (queue, id);
)sql"},
    {4, "one lease per lease call", R"sql(
-- lease_token now holds the lease of a whole lease() call, which tokens pair with an item's id.
DROP INDEX strata_queue_tokens;
)sql"},
    {5, "locks", R"sql(
-- One row per key ever locked: free when holder is NULL or expires_at has passed. The row
-- stays after release so that the key's fencing token keeps rising.
CREATE TABLE strata_locks (
  key        TEXT PRIMARY KEY,
  holder     TEXT,
  token      INTEGER NOT NULL,
  expires_at INTEGER               -- microseconds since 1970, UTC
);
)sql"},
    {6, "snapshots", R"sql(
CREATE TABLE strata_snapshots (
  stream     TEXT NOT NULL,
  version    INTEGER NOT NULL,
  state      TEXT NOT NULL,
  created_at INTEGER NOT NULL,   -- microseconds since 1970, UTC
  PRIMARY KEY (stream, version)
);
)sql"},
    {7, "stream lifecycle", R"sql(
-- Only streams that were deleted, truncated or given settings have a row.
CREATE TABLE strata_streams (
  name            TEXT PRIMARY KEY,
  truncate_before INTEGER NOT NULL,  -- versions below are gone; the stream's version is at
                                     -- least this minus one, whatever events are left
  deleted         INTEGER NOT NULL,  -- tombstoned: appends are refused
  max_age_ms      INTEGER,
  max_count       INTEGER
);
)sql"},
    {8, "durable consumers", R"sql(
CREATE TABLE strata_consumers (
  name       TEXT NOT NULL,
  member     INTEGER NOT NULL,  -- its index in its consumer group (0 without a group)
  position   TEXT NOT NULL,     -- the last event handled, as Position::to_string() prints it
  updated_at INTEGER NOT NULL,  -- microseconds since 1970, UTC
  PRIMARY KEY (name, member)
);
)sql"},
    // The version both backends share: PostgreSQL's all-events order changed; SQLite's is its
    // rowid, which writers take one at a time and a copy of the file keeps.
    {9, "an all-events order held back only by Strata's appenders, and kept through restores",
     "-- nothing to change on SQLite"},
    // The JSON filters run strata_json_contains, defined on each connection.
    {10, "event filters by JSON containment", "-- nothing to change on SQLite"},
    {11, "event checksums", R"sql(
-- event_checksum of the event's content, taken by the appending build (a CRC-32); NULL for
-- events appended before.
ALTER TABLE strata_events ADD COLUMN checksum INTEGER;
)sql"},
    {12, "event indexes by type and category", R"sql(
-- Pages of one type or category in position order (an index holds its rows' rowids, in order).
-- A category is a stream's name up to its first '-'.
CREATE INDEX strata_events_type ON strata_events (type);
CREATE INDEX strata_events_category
  ON strata_events (substr(stream, 1, instr(stream || '-', '-') - 1));
)sql"},
};

static_assert(std::size(kMigrations) == kSchemaVersion &&
              kMigrations[kSchemaVersion - 1].version == kSchemaVersion);

}  // namespace

std::span<const Migration> sqlite_migrations() {
  return kMigrations;
}

}  // namespace strata::detail
