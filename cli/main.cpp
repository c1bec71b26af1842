// strata: the command-line tool. Every command prints JSON lines; errors are one line on stderr.
#include <iostream>

#include "commands.h"
#include "strata/error.h"
#include "strata/version.h"

namespace {

int exit_code_for(strata::ErrorCode code) {
  switch (code) {
    case strata::ErrorCode::invalid_argument:
      return strata::cli::kExitUsage;
    case strata::ErrorCode::wrong_expected_version:
      return strata::cli::kExitWrongExpectedVersion;
    case strata::ErrorCode::not_found:
      return strata::cli::kExitNotFound;
    case strata::ErrorCode::stream_deleted:
      return strata::cli::kExitStreamDeleted;
    case strata::ErrorCode::incompatible_schema:
      return strata::cli::kExitIncompatibleSchema;
    default:
      return strata::cli::kExitFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strata::cli;
  CLI::App app{"strata: durable state (events, key-value, queues, locks) on SQLite or PostgreSQL"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("strata ") + strata::version() +
                                        " (schema version " +
                                        std::to_string(strata::latest_schema_version()) + ")");
  // Global options may come before or after the subcommand: a subcommand passes what it does
  // not know up to its parent (subcommands added below inherit this).
  app.fallthrough();
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return std::string("strata: ") + error.what() + " (see --help)\n";
  });
  Context context;
  context.url = default_store_url();
  app.add_option("--db", context.url, "Store URL (default: $STRATA_DB, else sqlite:strata.db)");
  add_migrate_command(app, context);
  add_events_commands(app, context);
  add_kv_commands(app, context);
  add_workflow_commands(app, context);
  add_queue_commands(app, context);
  add_lock_commands(app, context);
  add_snapshot_commands(app, context);
  add_stream_commands(app, context);
  add_metrics_commands(app, context);
  add_bench_commands(app, context);
  check_whole_numbers(app);
  try {
    app.parse(argc, argv);
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  } catch (const strata::Error& error) {
    std::cerr << "strata: " << error.what() << "\n";
    return exit_code_for(error.code());
  } catch (const std::exception& error) {
    std::cerr << "strata: " << error.what() << "\n";
    return kExitFailure;
  }
}
