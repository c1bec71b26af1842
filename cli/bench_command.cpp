// strata bench events: Strata's throughput beside the raw limit of the same database, measured
// in the same run on a scratch database (see bench/baseline.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "baseline.h"
#include "bench_stats.h"
#include "commands.h"

namespace strata::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kStreams = 1000;

// About 200 bytes of JSON, shaped like a business event.
std::string event_data() {
  std::string data = R"({"order_id":"o-000123","customer":"c-4711","sku":"sku-88","quantity":3,)"
                     R"("unit_price":19.99,"currency":"EUR","note":")";
  data += std::string(200 - data.size() - 2, 'x');
  return data + "\"}";
}

using Step = std::function<std::size_t(int thread, std::size_t iteration)>;

struct Tally {
  std::size_t events = 0;
  double seconds = 0;
};

// Runs `step(thread, iteration)` on `threads` threads for `seconds`, counting from `first`; each
// step returns how many events it handled.
Tally run_for(int threads, double seconds, const Step& step, std::size_t first) {
  std::atomic<std::size_t> total{0};
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(threads));
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        std::size_t done = 0;
        for (std::size_t i = first; Clock::now() < deadline; ++i) done += step(t, i);
        total += done;
      } catch (...) {
        failures[static_cast<std::size_t>(t)] = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  return Tally{total, std::chrono::duration<double>(Clock::now() - start).count()};
}

struct Result {
  std::string scenario;
  double ops_per_s;
  double baseline_ops_per_s;
};

// Measures Strata and the baseline in alternating rounds, so that a machine that speeds up or
// slows down during the run weighs on both alike. Returns events per second for each.
constexpr int kRounds = 3;
Result compare(std::string scenario, int threads, double seconds, const Step& strata,
               const Step& baseline) {
  Tally ours, raw;
  for (int round = 0; round < kRounds; ++round) {
    const Tally a = run_for(threads, seconds / kRounds, strata, ours.events);
    const Tally b = run_for(threads, seconds / kRounds, baseline, raw.events);
    ours = Tally{ours.events + a.events, ours.seconds + a.seconds};
    raw = Tally{raw.events + b.events, raw.seconds + b.seconds};
  }
  return Result{std::move(scenario), static_cast<double>(ours.events) / ours.seconds,
                static_cast<double>(raw.events) / raw.seconds};
}

class EventsBench {
 public:
  // With `indexes` added to the store only: the baseline table keeps the events table's own.
  EventsBench(const std::string& url, double seconds, const std::vector<EventIndex>& indexes)
      : baseline_(bench::Baseline::create(url)),
        store_(Store::open(baseline_->store_url())),
        seconds_(seconds),
        data_(event_data()) {
    baseline_->create_table();
    for (const EventIndex index : indexes) {
      if (!store_.events().add_index(index)) {
        throw Error(ErrorCode::invalid_argument,
                    std::string("this backend keeps no ") + to_string(index) + " index");
      }
    }
  }

  // Runs the scenarios whose names contain `only` (all when empty).
  std::vector<Result> run(const std::string& only) {
    const std::vector<std::pair<std::string, std::function<Result()>>> scenarios = {
        {"append_batch_1", [&] { return batched(1); }},
        {"append_batch_100", [&] { return batched(100); }},
        {"append_batch_1000", [&] { return batched(1000); }},
        {"append_single_1_writer", [&] { return single(1); }},
        {"append_single_8_writers", [&] { return single(8); }},
        {"read_all", [&] { return read_all(); }},
    };
    std::vector<Result> results;
    for (const auto& [name, run_scenario] : scenarios) {
      if (name.find(only) != std::string::npos) results.push_back(run_scenario());
    }
    return results;
  }

  std::string_view backend() const { return store_.backend_name(); }

 private:
  Result batched(std::size_t size) {
    const std::vector<EventData> batch(size, EventData{"BenchEvent", data_, {}, {}});
    auto events = store_.events();
    auto raw = baseline_->connect();
    std::vector<std::int64_t> versions(kStreams, 0);
    return compare(
        "append_batch_" + std::to_string(size), 1, seconds_,
        [&](int, std::size_t i) {
          events.append("bench-" + std::to_string(i % kStreams), batch);
          return size;
        },
        [&](int, std::size_t i) {
          auto& version = versions[i % kStreams];
          raw->write_batch("batch" + std::to_string(size) + "-" + std::to_string(i % kStreams),
                           version + 1, size, data_);
          version += static_cast<std::int64_t>(size);
          return size;
        });
  }

