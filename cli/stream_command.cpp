#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

nlohmann::ordered_json settings_line(const std::string& stream, const StreamSettings& settings) {
  nlohmann::ordered_json line;
  line["stream"] = stream;
  line["max_age_seconds"] = nullptr;
  if (settings.max_age)
    line["max_age_seconds"] = static_cast<double>(settings.max_age->count()) / 1000;
  line["max_count"] = nullptr;
  if (settings.max_count) line["max_count"] = *settings.max_count;
  return line;
}

nlohmann::ordered_json time_or_null(const std::optional<Timestamp>& time) {
  if (!time) return nullptr;
  return format_timestamp(*time);
}

nlohmann::ordered_json summary_line(const StreamSummary& stream) {
  nlohmann::ordered_json line;
  line["stream"] = stream.name;
  line["version"] = stream.version;
  line["deleted"] = stream.deleted;
  line["first_created_at"] = time_or_null(stream.first_created_at);
  line["last_created_at"] = time_or_null(stream.last_created_at);
  return line;
}

struct Options {
  std::string stream;
  bool hard = false;
  std::int64_t before = 0;
  std::optional<double> max_age_seconds;
  std::optional<std::int64_t> max_count;
  bool clear = false;
};

}  // namespace

void add_stream_commands(CLI::App& app, Context& context) {
  auto* stream =
      app.add_subcommand("stream", "A stream's lifecycle: info, delete, truncate, retention");
  stream->require_subcommand(1);
  auto options = std::make_shared<Options>();

  auto* info = stream->add_subcommand("info", "Whether it has events, its version, its tombstone");
  info->add_option("STREAM", options->stream, "Stream")->required();
  info->callback([options, &context] {
    const StreamInfo found = context.store().events().stream_info(options->stream);
    print({{"stream", options->stream},
           {"exists", found.exists},
           {"version", found.version},
           {"deleted", found.deleted}});
  });

  auto* remove = stream->add_subcommand(
      "delete", "Remove its events (appends reopen it); --hard leaves a tombstone (exit 5 after)");
  remove->add_option("STREAM", options->stream, "Stream")->required();
  remove->add_flag("--hard", options->hard, "Tombstone: refuse every later append");
  remove->callback([options, &context] {
    const Events events = context.store().events();
    const std::size_t removed = options->hard ? events.tombstone_stream(options->stream)
                                              : events.delete_stream(options->stream);
    print({{"stream", options->stream}, {"removed", removed}, {"tombstoned", options->hard}});
  });

  auto* truncate = stream->add_subcommand("truncate", "Remove the events below a version");
  truncate->add_option("STREAM", options->stream, "Stream")->required();
  truncate->add_option("--before", options->before, "First version kept")->required();
  truncate->callback([options, &context] {
    const std::size_t removed =
        context.store().events().truncate_stream(options->stream, options->before);
    print({{"stream", options->stream}, {"removed", removed}});
  });

  auto* settings = stream->add_subcommand("settings", "Show or set max age and max count");
  settings->add_option("STREAM", options->stream, "Stream")->required();
  settings->add_option("--max-age", options->max_age_seconds, "Keep events this many seconds")
      ->check(seconds_range());
  settings->add_option("--max-count", options->max_count, "Keep the newest N events");
  settings->add_flag("--clear", options->clear, "Lift both limits");
  settings->callback([options, &context] {
    const Events events = context.store().events();
    if (options->clear || options->max_age_seconds || options->max_count) {
      StreamSettings wanted;
      if (options->max_age_seconds) wanted.max_age = seconds(*options->max_age_seconds);
      wanted.max_count = options->max_count;
      events.set_stream_settings(options->stream, wanted);
    }
    print(settings_line(options->stream, events.stream_settings(options->stream)));
  });

  auto* streams = app.add_subcommand("streams", "List streams");
  streams->require_subcommand(1);
  auto listing = std::make_shared<StreamListOptions>();
  auto* ls = streams->add_subcommand(
      "ls", "One JSON line per stream, in name order: pass the last name to --after for more");
  auto* prefix = ls->add_option("--prefix", listing->prefix, "Names starting with P");
  ls->add_option("--category", listing->category, "Names whose part up to the first '-' is C")
      ->excludes(prefix);
  ls->add_option("--after", listing->after, "Names after this one (the previous page's last)");
  ls->add_option("--limit", listing->limit, "At most N streams")->capture_default_str();
  ls->callback([listing, &context] {
    for (const StreamSummary& found : context.store().events().list_streams(*listing)) {
      print(summary_line(found));
    }
  });

  auto* enforce = stream->add_subcommand("enforce", "Remove every event streams' settings hide");
  enforce->callback([&context] {
    print({{"removed", context.store().events().enforce_retention()}});
  });
}

}  // namespace strata::cli
