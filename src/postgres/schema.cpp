#include "postgres/schema.h"

namespace strata::detail {
namespace {

constexpr Migration kMigrations[] = {
    {1, "event streams", R"sql(
CREATE TABLE {schema}.events (
  position   bigint GENERATED ALWAYS AS IDENTITY,
  tx_id      xid8 NOT NULL DEFAULT pg_current_xact_id(),  -- with position: the all-events order
  stream     text NOT NULL,
  version    bigint NOT NULL,
  id         uuid NOT NULL,
  type       text NOT NULL,
  data       json NOT NULL,   -- json, not jsonb: returned byte for byte as written
  metadata   json,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (stream, version)  -- also gives a stream's current version: its last event
);
CREATE UNIQUE INDEX events_id ON {schema}.events (id);
CREATE UNIQUE INDEX events_order ON {schema}.events (tx_id, position);
)sql"},
    {2, "key-value state", R"sql(
CREATE TABLE {schema}.kv (
  namespace  text NOT NULL,
  key        bytea NOT NULL,
  value      bytea NOT NULL,
  value_json jsonb,         -- the value, when it is JSON: what find and search look at
  version    bigint NOT NULL,
  metadata   json,          -- json, not jsonb: returned byte for byte as written
  expires_at timestamptz,   -- NULL: never
  PRIMARY KEY (namespace, key)
);
CREATE INDEX kv_expiry ON {schema}.kv (namespace, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX kv_value_json ON {schema}.kv USING gin (value_json jsonb_path_ops);
CREATE INDEX kv_metadata_json ON {schema}.kv USING gin ((metadata::jsonb) jsonb_path_ops);
CREATE INDEX kv_value_text ON {schema}.kv USING gin (to_tsvector('simple', value_json));

CREATE TABLE {schema}.kv_checkpoints (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace  text NOT NULL,
  created_at timestamptz NOT NULL,
  entries    bigint NOT NULL,
  bytes      bigint NOT NULL
);
CREATE INDEX kv_checkpoints_namespace ON {schema}.kv_checkpoints (namespace, id);
CREATE TABLE {schema}.kv_checkpoint_entries (
  checkpoint_id bigint NOT NULL REFERENCES {schema}.kv_checkpoints ON DELETE CASCADE,
  key           bytea NOT NULL,
  value         bytea NOT NULL,
  value_json    jsonb,
  version       bigint NOT NULL,
  metadata      json,
  expires_at    timestamptz,
  PRIMARY KEY (checkpoint_id, key)
);

CREATE TABLE {schema}.workflow_checkpoints (
  workflow   text NOT NULL,
  version    bigint NOT NULL,
  state      json NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (workflow, version)
);
)sql"},
};

}  // namespace

std::span<const Migration> postgres_migrations() {
  return kMigrations;
}

}  // namespace strata::detail