  Result single(int writers) {
    const EventData one{"BenchEvent", data_, {}, {}};
    std::vector<std::unique_ptr<bench::BaselineConnection>> connections;
    for (int t = 0; t < writers; ++t) connections.push_back(baseline_->connect());
    const std::string prefix = "single" + std::to_string(writers) + "-";
    const auto streams = static_cast<std::size_t>(kStreams);
    return compare(
        "append_single_" + std::to_string(writers) + "_writer" + (writers > 1 ? "s" : ""), writers,
        seconds_,
        [&](int t, std::size_t i) {
          store_.events().append(prefix + std::to_string(t) + "-" + std::to_string(i % streams),
                                 one);
          return std::size_t{1};
        },
        [&](int t, std::size_t i) {
          // Each thread's streams are its own and the count of its iterations goes on across
          // rounds, so a stream's next version is 1 + i / kStreams.
          connections[t]->write_single(
              "raw-" + prefix + std::to_string(t) + "-" + std::to_string(i % streams),
              static_cast<std::int64_t>(i / streams) + 1, data_);
          return std::size_t{1};
        });
  }

  Result read_all() {
    auto events = store_.events();
    AllReadOptions page;
    auto raw = baseline_->connect();
    std::int64_t after = 0;
    return compare(
        "read_all", 1, seconds_,
        [&](int, std::size_t) {
          const auto batch = events.read_all(page);
          page.after = batch.empty() ? Position::start() : batch.back().position;
          return batch.size();
        },
        [&](int, std::size_t) {
          const std::size_t read = raw->read_page(after, 1000);
          if (read == 0) after = 0;
          return read;
        });
  }

  std::unique_ptr<bench::Baseline> baseline_;
  Store store_;
  double seconds_;
  std::string data_;
};

// Per-call latency of Strata's get beside a bare prepared SELECT, in alternating rounds.
struct Latency {
  double p50_us, p99_us, baseline_p50_us, baseline_p99_us;
};

class KvBench {
 public:
  KvBench(const std::string& url, double seconds)
      : baseline_(bench::Baseline::create(url)),
        store_(Store::open(baseline_->store_url())),
        seconds_(seconds) {
    baseline_->create_table();
  }

  std::string_view backend() const { return store_.backend_name(); }

  Latency get_latency() {
    constexpr int kKeys = 10000;
    const std::string value(100, 's');
    auto kv = store_.kv("bench");
    auto raw = baseline_->connect();
    std::vector<KvPut> puts;
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back("user:" + std::to_string(i));
      puts.push_back(KvPut{keys.back(), value, {}, {}, false, {}});
    }
    kv.put_many(puts);
    raw->kv_write_batch(keys, value);
    std::vector<double> ours, bare;
    const auto time_one = [](auto&& call) {
      const auto start = Clock::now();
      call();
      return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    };
    // Blocks of calls alternate between the two. Alternating call by call measured the
    // scheduling of two server processes on two cores more than either get.
    constexpr std::size_t kBlock = 500;
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds_);
    for (std::size_t block = 0; Clock::now() < deadline; ++block) {
      for (std::size_t i = block * kBlock; i < (block + 1) * kBlock; ++i) {
        ours.push_back(time_one([&] { kv.get(keys[(i * 7919) % keys.size()]); }));
      }
      for (std::size_t i = block * kBlock; i < (block + 1) * kBlock; ++i) {
        bare.push_back(time_one([&] { raw->kv_get(keys[(i * 7919) % keys.size()]); }));
      }
    }
    return Latency{percentile(ours, 0.5), percentile(ours, 0.99), percentile(bare, 0.5),
                   percentile(bare, 0.99)};
  }

  Result batched_put() {
    constexpr std::size_t kBatch = 1000;
    const std::string value(100, 'b');
    auto kv = store_.kv("bench");
    auto raw = baseline_->connect();
    return compare(
        "kv_put_batch_1000", 1, seconds_,
        [&](int, std::size_t i) {
          std::vector<KvPut> puts;
          for (std::size_t k = 0; k < kBatch; ++k) {
            puts.push_back(KvPut{
                "batch:" + std::to_string(i) + ":" + std::to_string(k), value, {}, {}, false, {}});
          }
          kv.put_many(puts);
          return kBatch;
        },
        [&](int, std::size_t i) {
          std::vector<std::string> keys;
          for (std::size_t k = 0; k < kBatch; ++k) {
            keys.push_back("batch:" + std::to_string(i) + ":" + std::to_string(k));
          }
          raw->kv_write_batch(keys, value);
          return kBatch;
        });
  }

  Result conditional_writes() {
    constexpr int kThreads = 8;
    const std::string value(100, 'c');
    auto kv = store_.kv("bench");
    std::vector<std::unique_ptr<bench::BaselineConnection>> raw;
    std::vector<std::string> keys;
    for (int t = 0; t < kThreads; ++t) {
      raw.push_back(baseline_->connect());
      keys.push_back("counter:" + std::to_string(t));
    }
    std::vector<KvPut> puts;
    for (const auto& key : keys) puts.push_back(KvPut{key, value, {}, {}, false, {}});
    std::vector<std::int64_t> ours = kv.put_many(puts);
    raw.front()->kv_write_batch(keys, value);
    std::vector<std::int64_t> theirs(kThreads, 1);
    return compare(
        "kv_conditional_8_threads", kThreads, seconds_,
        [&](int t, std::size_t) {
          KvPut next{keys[t], value, {}, {}, false, ours[t]};
          ours[t] = kv.put(next);
          return std::size_t{1};
        },
        [&](int t, std::size_t) {
          if (!raw[t]->kv_update_at_version(keys[t], theirs[t], value)) {
            throw std::runtime_error("the baseline lost a conditional write on " + keys[t]);
          }
          ++theirs[t];
          return std::size_t{1};
        });
  }

 private:
  std::unique_ptr<bench::Baseline> baseline_;
  Store store_;
  double seconds_;
};

