#include <charconv>
#include <iostream>
#include <stdexcept>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

ExpectedVersion parse_expected(const std::string& text) {
  if (text == "any") return ExpectedVersion::any();
  if (text == "no-stream") return ExpectedVersion::no_stream();
  if (text == "exists") return ExpectedVersion::stream_exists();
  std::int64_t version = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version < 0) {
    throw Error(ErrorCode::invalid_argument,
                "--expect '" + text + "' must be any, no-stream, exists or a version number");
  }
  return ExpectedVersion::exact(version);
}

void add_append(CLI::App& events, Context& context) {
  struct Options {
    std::string stream, type, expect = "any";
    std::optional<std::string> data, metadata, id;
  };
  auto options = std::make_shared<Options>();
  auto* append = events.add_subcommand("append", "Append one event; DATA from stdin if omitted");
  append->add_option("STREAM", options->stream, "Stream name")->required();
  append->add_option("TYPE", options->type, "Event type")->required();
  append->add_option("DATA", options->data, "Event data (JSON)");
  append->add_option("--metadata", options->metadata, "Event metadata (JSON)");
  append->add_option("--id", options->id, "Event id (UUID); generated when omitted");
  append->add_option("--expect", options->expect, "any | no-stream | exists | VERSION");
  append->callback([options, &context] {
    EventData event{options->type, options->data ? *options->data : read_stdin(), options->metadata,
                    options->id};
    const ExpectedVersion expected = parse_expected(options->expect);
    const AppendResult result = context.store().events().append(options->stream, event, expected);
    std::cout << append_line(options->stream, result) << "\n";
  });
}

void add_read(CLI::App& events, Context& context) {
  struct Options {
    std::string stream;
    std::optional<std::int64_t> from;
    std::optional<std::string> as_of;
    bool backward = false;
    std::size_t limit = 1000;
  };
  auto options = std::make_shared<Options>();
  auto* read = events.add_subcommand("read", "Read one stream in version order");
  read->add_option("STREAM", options->stream, "Stream name")->required();
  read->add_option("--from", options->from, "First version to read");
  read->add_flag("--backward", options->backward, "Read from the newest event back");
  read->add_option("--limit", options->limit, "Most events to print")->capture_default_str();
  read->add_option("--as-of", options->as_of,
                   "The stream as it stood at this time (RFC 3339): its events created until then");
  read->callback([options, &context] {
    StreamReadOptions read_options;
    if (options->as_of) read_options.as_of = parse_timestamp(*options->as_of);
    read_options.from = options->from;
    read_options.direction = options->backward ? Direction::backward : Direction::forward;
    read_options.limit = options->limit;
    for (const RecordedEvent& event :
         context.store().events().read_stream(options->stream, read_options)) {
      std::cout << event_line(event) << "\n";
    }
  });
}

// `events all` and `events category`: a read of the all-events order, forward or backward.
struct AllReadArguments {
  std::optional<std::string> after, before, category;
  bool backward = false;
  std::size_t limit = 1000;
  FilterOptions filter;

  void add_to(CLI::App& command) {
    command.add_option("--after", after, "Only events after this position");
    command.add_option("--before", before, "Only events before this position");
    command.add_flag("--backward", backward, "Read from the newest event (or --before) back");
    command.add_option("--limit", limit, "Most events to print")->capture_default_str();
    filter.add_to(command);
  }

  void print(Context& context) const {
    AllReadOptions read_options;
    if (after) read_options.after = Position::parse(*after);
    if (before) read_options.before = Position::parse(*before);
    read_options.direction = backward ? Direction::backward : Direction::forward;
    read_options.category = category;
    read_options.limit = limit;
    read_options.filter = filter.filter();
    for (const RecordedEvent& event : context.store().events().read_all(read_options)) {
      std::cout << event_line(event) << "\n";
    }
  }
};

void add_all(CLI::App& events, Context& context) {
  auto arguments = std::make_shared<AllReadArguments>();
  auto* all = events.add_subcommand("all", "Read every stream in the all-events order");
  all->add_option("--category", arguments->category, "Only streams of this category");
  arguments->add_to(*all);
  all->callback([arguments, &context] { arguments->print(context); });
}

void add_category(CLI::App& events, Context& context) {
  auto arguments = std::make_shared<AllReadArguments>();
  auto* category = events.add_subcommand(
      "category", "Read the streams of one category (names up to their first '-') in order");
  category->add_option("CATEGORY", arguments->category, "The category")->required();
  arguments->add_to(*category);
  category->callback([arguments, &context] { arguments->print(context); });
}

void add_search(CLI::App& events, Context& context) {
  struct Options {
    std::vector<std::string> words;
    std::optional<std::string> after;
    std::size_t limit = 100;
  };
  auto options = std::make_shared<Options>();
  auto* search = events.add_subcommand(
      "search", "Events whose data's strings hold every word, in order (needs the text index)");
  search->add_option("WORDS", options->words, "The words")->required();
  search->add_option("--after", options->after, "Only events after this position");
  search->add_option("--limit", options->limit, "Most events to print")->capture_default_str();
  search->callback([options, &context] {
    std::string words;
    for (const std::string& word : options->words) words += (words.empty() ? "" : " ") + word;
    const Position after = options->after ? Position::parse(*options->after) : Position::start();
    for (const RecordedEvent& event :
         context.store().events().search(words, after, options->limit)) {
      std::cout << event_line(event) << "\n";
    }
  });
}

void add_count(CLI::App& events, Context& context) {
  struct Options {
    std::optional<std::string> stream, category;
    FilterOptions filter;
  };
  auto options = std::make_shared<Options>();
  auto* count = events.add_subcommand("count", "Count events, by stream, category or filter");
  auto* stream = count->add_option("--stream", options->stream, "Only this stream");
  count->add_option("--category", options->category, "Only streams of this category")
      ->excludes(stream);
  options->filter.add_to(*count);
  count->callback([options, &context] {
    AllReadOptions read_options;
    read_options.stream = options->stream;
    read_options.category = options->category;
    read_options.filter = options->filter.filter();
    const std::uint64_t counted = context.store().events().count(read_options);
    std::cout << "{\"count\":" << counted << "}\n";
  });
}

// Prints each problem as a JSON line; exits 1 when there was one.
void add_verify(CLI::App& events, Context& context) {
  auto* verify = events.add_subcommand(
      "verify",
      "Check every stored event: versions, positions, ids, checksums (exit 1 on a fault)");
  verify->callback([&context] {
    const VerifySummary summary = context.store().events().verify([](const EventProblem& problem) {
      print({{"problem", to_string(problem.kind)},
             {"stream", problem.stream},
             {"version", problem.version},
             {"message", problem.message}});
    });
    const std::string checked =
        std::to_string(summary.events) + " events of " + std::to_string(summary.streams) +
        " streams (" + std::to_string(summary.without_checksum) + " from before checksums)";
    if (summary.problems > 0) {
      throw std::runtime_error(std::to_string(summary.problems) + " problems in " + checked);
    }
    std::cerr << "strata: verified " << checked << ": no problems\n";
  });
}

}  // namespace

void add_events_commands(CLI::App& app, Context& context) {
  auto* events = app.add_subcommand("events", "Append to and read event streams");
  events->require_subcommand(1);
  add_append(*events, context);
  add_read(*events, context);
  add_all(*events, context);
  add_category(*events, context);
  add_search(*events, context);
  add_count(*events, context);
  add_verify(*events, context);
  add_event_index_commands(*events, context);
  add_subscribe_command(*events, context);
}

}  // namespace strata::cli
