// A Store's counters, gauges and histograms, and their Prometheus text exposition (format
// 0.0.4). Each metric's name, type and help are declared once, in metrics.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "strata/error.h"

namespace strata::detail {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

class Metrics {
 public:
  // Adds `value` to the counter `name` with `labels`. Thread-safe.
  void add(std::string_view name, const Labels& labels, double value = 1);
  // Sets the gauge `name` with `labels`. Thread-safe.
  void set(std::string_view name, const Labels& labels, double value);
  // Records `seconds` in the histogram `name` with `labels`. Thread-safe.
  void observe(std::string_view name, const Labels& labels, double seconds);
  // A call of `operation` (a string literal: kept by address, so recording builds no strings)
  // that succeeded in `seconds`: strata_operations_total and strata_operation_duration_seconds.
  // `backend` is the same for every call. Thread-safe.
  void call(std::string_view backend, const char* operation, double seconds);

  // Every series recorded, HELP and TYPE first for each metric. Thread-safe.
  std::string prometheus_text() const;

 private:
  // Upper bounds in seconds: from a cached SQLite read to a slow commit.
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  void add_locked(std::string_view name, const std::string& key, double value);
  void observe_locked(std::string_view name, const std::string& key, double seconds);
  static void record(Histogram& histogram, double seconds);

  // By metric name, then by label set as written in the exposition ({a="x",b="y"}).
  template <class Value>
  using Series = std::map<std::string, std::map<std::string, Value>, std::less<>>;

  // The series of metric `name`, made empty on first use.
  template <class Value>
  static std::map<std::string, Value>& series_of(Series<Value>& all, std::string_view name) {
    auto found = all.find(name);
    if (found == all.end()) found = all.try_emplace(std::string(name)).first;
    return found->second;
  }

  mutable std::mutex mutex_;
  Series<double> counters_;
  Series<double> gauges_;
  Series<Histogram> histograms_;
  std::unordered_map<const char*, Histogram> calls_;
  std::string backend_;
};

// Records one call of `operation`: counted and timed when it succeeded, counted by error code
// when it threw `error`.
void record_call(Metrics& metrics, std::string_view backend, const char* operation, double seconds,
                 const ErrorCode* error);

}  // namespace strata::detail
