#include <iostream>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

std::string checkpoint_line(const WorkflowCheckpoint& checkpoint) {
  nlohmann::ordered_json line;
  line["workflow"] = checkpoint.workflow;
  line["version"] = checkpoint.version;
  line["state"] = nullptr;
  line["created_at"] = format_timestamp(checkpoint.created_at);
  std::string text = line.dump();
  const std::string placeholder = "\"state\":null";
  text.replace(text.rfind(placeholder), placeholder.size(),
               "\"state\":" + one_line(checkpoint.state));
  return text;
}

WorkflowCheckpoint found(std::optional<WorkflowCheckpoint> checkpoint, const std::string& what) {
  if (!checkpoint) throw Error(ErrorCode::not_found, what + " not found");
  return *checkpoint;
}

}  // namespace

void add_workflow_commands(CLI::App& app, Context& context) {
  auto* workflow = app.add_subcommand("workflow", "Numbered checkpoints of workflow state (JSON)");
  workflow->require_subcommand(1);
  struct Options {
    std::string name;
    std::optional<std::string> state;
    std::optional<std::int64_t> version;
    std::size_t keep = 1;
  };
  auto options = std::make_shared<Options>();

  auto* save =
      workflow->add_subcommand("save", "Save the next version; STATE from stdin if omitted");
  save->add_option("WORKFLOW", options->name, "Workflow name")->required();
  save->add_option("STATE", options->state, "State (JSON)");
  save->callback([options, &context] {
    const auto saved = context.store().workflows().save(
        options->name, options->state ? *options->state : read_stdin());
    std::cout << checkpoint_line(saved) << "\n";
  });

  auto* latest = workflow->add_subcommand("latest", "The newest checkpoint (exit 4 when none)");
  latest->add_option("WORKFLOW", options->name, "Workflow name")->required();
  latest->callback([options, &context] {
    std::cout << checkpoint_line(found(context.store().workflows().latest(options->name),
                                       "workflow '" + options->name + "'"))
              << "\n";
  });

  auto* get = workflow->add_subcommand("get", "One version (exit 4 when missing)");
  get->add_option("WORKFLOW", options->name, "Workflow name")->required();
  get->add_option("VERSION", options->version, "Version")->required();
  get->callback([options, &context] {
    const std::string what =
        "version " + std::to_string(*options->version) + " of workflow '" + options->name + "'";
    std::cout << checkpoint_line(
                     found(context.store().workflows().get(options->name, *options->version), what))
              << "\n";
  });

  auto* list = workflow->add_subcommand("list", "Every checkpoint, oldest first");
  list->add_option("WORKFLOW", options->name, "Workflow name")->required();
  list->callback([options, &context] {
    for (const auto& checkpoint : context.store().workflows().list(options->name)) {
      std::cout << checkpoint_line(checkpoint) << "\n";
    }
  });

  auto* prune = workflow->add_subcommand("prune", "Keep only the newest versions");
  prune->add_option("WORKFLOW", options->name, "Workflow name")->required();
  prune->add_option("--keep", options->keep, "How many to keep")->capture_default_str();
  prune->callback([options, &context] {
    const std::size_t deleted = context.store().workflows().prune(options->name, options->keep);
    std::cout << nlohmann::ordered_json{{"deleted", deleted}}.dump() << "\n";
  });

  auto* erase = workflow->add_subcommand("delete", "Delete one version, or all of them");
  erase->add_option("WORKFLOW", options->name, "Workflow name")->required();
  erase->add_option("VERSION", options->version, "Version (all when omitted)");
  erase->callback([options, &context] {
    const auto workflows = context.store().workflows();
    const std::size_t deleted = options->version
                                    ? (workflows.erase(options->name, *options->version) ? 1 : 0)
                                    : workflows.erase_all(options->name);
    std::cout << nlohmann::ordered_json{{"deleted", deleted}}.dump() << "\n";
  });
}

}  // namespace strata::cli
