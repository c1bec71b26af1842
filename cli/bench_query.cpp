// strata bench query: the latency of indexed queries on a store of many events (a million by
// default), each beside the bare indexed SELECT that reads the same rows from the same table in
// the same run (see bench/baseline.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "baseline.h"
#include "bench_stats.h"
#include "commands.h"

namespace strata::cli {
namespace {

using Clock = std::chrono::steady_clock;
using bench::BareQuery;

constexpr std::size_t kCategories = 10;
constexpr std::size_t kTypes = 20;
constexpr std::size_t kEventsPerStream = 10;
constexpr std::size_t kStreamsPerTransaction = 100;
constexpr std::size_t kPage = 100;

std::string category_name(std::size_t stream) {
  return "category" + std::to_string(stream % kCategories);
}
std::string stream_name(std::size_t stream) {
  return category_name(stream) + "-" + std::to_string(stream);
}
std::string type_name(std::size_t n) {
  return "Type" + std::to_string(n % kTypes);
}

// About 200 bytes of data and a tenant and correlation id in the metadata.
EventData event_of(std::size_t stream, std::size_t n) {
  std::string data = R"({"order_id":"o-)" + std::to_string(stream) +
                     R"(","customer":"c-4711","quantity":3,"unit_price":19.99,"note":"word)" +
                     std::to_string((stream * kEventsPerStream + n) % 1000) + " ";
  data += std::string(200 - std::min<std::size_t>(data.size(), 190), 'x') + "\"}";
  const std::string metadata = R"({"tenant":"t)" + std::to_string(stream % 100) +
                               R"(","correlation_id":"corr-)" + std::to_string(stream) + "\"}";
  return EventData{type_name(stream + n), std::move(data), metadata, {}};
}

// The store the queries run on, and what the build learned of it to pick their parameters.
struct Built {
  std::vector<Position> positions;  // One per transaction: where pages start.
  std::size_t streams = 0;
  double seconds = 0;
};

Built build(const Store& store, std::size_t events) {
  Built built;
  built.streams = std::max<std::size_t>(1, events / kEventsPerStream);
  const auto start = Clock::now();
  for (std::size_t first = 0; first < built.streams; first += kStreamsPerTransaction) {
    const std::size_t last = std::min(built.streams, first + kStreamsPerTransaction);
    built.positions.push_back(store.transaction([&](Transaction& tx) {
      AppendResult appended;
      for (std::size_t stream = first; stream < last; ++stream) {
        std::vector<EventData> batch;
        for (std::size_t n = 0; n < kEventsPerStream; ++n) batch.push_back(event_of(stream, n));
        appended = tx.events().append(stream_name(stream), batch, ExpectedVersion::no_stream());
      }
      return appended.position;
    }));
    if (built.positions.size() % 100 == 0) {
      std::cerr << "built " << last * kEventsPerStream << " events\r" << std::flush;
    }
  }
  built.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cerr << "\rbuilt " << built.streams * kEventsPerStream << " events in " << built.seconds
            << " s\n";
  return built;
}

struct Figures {
  std::string scenario;
  double p50_ms, p99_ms, baseline_p50_ms, baseline_p99_ms;
};

// One query, as Strata and bare, with the parameters of sample `i`; each returns rows read.
struct Scenario {
  std::string name;
  std::function<std::size_t(std::size_t i)> strata;
  std::function<BareQuery(std::size_t i)> bare;
};

class QueryBench {
 public:
  QueryBench(const std::string& url, std::size_t events, std::size_t samples)
      : baseline_(bench::Baseline::create(url)),
        store_(Store::open(baseline_->store_url())),
        raw_(baseline_->connect()),
        samples_(samples),
        built_(build(store_, events)),
        text_index_(add_index(EventIndex::text)),
        metadata_index_(add_index(EventIndex::metadata)) {
    raw_->analyze();
  }

  std::string_view backend() const { return store_.backend_name(); }

  std::vector<Figures> run() {
    std::vector<Figures> figures;
    for (const Scenario& scenario : scenarios()) figures.push_back(measure(scenario));
    return figures;
  }

 private:
  // A spread of samples over the store: a stream, a position, a type, a category.
  std::size_t stream_of(std::size_t i) const { return (i * 7919) % built_.streams; }
  Position position_of(std::size_t i) const {
    return built_.positions[(i * 104729) % built_.positions.size()];
  }

  // Builds `index` on the whole store, saying how long it took; whether the backend keeps it.
  bool add_index(EventIndex index) {
    const auto start = Clock::now();
    const bool kept = store_.events().add_index(index);
    std::cerr << to_string(index) << " index "
              << (kept ? "built in " +
                             std::to_string(
                                 std::chrono::duration<double>(Clock::now() - start).count()) +
                             " s"
                       : "not kept by this backend")
              << "\n";
    return kept;
  }

