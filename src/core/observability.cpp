#include <chrono>

#include "core/backend.h"
#include "core/migration.h"
#include "core/session_runner.h"
#include "strata/store.h"

namespace strata {
namespace {

StoreStats stats_of(const std::shared_ptr<detail::Backend>& backend) {
  return detail::run_on_session(
      detail::Scope{backend}, "store.stats", detail::Call::read, [&](detail::Session& session) {
        const detail::StorageStats storage = session.stats().storage();
        StoreStats stats{storage.events, storage.streams, storage.bytes, storage.namespaces, {}};
        for (std::string& queue : session.queues().names()) {
          QueueStats queue_stats = session.queues().stats(queue);
          stats.queues.push_back(QueueSummary{std::move(queue), queue_stats});
        }
        return stats;
      });
}

// Gauges and totals read at scrape time: the pool's state, the store's counts and each queue's
// depth.
std::string scraped(const std::shared_ptr<detail::Backend>& backend) {
  detail::Metrics now;
  const std::string_view name = backend->name();
  const detail::PoolStats pool = backend->pool_stats();
  now.set("strata_pool_connections", {{"backend", name}, {"state", "in_use"}}, pool.in_use);
  now.set("strata_pool_connections", {{"backend", name}, {"state", "idle"}}, pool.idle);
  now.set("strata_pool_waiting", {{"backend", name}}, pool.waiting);
  now.add("strata_pool_acquisitions_total", {{"backend", name}},
          static_cast<double>(pool.acquisitions));
  now.add("strata_pool_timeouts_total", {{"backend", name}}, static_cast<double>(pool.timeouts));
  now.add("strata_pool_acquire_wait_seconds_total", {{"backend", name}}, pool.wait_seconds);
  const StoreStats stats = stats_of(backend);
  now.set("strata_store_events", {}, static_cast<double>(stats.events));
  now.set("strata_store_streams", {}, static_cast<double>(stats.streams));
  now.set("strata_store_bytes", {}, static_cast<double>(stats.bytes));
  for (const NamespaceStats& kv : stats.namespaces) {
    now.set("strata_kv_keys", {{"namespace", kv.name}}, static_cast<double>(kv.keys));
    now.set("strata_kv_bytes", {{"namespace", kv.name}}, static_cast<double>(kv.bytes));
  }
  for (const QueueSummary& queue : stats.queues) {
    for (const auto& [state, count] :
         {std::pair{"ready", queue.stats.ready}, std::pair{"scheduled", queue.stats.scheduled},
          std::pair{"leased", queue.stats.leased}, std::pair{"dead", queue.stats.dead}}) {
      now.set("strata_queue_items", {{"queue", queue.name}, {"state", state}},
              static_cast<double>(count));
    }
  }
  return now.prometheus_text();
}

}  // namespace

StoreStats Store::stats() const {
  return stats_of(backend_);
}

std::string Store::metrics() const {
  return scraped(backend_) + backend_->metrics().prometheus_text();
}

Health Store::health() const {
  Health health;
  health.backend = std::string(backend_->name());
  health.expected_schema_version = detail::kSchemaVersion;
  const auto start = std::chrono::steady_clock::now();
  detail::SchemaState state;
  try {
    state = backend_->schema_state();
    health.schema_version = state.version;
    health.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    detail::check_compatible(state);
  } catch (const Error& error) {
    health.error = error.what();
    return health;
  }
  if (health.schema_version < health.expected_schema_version) {
    health.error = "schema version " + std::to_string(health.schema_version) + ", expected " +
                   std::to_string(health.expected_schema_version) + " (run strata migrate)";
  } else if (state.restored_behind) {
    health.error =
        "restored into a cluster whose transaction ids lie below the store's events: appends "
        "would sort before them (run strata migrate)";
  }
  health.ok = health.error.empty();
  return health;
}

}  // namespace strata