// Queue throughput beside plain SQL doing the same work on a table of the same shape.
class QueueBench {
 public:
  QueueBench(const std::string& url, double seconds)
      : baseline_(bench::Baseline::create(url)),
        store_(Store::open(baseline_->store_url())),
        queue_(store_.queue("bench")),
        seconds_(seconds) {
    baseline_->create_table();
    QueueSettings settings;
    settings.lease = std::chrono::minutes(5);
    queue_.create(settings);
  }

  std::string_view backend() const { return store_.backend_name(); }

  Result produce(std::size_t batch) {
    const std::vector<QueueMessage> items(batch, QueueMessage{kPayload, {}, 0, {}, {}, {}});
    auto raw = baseline_->connect();
    return compare(
        batch == 1 ? "queue_produce_single" : "queue_produce_batch_" + std::to_string(batch), 1,
        seconds_,
        [&](int, std::size_t) {
          queue_.produce(items);
          return batch;
        },
        [&](int, std::size_t) {
          raw->queue_produce(batch, kPayload);
          return batch;
        });
  }

  // Workers each lease `batch` items and complete them, until the time is up.
  Result lease_and_complete(int workers, std::size_t batch) {
    std::vector<std::unique_ptr<bench::BaselineConnection>> raw;
    for (int t = 0; t < workers; ++t) raw.push_back(baseline_->connect());
    const std::string name = batch == 1
                                 ? "queue_lease_complete_" + std::to_string(workers) + "_worker" +
                                       (workers > 1 ? "s" : "")
                                 : "queue_lease_" + std::to_string(batch) + "_complete_batch";
    return compare(
        name, workers, seconds_, [&](int, std::size_t) { return cycle(batch); },
        [&](int t, std::size_t) { return raw[t]->queue_claim_and_delete(batch); });
  }

  // A producer keeps the queue topped up while a worker leases and completes batches of 100;
  // returns the items completed per second in each window. With `held_windows`, another session
  // holds a writing transaction open over those windows (a first and a last, counted from 0).
  std::vector<double> steady(double seconds, double window,
                             std::optional<std::pair<std::size_t, std::size_t>> held_windows = {}) {
    const std::vector<QueueMessage> items(1000, QueueMessage{kPayload, {}, 0, {}, {}, {}});
    return steady_run(
        seconds, window, held_windows, [&] { queue_.produce(items); }, [&] { return cycle(100); });
  }

  // The same with plain SQL on the baseline's queue table.
  std::vector<double> steady_baseline(
      double seconds, double window,
      std::optional<std::pair<std::size_t, std::size_t>> held_windows = {}) {
    auto producer = baseline_->connect();
    auto worker = baseline_->connect();
    return steady_run(
        seconds, window, held_windows, [&] { producer->queue_produce(1000, kPayload); },
        [&] { return worker->queue_claim_and_delete(100); });
  }

