#include <iostream>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

// {"stream","version","state","created_at"}, with the state embedded as the JSON it is.
std::string snapshot_line(const Snapshot& snapshot) {
  nlohmann::ordered_json line;
  line["stream"] = snapshot.stream;
  line["version"] = snapshot.version;
  line["state"] = nlohmann::ordered_json::parse(snapshot.state);
  line["created_at"] = format_timestamp(snapshot.created_at);
  return line.dump();
}

struct Options {
  std::string stream;
  std::int64_t version = 0;
  std::optional<std::int64_t> at_or_below;
  std::optional<std::string> state;
  std::optional<std::size_t> keep;
  std::optional<double> max_age_seconds;
};

}  // namespace

void add_snapshot_commands(CLI::App& app, Context& context) {
  auto* snapshot = app.add_subcommand("snapshot", "Snapshots of a stream's state at a version");
  snapshot->require_subcommand(1);
  auto options = std::make_shared<Options>();

  auto* save = snapshot->add_subcommand("save", "Save STATE (stdin if omitted) at VERSION");
  save->add_option("STREAM", options->stream, "Stream")->required();
  save->add_option("VERSION", options->version, "Stream version the state reflects")->required();
  save->add_option("STATE", options->state, "State (JSON)");
  save->callback([options, &context] {
    std::cout << snapshot_line(context.store().snapshots().save(
                     options->stream, options->version,
                     options->state ? *options->state : read_stdin()))
              << "\n";
  });

  auto* load = snapshot->add_subcommand("load", "The newest snapshot (exit 4 when none)");
  load->add_option("STREAM", options->stream, "Stream")->required();
  load->add_option("--version", options->at_or_below, "At or below this version");
  load->callback([options, &context] {
    const auto found = context.store().snapshots().load(options->stream, options->at_or_below);
    if (!found) throw Error(ErrorCode::not_found, "no snapshot of '" + options->stream + "'");
    std::cout << snapshot_line(*found) << "\n";
  });

  auto* list = snapshot->add_subcommand("ls", "Every snapshot of a stream, oldest first");
  list->add_option("STREAM", options->stream, "Stream")->required();
  list->callback([options, &context] {
    for (const Snapshot& found : context.store().snapshots().list(options->stream)) {
      std::cout << snapshot_line(found) << "\n";
    }
  });

  auto* prune = snapshot->add_subcommand("prune", "Delete old snapshots of one or every stream");
  prune->add_option("STREAM", options->stream, "Stream (default: every stream)");
  prune->add_option("--keep", options->keep, "Keep the newest N of each stream");
  prune->add_option("--max-age", options->max_age_seconds, "Delete those older (seconds)")
      ->check(seconds_range());
  prune->callback([options, &context] {
    SnapshotRetention retention{options->keep, std::nullopt};
    if (options->max_age_seconds) retention.max_age = seconds(*options->max_age_seconds);
    const Snapshots snapshots = context.store().snapshots();
    const std::size_t pruned = options->stream.empty()
                                   ? snapshots.prune_all(retention)
                                   : snapshots.prune(options->stream, retention);
    print({{"pruned", pruned}});
  });
}

}  // namespace strata::cli
