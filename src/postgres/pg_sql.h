// Every SQL statement the PostgreSQL backend sends, qualified with its schema once, at open.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "postgres/pg_consumers.h"
#include "postgres/pg_locks.h"
#include "postgres/pg_snapshots.h"
#include "postgres/pg_streams.h"

namespace strata::detail {

// Whether event `e` is retained: its stream's settings (max age, max count) do not hide it.
// Unqualified: pass it through with_schema.
std::string_view retained_event_sql();

// An advisory lock's key: a stable hash (e.g. of a stream's name), as the signed bigint
// PostgreSQL takes.
std::string advisory_lock_key(std::uint64_t hash);

// FROM clause giving the stream named by $1 as `last`: its version (NULL when never written), its
// last event's tx_id and whether it is tombstoned. Unqualified, as above.
std::string_view stream_state_sql();

// `name` as a quoted SQL identifier ("name", with inner quotes doubled).
std::string quote_identifier(std::string_view name);
// `sql` with each "{schema}" replaced by `quoted_schema`.
std::string with_schema(std::string_view sql, const std::string& quoted_schema);

struct PgSql {
  explicit PgSql(std::string quoted_schema);

  const std::string& read_all(bool by_category, bool by_type, bool by_stream) const {
    return read_all_variants[(by_stream ? 4 : 0) + (by_category ? 2 : 0) + (by_type ? 1 : 0)];
  }

  std::string schema;
  PgLockSql locks{schema};
  PgSnapshotSql snapshots{schema};
  PgStreamSql streams{schema};
  PgConsumerSql consumers{schema};
  // Appends rely on each statement seeing what committed before it, whatever the server's default.
  std::string begin = "BEGIN ISOLATION LEVEL READ COMMITTED";
  std::string commit = "COMMIT";
  std::string savepoint = "SAVEPOINT strata_append";
  std::string atomic_savepoint = "SAVEPOINT strata_atomic";
  std::string atomic_release = "RELEASE SAVEPOINT strata_atomic";
  std::string atomic_rollback =
      "ROLLBACK TO SAVEPOINT strata_atomic; RELEASE SAVEPOINT strata_atomic";
  std::string release_savepoint = "RELEASE SAVEPOINT strata_append";
  std::string rollback_savepoint =
      "ROLLBACK TO SAVEPOINT strata_append; RELEASE SAVEPOINT strata_append";
  std::string lock_stream = "SELECT pg_advisory_xact_lock($1::bigint)";
  std::string append_one;
  std::string append_many;
  std::string check_stream;
  std::string copy_events;
  std::string last_position;
  std::string events_by_id;
  std::string read_stream_forward;
  std::string read_stream_backward;
  std::array<std::string, 8> read_all_variants;
  std::string stream_info;
  std::string kv_get;
  std::string kv_upsert;
  std::string kv_insert_if_absent;
  std::string kv_update_at_version;
  std::string kv_live_version;
  std::string kv_upsert_many;
  std::string kv_copy;
  std::string kv_erase;
  std::string kv_erase_at_version;
  std::string kv_erase_many;
  std::string kv_count;
  std::string kv_scan;
  std::string kv_clear;
  std::string kv_find_value;
  std::string kv_find_metadata;
  std::string kv_search;
  std::string kv_purge_expired;
  std::string kv_checkpoint_header;
  std::string kv_checkpoint_copy;
  std::string kv_checkpoint_totals;
  std::string kv_checkpoint_list;
  std::string kv_checkpoint_exists;
  std::string kv_checkpoint_restore;
  std::string kv_lock_namespace;
  std::string kv_checkpoint_delete;
  std::string queue_config;
  std::string queue_names;
  std::string queue_create;
  std::string queue_unkey_expired;
  std::string queue_insert;
  std::string queue_insert_many;
  std::string notify = "SELECT pg_notify($1::text, $2::text)";
  std::string queue_dedup_id;
  std::string queue_bury_exhausted;
  std::string queue_reclaim;
  std::string queue_sweep;
  std::string queue_claim;
  // A queue grows far faster than its statistics follow, and a plan made for an empty queue
  // (a bitmap scan and a sort) reads the whole queue once it is full: a lease keeps its
  // statements to walking the indexes in order. That plan is right at every size, so it is
  // planned once and cached (left to choose, PostgreSQL plans a claim afresh on every call,
  // as its LIMIT is a parameter).
  std::string queue_plan_by_index =
      "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', "
      "true), set_config('plan_cache_mode', 'force_generic_plan', true)";
  // The same for a lease in a transaction of its own, committed without waiting for its WAL to
  // reach the disk: a crash can forget only the lease (the item is handed out again, as after
  // an expired lease), and any later commit, such as the item's completion, flushes it.
  std::string queue_plan_lease_alone =
      "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', "
      "true), set_config('plan_cache_mode', 'force_generic_plan', true), "
      "set_config('synchronous_commit', 'off', true)";
  std::string queue_plan_default =
      "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN "
      "('enable_bitmapscan', 'enable_sort', 'plan_cache_mode')";
  std::string queue_extend;
  std::string queue_complete;
  std::string queue_held_attempts;
  std::string queue_give_back;
  std::string queue_bury_held;
  std::string queue_stats;
  std::string queue_set_paused;
  std::string queue_purge;
  std::string queue_dead_letters;
  std::string queue_requeue;
  std::string queue_purge_dead;
  std::string workflow_save;
  std::string workflow_latest;
  std::string workflow_at_version;
  std::string workflow_list;
  std::string workflow_delete;
  std::string workflow_prune;
  std::string applied_version;
  std::string lock_migrations = "SELECT pg_advisory_xact_lock($1::bigint)";
  std::string create_migrations_table;
  std::string migration_applied;
  std::string record_migration;
};

}  // namespace strata::detail