 private:
  template <class Produce, class Cycle>
  std::vector<double> steady_run(double seconds, double window,
                                 std::optional<std::pair<std::size_t, std::size_t>> held_windows,
                                 Produce&& produce_1000, Cycle&& cycle_100) {
    std::unique_ptr<bench::BaselineConnection> holder;
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> backlog{0};
    std::thread producer([&] {
      while (!stop) {
        if (backlog > 20000) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        produce_1000();
        backlog += 1000;
      }
    });
    std::vector<double> windows;
    const auto start = Clock::now();
    for (auto window_start = start;
         std::chrono::duration<double>(window_start - start).count() + 1e-9 < seconds;) {
      const auto window_end = window_start + std::chrono::duration<double>(window);
      if (held_windows && windows.size() == held_windows->first) {
        holder = baseline_->connect();
        holder->hold_writing_transaction();
      }
      if (held_windows && windows.size() == held_windows->second + 1) holder.reset();
      std::size_t done = 0;
      while (Clock::now() < window_end) {
        const std::size_t finished = cycle_100();
        done += finished;
        backlog -= static_cast<std::int64_t>(finished);
      }
      windows.push_back(static_cast<double>(done) /
                        std::chrono::duration<double>(Clock::now() - window_start).count());
      window_start = Clock::now();
    }
    stop = true;
    producer.join();
    return windows;
  }

  std::size_t cycle(std::size_t batch) {
    const auto leased = queue_.lease(batch);
    std::vector<std::string> tokens;
    for (const auto& item : leased) tokens.push_back(item.token);
    return tokens.empty() ? 0 : queue_.complete(tokens);
  }

  inline static const std::string kPayload = std::string(100, 'q');
  std::unique_ptr<bench::Baseline> baseline_;
  Store store_;
  Queue queue_;
  double seconds_;
};

void print_table(std::string_view backend, const std::vector<Result>& results) {
  std::printf("%-24s %-9s %14s %14s %7s\n", "scenario", "backend", "strata ev/s", "baseline ev/s",
              "ratio");
  for (const Result& r : results) {
    std::printf("%-24s %-9s %14.0f %14.0f %7.2f\n", r.scenario.c_str(),
                std::string(backend).c_str(), r.ops_per_s, r.baseline_ops_per_s,
                r.ops_per_s / r.baseline_ops_per_s);
  }
}

void print_json(std::string_view backend, const std::vector<Result>& results) {
  for (const Result& r : results) {
    nlohmann::ordered_json line;
    line["scenario"] = r.scenario;
    line["backend"] = backend;
    line["ops_per_s"] = std::round(r.ops_per_s);
    line["baseline_ops_per_s"] = std::round(r.baseline_ops_per_s);
    line["ratio"] = std::round(r.ops_per_s / r.baseline_ops_per_s * 1000) / 1000;
    std::cout << line.dump() << "\n";
  }
}

// A steady run's items per second in each 10-second window; `held` (first and last window,
// from 0) marks those during which another session held a transaction open.
void print_windows(const std::string& scenario, std::string_view backend,
                   const std::vector<double>& windows, bool json,
                   std::optional<std::pair<std::size_t, std::size_t>> held = {}) {
  if (json) {
    nlohmann::ordered_json line;
    line["scenario"] = scenario;
    line["backend"] = backend;
    line["window_seconds"] = 10;
    line["items_per_s"] = windows;
    if (held) line["held_windows"] = {held->first, held->second};
    std::cout << line.dump() << "\n";
    return;
  }
  std::printf("%s, items/s per 10 s window%s:", scenario.c_str(),
              held ? " ([held transaction])" : "");
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const bool during = held && i >= held->first && i <= held->second;
    std::printf(during ? " [%.0f]" : " %.0f", windows[i]);
  }
  std::printf("\n");
}

}  // namespace

void print_latency(std::string_view backend, const Latency& latency, bool json) {
  if (json) {
    nlohmann::ordered_json line;
    line["scenario"] = "kv_get_latency";
    line["backend"] = backend;
    line["p50_us"] = std::round(latency.p50_us * 10) / 10;
    line["p99_us"] = std::round(latency.p99_us * 10) / 10;
    line["baseline_p50_us"] = std::round(latency.baseline_p50_us * 10) / 10;
    line["baseline_p99_us"] = std::round(latency.baseline_p99_us * 10) / 10;
    line["p50_ratio"] = std::round(latency.p50_us / latency.baseline_p50_us * 1000) / 1000;
    std::cout << line.dump() << "\n";
    return;
  }
  std::printf("%-24s %-9s %14s %14s %7s\n", "latency", "backend", "strata us", "baseline us",
              "ratio");
  std::printf("%-24s %-9s %14.1f %14.1f %7.2f\n", "kv_get_p50", std::string(backend).c_str(),
              latency.p50_us, latency.baseline_p50_us, latency.p50_us / latency.baseline_p50_us);
  std::printf("%-24s %-9s %14.1f %14.1f %7.2f\n", "kv_get_p99", std::string(backend).c_str(),
              latency.p99_us, latency.baseline_p99_us, latency.p99_us / latency.baseline_p99_us);
}

