// Every SQL statement the PostgreSQL backend sends, qualified with its schema once, at open.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace strata::detail {

// `name` as a quoted SQL identifier ("name", with inner quotes doubled).
std::string quote_identifier(std::string_view name);
// `sql` with each "{schema}" replaced by `quoted_schema`.
std::string with_schema(std::string_view sql, const std::string& quoted_schema);

struct PgSql {
  explicit PgSql(std::string quoted_schema);

  const std::string& read_all(bool by_category, bool by_type) const {
    return read_all_variants[(by_category ? 2 : 0) + (by_type ? 1 : 0)];
  }

  std::string schema;
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
  std::array<std::string, 4> read_all_variants;
  std::string stream_version;
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
  std::string queue_create;
  std::string queue_unkey_expired;
  std::string queue_insert;
  std::string queue_insert_many;
  std::string queue_notify = "SELECT pg_notify($1::text, $2::text)";
  std::string queue_dedup_id;
  std::string queue_bury_exhausted;
  std::string queue_reclaim;
  std::string queue_sweep;
  std::string queue_claim;
  std::string queue_plan_by_index = "SET LOCAL enable_bitmapscan TO off";
  std::string queue_plan_without_sort = "SET LOCAL enable_sort TO off";
  std::string queue_plan_default_bitmap = "SET LOCAL enable_bitmapscan TO DEFAULT";
  std::string queue_plan_default_sort = "SET LOCAL enable_sort TO DEFAULT";
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
