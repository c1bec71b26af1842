#include "commands.h"

namespace strata::cli {

void FilterOptions::add_to(CLI::App& command) {
  command.add_option("--type", types, "Only events of this type (repeat for any of several)");
  command.add_option("--since", since, "Only events created at or after this time (RFC 3339)");
  command.add_option("--until", until, "Only events created before this time (RFC 3339)");
  command.add_option("--metadata", metadata, "Only events whose metadata contains this JSON");
  command.add_option("--data", data, "Only events whose data contains this JSON");
  command.add_option("--words", words,
                     "Only events whose data's strings hold every word (needs the text index)");
}

EventFilter FilterOptions::filter() const {
  EventFilter filter;
  filter.types = types;
  if (since) filter.since = parse_timestamp(*since);
  if (until) filter.until = parse_timestamp(*until);
  filter.metadata = metadata;
  filter.data = data;
  filter.words = words;
  return filter;
}

}  // namespace strata::cli
