// Each command group adds its subcommands to the app; their callbacks do the work.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "context.h"
#include "strata/event.h"

namespace strata::cli {

// Checks an option given in (possibly fractional) seconds: a number from 0 to kMaxDuration.
// Every such option carries it, so that seconds() below never overflows.
CLI::Validator seconds_range();
// Checks every integer option of `app` and its subcommands to hold its number exactly.
void check_whole_numbers(CLI::App& app);
// A duration given in seconds, checked by seconds_range(), to the nearest millisecond.
std::chrono::milliseconds seconds(double value);

// The event filter options of `events all`, `events category` and `events subscribe`: --type
// (repeatable), --since, --until, --metadata and --data.
struct FilterOptions {
  std::vector<std::string> types;
  std::optional<std::string> since, until, metadata, data, words;

  void add_to(CLI::App& command);
  // Throws Error(invalid_argument) for a time parse_timestamp refuses.
  EventFilter filter() const;
};

void add_migrate_command(CLI::App& app, Context& context);
void add_events_commands(CLI::App& app, Context& context);
// The opt-in event indexes' names ("metadata", "data", "text"), and the index a name names.
const std::vector<std::string>& event_index_names();
// `name` is one of event_index_names().
EventIndex event_index_named(const std::string& name);
// `events index`, under the events command.
void add_event_index_commands(CLI::App& events, Context& context);
// `events subscribe`, under the events command.
void add_subscribe_command(CLI::App& events, Context& context);
void add_kv_commands(CLI::App& app, Context& context);
void add_workflow_commands(CLI::App& app, Context& context);
void add_queue_commands(CLI::App& app, Context& context);
void add_lock_commands(CLI::App& app, Context& context);
void add_snapshot_commands(CLI::App& app, Context& context);
void add_stream_commands(CLI::App& app, Context& context);
void add_metrics_commands(CLI::App& app, Context& context);
void add_bench_commands(CLI::App& app, Context& context);
// `bench subscribe`, under the bench command.
void add_subscribe_bench(CLI::App& bench, Context& context);
void add_query_bench(CLI::App& bench, Context& context);

}  // namespace strata::cli
