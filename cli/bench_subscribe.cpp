// strata bench subscribe: how long an appended event takes to reach a live subscriber, under a
// steady load of single-event appends, beside how long the same database takes to commit a bare
// INSERT at the same rate (no delivery can be faster than the commit it waits for).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "baseline.h"
#include "bench_stats.h"
#include "commands.h"

namespace strata::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double p50_ms = 0;
  double p99_ms = 0;
  std::size_t samples = 0;
};

Figures figures_of(const std::vector<double>& latencies_ms) {
  if (latencies_ms.empty()) return {};
  return Figures{percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
                 latencies_ms.size()};
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Calls `write(i)` at `rate` per second for `seconds`, catching up without sleeping when late.
template <class Write>
void paced(double rate, double seconds, Write&& write) {
  const auto start = Clock::now();
  const auto count = static_cast<std::size_t>(rate * seconds);
  for (std::size_t i = 0; i < count; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i / rate)));
    write(i);
  }
}

// Append-to-delivery: each event's creation time (stamped just before its append is sent)
// against the moment a subscriber in another thread, on its own connection, received it.
Figures delivery(Store& store, double rate, double seconds) {
  std::vector<double> latencies;
  std::atomic<bool> writing{true};
  std::thread subscriber([&] {
    Subscription feed = store.subscribe();
    while (writing) {
      for (const RecordedEvent& event : feed.poll(std::chrono::milliseconds(200))) {
        latencies.push_back(wall_ms() - static_cast<double>(event.created_at) / 1000);
      }
    }
  });
  const auto events = store.events();
  const EventData tick{"Tick", R"({"n":1})", std::nullopt, std::nullopt};
  paced(rate, seconds,
        [&](std::size_t i) { events.append("bench-" + std::to_string(i % 100), tick); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // The last deliveries.
  writing = false;
  subscriber.join();
  return figures_of(latencies);
}

// The baseline: a bare prepared INSERT and its commit, at the same rate.
Figures commit_latency(bench::Baseline& baseline, double rate, double seconds) {
  auto connection = baseline.connect();
  std::vector<double> latencies;
  paced(rate, seconds, [&](std::size_t i) {
    const auto start = Clock::now();
    connection->write_single("raw-" + std::to_string(i), 1, R"({"n":1})");
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  });
  return figures_of(latencies);
}

void print(std::string_view backend, double rate, const Figures& strata, const Figures& baseline,
           bool held, bool json) {
  if (json) {
    nlohmann::ordered_json line;
    line["scenario"] = held ? "subscribe_delivery_with_held_transaction" : "subscribe_delivery";
    line["backend"] = backend;
    line["appends_per_s"] = rate;
    line["delivered"] = strata.samples;
    line["p50_ms"] = std::round(strata.p50_ms * 1000) / 1000;
    line["p99_ms"] = std::round(strata.p99_ms * 1000) / 1000;
    line["baseline_commit_p50_ms"] = std::round(baseline.p50_ms * 1000) / 1000;
    line["baseline_commit_p99_ms"] = std::round(baseline.p99_ms * 1000) / 1000;
    std::cout << line.dump() << "\n";
    return;
  }
  std::printf("%-26s %-9s %10s %12s %7s\n", "latency", "backend", "strata ms", "baseline ms",
              "ratio");
  std::printf("%-26s %-9s %10.3f %12.3f %7.2f\n", "append_to_delivery_p50",
              std::string(backend).c_str(), strata.p50_ms, baseline.p50_ms,
              strata.p50_ms / baseline.p50_ms);
  std::printf("%-26s %-9s %10.3f %12.3f %7.2f\n", "append_to_delivery_p99",
              std::string(backend).c_str(), strata.p99_ms, baseline.p99_ms,
              strata.p99_ms / baseline.p99_ms);
  std::printf("(%zu events delivered at %.0f appends/s%s; baseline: a bare INSERT's commit)\n",
              strata.samples, rate,
              held ? ", another session holding a writing transaction open" : "");
}

}  // namespace

void add_subscribe_bench(CLI::App& bench, Context& context) {
  struct Options {
    double seconds = 10;
    double rate = 1000;
    bool hold_transaction = false;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* subscribe = bench.add_subcommand(
      "subscribe", "Append-to-delivery latency of a live subscriber under a steady append load");
  subscribe->add_option("--seconds", options->seconds, "Seconds of load")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  subscribe->add_option("--rate", options->rate, "Appends per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  subscribe->add_flag("--hold-transaction", options->hold_transaction,
                      "While the load runs, another session holds a writing transaction open, "
                      "as another application's idle one would (PostgreSQL)");
  subscribe->add_flag("--json", options->json, "One JSON object");
  subscribe->callback([options, &context] {
    auto baseline = bench::Baseline::create(context.url);
    Store store = Store::open(baseline->store_url());
    baseline->create_table();
    std::unique_ptr<bench::BaselineConnection> holder;
    if (options->hold_transaction) {
      holder = baseline->connect();
      holder->hold_writing_transaction();
    }
    const Figures strata = delivery(store, options->rate, options->seconds);
    holder.reset();
    const Figures raw = commit_latency(*baseline, options->rate, options->seconds);
    print(store.backend_name(), options->rate, strata, raw, options->hold_transaction,
          options->json);
  });
}

}  // namespace strata::cli
