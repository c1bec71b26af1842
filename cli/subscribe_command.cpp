#include <iostream>

#include "commands.h"
#include "output.h"

namespace strata::cli {
namespace {

struct Options {
  std::optional<std::string> category, stream, after, consumer;
  std::size_t group_size = 1;
  std::size_t member = 0;
  std::optional<std::size_t> max_events;
  std::optional<double> idle_seconds;
  FilterOptions filter;
};

// Counts printed events against --max-events and time without events against --idle.
class Stopwatch {
 public:
  explicit Stopwatch(const Options& options) : options_(options) {}

  void printed(std::size_t count) {
    printed_ += count;
    if (count > 0) last_event_ = std::chrono::steady_clock::now();
  }
  bool done() const {
    if (options_.max_events && printed_ >= *options_.max_events) return true;
    return options_.idle_seconds &&
           std::chrono::steady_clock::now() - last_event_ >= seconds(*options_.idle_seconds);
  }
  // How many events the next poll may take.
  std::size_t batch() const {
    const std::size_t wanted = options_.max_events ? *options_.max_events - printed_ : kBatch;
    return std::min(wanted, kBatch);
  }

 private:
  static constexpr std::size_t kBatch = 100;
  const Options& options_;
  std::size_t printed_ = 0;
  std::chrono::steady_clock::time_point last_event_ = std::chrono::steady_clock::now();
};

constexpr std::chrono::milliseconds kWait{500};

void follow(Store& store, const Options& options) {
  Stopwatch stopwatch(options);
  SubscriptionOptions subscription;
  if (options.after) subscription.after = Position::parse(*options.after);
  subscription.category = options.category;
  subscription.stream = options.stream;
  subscription.filter = options.filter.filter();
  subscription.batch = stopwatch.batch();
  Subscription feed = store.subscribe(subscription);
  while (!stopwatch.done()) {
    const auto events = feed.poll(kWait);
    for (const RecordedEvent& event : events) std::cout << event_line(event) << "\n";
    std::cout.flush();
    stopwatch.printed(events.size());
  }
}

// Prints each event inside the consumer's transaction, so the checkpoint moves only past events
// printed (an event may print twice if the commit fails, never zero times).
void consume(Store& store, const Options& options) {
  Stopwatch stopwatch(options);
  ConsumerOptions consumer_options;
  consumer_options.category = options.category;
  consumer_options.stream = options.stream;
  consumer_options.filter = options.filter.filter();
  consumer_options.group_size = options.group_size;
  consumer_options.member = options.member;
  consumer_options.batch = stopwatch.batch();
  Consumer consumer = store.consumer(*options.consumer, consumer_options);
  if (options.after) consumer.reset(Position::parse(*options.after));
  while (!stopwatch.done()) {
    std::size_t printed = 0;
    consumer.poll(
        [&](Transaction&, const RecordedEvent& event) {
          std::cout << event_line(event) << "\n";
          ++printed;
        },
        kWait);
    std::cout.flush();
    stopwatch.printed(printed);
  }
}

}  // namespace

void add_subscribe_command(CLI::App& events, Context& context) {
  auto options = std::make_shared<Options>();
  auto* subscribe = events.add_subcommand(
      "subscribe", "Follow events live, as `events all` prints them (catch-up first)");
  auto* category = subscribe->add_option("--category", options->category, "Only this category");
  subscribe->add_option("--stream", options->stream, "Only this stream")->excludes(category);
  subscribe->add_option("--after", options->after,
                        "Start after this position (with --consumer: move its checkpoint there)");
  subscribe->add_option("--consumer", options->consumer,
                        "Resume from, and advance, this durable consumer's checkpoint");
  subscribe->add_option("--group-size", options->group_size, "Consumer group size")
      ->capture_default_str();
  subscribe->add_option("--member", options->member, "This member of the group (from 0)")
      ->capture_default_str();
  options->filter.add_to(*subscribe);
  subscribe->add_option("--max-events", options->max_events, "Stop after this many events");
  subscribe->add_option("--idle", options->idle_seconds, "Stop after this many seconds without")
      ->check(seconds_range());
  subscribe->callback([options, &context] {
    if (options->consumer) {
      consume(context.store(), *options);
    } else {
      follow(context.store(), *options);
    }
  });
}

}  // namespace strata::cli
