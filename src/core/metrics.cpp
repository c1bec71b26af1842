#include "core/metrics.h"

#include <charconv>
#include <cmath>

namespace strata::detail {
namespace {

struct Described {
  std::string_view name;
  std::string_view help;
};

// Every metric a Store exports.
constexpr Described kMetrics[] = {
    {"strata_operations_total", "Calls completed, by operation and backend."},
    {"strata_operation_errors_total", "Calls that threw, by operation, backend and error code."},
    {"strata_operation_duration_seconds", "Time a call took, by operation and backend."},
    {"strata_pool_connections", "Connections in the pool, by state (in_use, idle)."},
    {"strata_pool_waiting", "Callers waiting for a pooled connection."},
    {"strata_pool_acquisitions_total", "Connections handed out by the pool."},
    {"strata_pool_acquire_wait_seconds_total", "Time callers spent waiting for a connection."},
    {"strata_pool_timeouts_total", "Acquisitions that gave up after acquire_timeout."},
    {"strata_lock_contention_total", "Lock acquisitions refused because the lock was held."},
    {"strata_queue_items", "Queue items by queue and state (ready, scheduled, leased, dead)."},
    {"strata_store_events", "Events stored (including those retention will remove)."},
    {"strata_store_streams", "Streams with stored events."},
    {"strata_store_bytes", "The store's size on disk (tables, indexes and TOAST, or pages)."},
    {"strata_kv_keys", "Live keys, by namespace."},
    {"strata_kv_bytes", "Bytes of live keys and values, by namespace."},
    {"strata_queue_produced_total", "Items produced, by queue."},
    {"strata_queue_leased_total", "Items handed out by lease, by queue."},
    {"strata_queue_completed_total", "Items completed, by queue."},
    {"strata_consumer_events_total", "Events a durable consumer moved past, by consumer."},
    {"strata_consumer_lag_seconds",
     "Age of the last event a consumer moved past when it polled (0 once caught up)."},
};

std::string_view help_of(std::string_view name) {
  for (const Described& metric : kMetrics) {
    if (metric.name == name) return metric.help;
  }
  return "";
}

// Label values escaped as the text format requires: backslash, double quote and line feed.
std::string label_text(const Labels& labels) {
  if (labels.empty()) return "";
  std::string text = "{";
  for (const auto& [name, value] : labels) {
    if (text.size() > 1) text += ',';
    text.append(name).append("=\"");
    for (const char c : value) {
      if (c == '\\' || c == '"') text += '\\';
      text += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    text += '"';
  }
  return text + '}';
}

// `labels` ({…} or empty) with one more label added.
std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

// The shortest text that reads back as `value`.
std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 32> text{};
  const auto end = std::to_chars(text.data(), text.data() + text.size(), value).ptr;
  return std::string(text.data(), end);
}

void header(std::string& out, const std::string& name, std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help_of(name)).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void record_call(Metrics& metrics, std::string_view backend, const char* operation, double seconds,
                 const ErrorCode* error) {
  if (error != nullptr) {
    metrics.add("strata_operation_errors_total",
                {{"backend", backend}, {"operation", operation}, {"code", to_string(*error)}});
    return;
  }
  metrics.call(backend, operation, seconds);
}

void Metrics::add(std::string_view name, const Labels& labels, double value) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mutex_);
  add_locked(name, key, value);
}

void Metrics::add_locked(std::string_view name, const std::string& key, double value) {
  series_of(counters_, name)[key] += value;
}

void Metrics::set(std::string_view name, const Labels& labels, double value) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mutex_);
  series_of(gauges_, name)[key] = value;
}

void Metrics::call(std::string_view backend, const char* operation, double seconds) {
  std::lock_guard lock(mutex_);
  if (backend_.empty()) backend_ = std::string(backend);
  record(calls_[operation], seconds);
}

void Metrics::observe(std::string_view name, const Labels& labels, double seconds) {
  const std::string key = label_text(labels);
  std::lock_guard lock(mutex_);
  observe_locked(name, key, seconds);
}

void Metrics::observe_locked(std::string_view name, const std::string& key, double seconds) {
  record(series_of(histograms_, name)[key], seconds);
}

void Metrics::record(Histogram& histogram, double seconds) {
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++histogram.counts[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

std::string Metrics::prometheus_text() const {
  std::string out;
  std::lock_guard lock(mutex_);
  // Successful calls are kept by operation only, to keep their recording cheap; they join the
  // other series here (one operation may have several entries: its name at several addresses).
  Series<double> counters = counters_;
  Series<Histogram> histograms = histograms_;
  for (const auto& [operation, calls] : calls_) {
    const std::string key = label_text({{"backend", backend_}, {"operation", operation}});
    counters["strata_operations_total"][key] += static_cast<double>(calls.count);
    Histogram& merged = histograms["strata_operation_duration_seconds"][key];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) merged.counts[i] += calls.counts[i];
    merged.count += calls.count;
    merged.sum += calls.sum;
  }
  for (const auto& [name, series] : counters) {
    header(out, name, "counter");
    for (const auto& [labels, value] : series) out += name + labels + " " + number(value) + "\n";
  }
  for (const auto& [name, series] : gauges_) {
    header(out, name, "gauge");
    for (const auto& [labels, value] : series) out += name + labels + " " + number(value) + "\n";
  }
  for (const auto& [name, series] : histograms) {
    header(out, name, "histogram");
    for (const auto& [labels, histogram] : series) {
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out += name + "_bucket" + with_label(labels, "le=\"" + number(kBuckets[i]) + "\"") + " " +
               std::to_string(histogram.counts[i]) + "\n";
      }
      out += name + "_bucket" + with_label(labels, "le=\"+Inf\"") + " " +
             std::to_string(histogram.count) + "\n";
      out += name + "_sum" + labels + " " + number(histogram.sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(histogram.count) + "\n";
    }
  }
  return out;
}

}  // namespace strata::detail
