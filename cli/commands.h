// Each command group adds its subcommands to the app; their callbacks do the work.
#pragma once

#include <CLI/CLI.hpp>

#include "context.h"

namespace strata::cli {

void add_migrate_command(CLI::App& app, Context& context);
void add_events_commands(CLI::App& app, Context& context);
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

}  // namespace strata::cli