void add_bench_commands(CLI::App& app, Context& context) {
  auto* bench = app.add_subcommand(
      "bench", "Measure throughput beside the raw limit of the same database, in one run");
  bench->require_subcommand(1);
  struct Options {
    double seconds = 3;
    double steady_seconds = 60;
    double held_seconds = 0;
    bool json = false;
    std::string only;
    std::vector<std::string> indexes;
  };
  auto options = std::make_shared<Options>();
  auto* events = bench->add_subcommand(
      "events", "Appends (batches of 1, 100, 1000; single from 1 and 8 writers) and read_all");
  events->add_option("--seconds", options->seconds, "Seconds per measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  events->add_flag("--json", options->json, "One JSON object per scenario");
  events->add_option("--only", options->only, "Run only the scenarios whose names contain this");
  events
      ->add_option("--with-index", options->indexes,
                   "Give the store this opt-in index (metadata, data or text; repeatable), to "
                   "measure what it costs appends")
      ->check(CLI::IsMember(event_index_names()));
  auto* kv = bench->add_subcommand(
      "kv", "Get latency beside a bare SELECT, batched put, conditional writes from 8 threads");
  kv->add_option("--seconds", options->seconds, "Seconds per measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  kv->add_flag("--json", options->json, "One JSON object per scenario");
  kv->callback([options, &context] {
    KvBench run(context.url, options->seconds);
    const Latency latency = run.get_latency();
    const std::vector<Result> results = {run.batched_put(), run.conditional_writes()};
    print_latency(run.backend(), latency, options->json);
    if (options->json) {
      print_json(run.backend(), results);
    } else {
      print_table(run.backend(), results);
    }
  });
  auto* queue = bench->add_subcommand(
      "queue", "Produce, lease+complete from 1 and 8 workers, batches, and a steady run");
  queue->add_option("--seconds", options->seconds, "Seconds per measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  queue
      ->add_option("--steady-seconds", options->steady_seconds,
                   "Length of the steady run, reported in 10-second windows")
      ->capture_default_str();
  queue
      ->add_option("--held-transaction-seconds", options->held_seconds,
                   "Instead: a steady run of 30 s, then this long (a multiple of 10) with "
                   "another session holding a writing transaction open, then 30 s; then the same "
                   "with plain SQL (PostgreSQL)")
      ->check(CLI::Range(10.0, 3600.0));
  queue->add_flag("--json", options->json, "One JSON object per scenario");
  queue->callback([options, &context] {
    QueueBench run(context.url, options->seconds);
    if (options->held_seconds > 0) {
      const auto held = static_cast<std::size_t>(options->held_seconds / 10);
      const double seconds = 30 + 10.0 * static_cast<double>(held) + 30;
      const auto held_windows = std::make_pair(std::size_t{3}, 2 + held);
      print_windows("queue_steady_with_held_transaction", run.backend(),
                    run.steady(seconds, 10, held_windows), options->json, held_windows);
      print_windows("baseline_steady_with_held_transaction", run.backend(),
                    run.steady_baseline(seconds, 10, held_windows), options->json, held_windows);
      return;
    }
    const std::vector<Result> results = {run.produce(1000), run.produce(1),
                                         run.lease_and_complete(1, 1), run.lease_and_complete(8, 1),
                                         run.lease_and_complete(1, 100)};
    const auto windows = run.steady(options->steady_seconds, 10);
    if (options->json) {
      print_json(run.backend(), results);
    } else {
      print_table(run.backend(), results);
    }
    print_windows("queue_steady_lease_100_complete_batch", run.backend(), windows, options->json);
  });
  add_subscribe_bench(*bench, context);
  add_query_bench(*bench, context);
  events->callback([options, &context] {
    std::vector<EventIndex> indexes;
    for (const std::string& name : options->indexes) indexes.push_back(event_index_named(name));
    EventsBench run(context.url, options->seconds, indexes);
    const auto results = run.run(options->only);
    if (options->json) {
      print_json(run.backend(), results);
    } else {
      print_table(run.backend(), results);
    }
  });
}

}  // namespace strata::cli
