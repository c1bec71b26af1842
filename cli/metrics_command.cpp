#include <iostream>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {

void add_metrics_commands(CLI::App& app, Context& context) {
  auto* metrics = app.add_subcommand(
      "metrics", "This process's metrics, the pool and queue depths, in Prometheus text format");
  metrics->callback([&context] { std::cout << context.store().metrics(); });

  auto* stats = app.add_subcommand(
      "stats", "The store's counts and size: events, streams, key-value namespaces, queues");
  stats->callback([&context] {
    const StoreStats found = context.store().stats();
    nlohmann::ordered_json namespaces = nlohmann::ordered_json::array();
    for (const NamespaceStats& kv : found.namespaces) {
      namespaces.push_back({{"name", kv.name}, {"keys", kv.keys}, {"bytes", kv.bytes}});
    }
    nlohmann::ordered_json queues = nlohmann::ordered_json::array();
    for (const QueueSummary& queue : found.queues) {
      queues.push_back({{"name", queue.name},
                        {"ready", queue.stats.ready},
                        {"scheduled", queue.stats.scheduled},
                        {"leased", queue.stats.leased},
                        {"dead", queue.stats.dead}});
    }
    print({{"events", found.events},
           {"streams", found.streams},
           {"bytes", found.bytes},
           {"namespaces", namespaces},
           {"queues", queues}});
  });

  auto* health =
      app.add_subcommand("health", "Check the store: reachable and up to date (exit 1 if not)");
  health->callback([&context] {
    // Opened without migrating, so that an out-of-date schema shows.
    const Health found =
        Store::open(context.url, OpenOptions{.migrate = false, .must_exist = true}).health();
    print({{"ok", found.ok},
           {"backend", found.backend},
           {"schema_version", found.schema_version},
           {"expected_schema_version", found.expected_schema_version},
           {"latency_ms", found.latency_ms},
           {"error",
            found.error.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(found.error)}});
    if (!found.ok) throw Error(ErrorCode::unavailable, "unhealthy: " + found.error);
  });
}

}  // namespace strata::cli