  std::string word_of(std::size_t i) const { return "word" + std::to_string((i * 31) % 1000); }
  std::string correlation_of(std::size_t i) const {
    return R"({"correlation_id":"corr-)" + std::to_string(stream_of(i)) + "\"}";
  }

  std::vector<Scenario> scenarios() {
    std::vector<Scenario> all = plain_scenarios();
    const Events events = store_.events();
    if (text_index_) {
      all.push_back({"words_page",
                     [this, events](std::size_t i) {
                       return events.search(word_of(i), position_of(i), kPage).size();
                     },
                     [this](std::size_t i) {
                       return BareQuery{
                           BareQuery::Kind::words_page, word_of(i), {}, position_of(i).commit(),
                           position_of(i).sequence(),   kPage};
                     }});
    }
    if (metadata_index_) {
      all.push_back({"metadata_page",
                     [this, events](std::size_t i) {
                       AllReadOptions options;
                       options.limit = kPage;
                       options.filter.metadata = correlation_of(i);
                       return events.read_all(options).size();
                     },
                     [this](std::size_t i) {
                       return BareQuery{
                           BareQuery::Kind::metadata_page, correlation_of(i), {}, 0, 0, kPage};
                     }});
    }
    return all;
  }

  std::vector<Scenario> plain_scenarios() {
    const Events events = store_.events();
    return {
        {"type_page",
         [this, events](std::size_t i) {
           AllReadOptions options;
           options.after = position_of(i);
           options.limit = kPage;
           options.filter.types = {type_name(i)};
           return events.read_all(options).size();
         },
         [this](std::size_t i) {
           return BareQuery{BareQuery::Kind::type_page, type_name(i), {}, position_of(i).commit(),
                            position_of(i).sequence(),  kPage};
         }},
        {"category_page",
         [this, events](std::size_t i) {
           return events.read_category(category_name(i), position_of(i), kPage).size();
         },
         [this](std::size_t i) {
           return BareQuery{BareQuery::Kind::category_page, category_name(i),          {},
                            position_of(i).commit(),        position_of(i).sequence(), kPage};
         }},
        {"stream_read",
         [this, events](std::size_t i) {
           return events.read_stream(stream_name(stream_of(i))).size();
         },
         [this](std::size_t i) {
           return BareQuery{BareQuery::Kind::stream, stream_name(stream_of(i)), {}, 0, 0, 1000};
         }},
        {"stream_count",
         [this, events](std::size_t i) {
           AllReadOptions options;
           options.stream = stream_name(stream_of(i));
           return static_cast<std::size_t>(events.count(options));
         },
         [this](std::size_t i) {
           return BareQuery{BareQuery::Kind::stream_count, stream_name(stream_of(i)), {}, 0, 0, 0};
         }},
        {"streams_page",
         [this, events](std::size_t i) {
           StreamListOptions options;
           options.category = category_name(stream_of(i));
           options.after = stream_name(stream_of(i));
           return events.list_streams(options).size();
         },
         [this](std::size_t i) {
           return BareQuery{BareQuery::Kind::stream_names,
                            category_name(stream_of(i)) + "-",
                            stream_name(stream_of(i)),
                            0,
                            0,
                            kPage};
         }},
    };
  }

  // Blocks of calls alternate between the two, so that a machine that slows down weighs on both.
  Figures measure(const Scenario& scenario) {
    constexpr std::size_t kBlock = 50;
    std::vector<double> ours, bare;
    const auto time_ms = [](auto&& call) {
      const auto start = Clock::now();
      call();
      return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    };
    for (std::size_t block = 0; block * kBlock < samples_; ++block) {
      for (std::size_t i = block * kBlock; i < std::min((block + 1) * kBlock, samples_); ++i) {
        ours.push_back(time_ms([&] { scenario.strata(i); }));
      }
      for (std::size_t i = block * kBlock; i < std::min((block + 1) * kBlock, samples_); ++i) {
        const BareQuery query = scenario.bare(i);
        bare.push_back(time_ms([&] { raw_->bare_query(query); }));
      }
    }
    return Figures{scenario.name, percentile(ours, 0.5), percentile(ours, 0.99),
                   percentile(bare, 0.5), percentile(bare, 0.99)};
  }

  std::unique_ptr<bench::Baseline> baseline_;
  Store store_;
  std::unique_ptr<bench::BaselineConnection> raw_;
  std::size_t samples_;
  Built built_;
  bool text_index_, metadata_index_;
};

double rounded(double value, double unit) {
  return std::round(value / unit) * unit;
}

void print_figures(std::string_view backend, std::size_t events,
                   const std::vector<Figures>& figures, bool json) {
  if (json) {
    for (const Figures& f : figures) {
      nlohmann::ordered_json line;
      line["scenario"] = f.scenario;
      line["backend"] = backend;
      line["events"] = events;
      line["p50_ms"] = rounded(f.p50_ms, 0.001);
      line["p99_ms"] = rounded(f.p99_ms, 0.001);
      line["baseline_p50_ms"] = rounded(f.baseline_p50_ms, 0.001);
      line["baseline_p99_ms"] = rounded(f.baseline_p99_ms, 0.001);
      line["p99_ratio"] = rounded(f.p99_ms / f.baseline_p99_ms, 0.001);
      std::cout << line.dump() << "\n";
    }
    return;
  }
  std::printf("%-16s %-9s %9s %9s %12s %12s %9s\n", "query", "backend", "p50 ms", "p99 ms",
              "bare p50 ms", "bare p99 ms", "p99 ratio");
  for (const Figures& f : figures) {
    std::printf("%-16s %-9.*s %9.3f %9.3f %12.3f %12.3f %9.2f\n", f.scenario.c_str(),
                static_cast<int>(backend.size()), backend.data(), f.p50_ms, f.p99_ms,
                f.baseline_p50_ms, f.baseline_p99_ms, f.p99_ms / f.baseline_p99_ms);
  }
}

}  // namespace

void add_query_bench(CLI::App& bench, Context& context) {
  struct Options {
    std::size_t events = 1'000'000;
    std::size_t samples = 1000;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* query = bench.add_subcommand(
      "query", "Latency of indexed queries on a store of N events, beside bare indexed SELECTs");
  query->add_option("--events", options->events, "Events in the store built for the run")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1000}, std::size_t{100'000'000}));
  query->add_option("--samples", options->samples, "Calls of each query, and of its bare form")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{100}, std::size_t{1'000'000}));
  query->add_flag("--json", options->json, "One JSON object per query");
  query->callback([options, &context] {
    QueryBench run(context.url, options->events, options->samples);
    print_figures(run.backend(), options->events, run.run(), options->json);
  });
}

}  // namespace strata::cli
