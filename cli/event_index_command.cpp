// strata events index add|drop|ls: the opt-in indexes of the events (Events::add_index).
#include "commands.h"
#include "output.h"

namespace strata::cli {
namespace {

// The INDEX argument: one of event_index_names().
void add_index_argument(CLI::App& command, std::string& name) {
  command.add_option("INDEX", name, "metadata, data or text")
      ->required()
      ->check(CLI::IsMember(event_index_names()));
}

}  // namespace

const std::vector<std::string>& event_index_names() {
  static const std::vector<std::string> names = {"metadata", "data", "text"};
  return names;
}

EventIndex event_index_named(const std::string& name) {
  if (name == "metadata") return EventIndex::metadata;
  if (name == "data") return EventIndex::data;
  return EventIndex::text;
}

void add_event_index_commands(CLI::App& events, Context& context) {
  auto* index = events.add_subcommand(
      "index", "Opt-in indexes for JSON filters (metadata, data) and words (text)");
  index->require_subcommand(1);
  auto chosen = std::make_shared<std::string>();

  auto* add = index->add_subcommand(
      "add", "Build an index while the store is in use; kept false: the backend has no such index");
  add_index_argument(*add, *chosen);
  add->callback([chosen, &context] {
    const bool kept = context.store().events().add_index(event_index_named(*chosen));
    print({{"index", *chosen}, {"kept", kept}});
  });

  auto* drop = index->add_subcommand("drop", "Drop an index");
  add_index_argument(*drop, *chosen);
  drop->callback([chosen, &context] {
    context.store().events().drop_index(event_index_named(*chosen));
    print({{"index", *chosen}, {"dropped", true}});
  });

  auto* list = index->add_subcommand("ls", "One JSON line per index the store has");
  list->callback([&context] {
    for (const EventIndex found : context.store().events().indexes()) {
      print({{"index", to_string(found)}});
    }
  });
}

}  // namespace strata::cli
