// Metrics in Prometheus text format, and the health check.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using MetricsTest = BackendTest;

// The value of the series `series` (name and labels exactly as exported), or -1 when absent.
double value_of(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST_P(MetricsTest, CountsOperationsErrorsLocksQueuesAndConsumers) {
  const std::string backend = store().backend_name() == "sqlite" ? "sqlite" : "postgres";
  for (int i = 0; i < 3; ++i) events().append("order-1", event("Placed"));
  EXPECT_THROW(events().append("order-1", event("Late"), ExpectedVersion::exact(1)),
               WrongExpectedVersion);
  auto locks = store().locks();
  locks.try_acquire("job", "alice", 30s);
  locks.try_acquire("job", "bob", 30s);
  auto jobs = store().queue("jobs");
  jobs.create();
  QueueMessage item;
  item.payload = "a";
  jobs.produce({item, item});
  jobs.complete(jobs.lease(1).at(0).token);
  jobs.lease(1);
  Consumer consumer = store().consumer("printer");
  consumer.poll([](Transaction&, const RecordedEvent&) {});

  const std::string text = store().metrics();
  const std::string append = "{backend=\"" + backend + "\",operation=\"events.append\"}";
  EXPECT_EQ(value_of(text, "strata_operations_total" + append), 3) << text;
  EXPECT_EQ(value_of(text, "strata_operation_duration_seconds_count" + append), 3);
  EXPECT_GT(value_of(text, "strata_operation_duration_seconds_sum" + append), 0);
  EXPECT_EQ(value_of(text, "strata_operation_duration_seconds_bucket{backend=\"" + backend +
                               "\",operation=\"events.append\",le=\"+Inf\"}"),
            3);
  EXPECT_EQ(value_of(text, "strata_operation_errors_total{backend=\"" + backend +
                               "\",operation=\"events.append\",code=\"wrong_expected_version\"}"),
            1);
  EXPECT_EQ(value_of(text, "strata_lock_contention_total{backend=\"" + backend + "\"}"), 1);
  EXPECT_EQ(value_of(text, "strata_queue_produced_total{queue=\"jobs\"}"), 2);
  EXPECT_EQ(value_of(text, "strata_queue_leased_total{queue=\"jobs\"}"), 2);
  EXPECT_EQ(value_of(text, "strata_queue_completed_total{queue=\"jobs\"}"), 1);
  EXPECT_EQ(value_of(text, "strata_queue_items{queue=\"jobs\",state=\"leased\"}"), 1);
  EXPECT_EQ(value_of(text, "strata_queue_items{queue=\"jobs\",state=\"ready\"}"), 0);
  EXPECT_EQ(value_of(text, "strata_consumer_events_total{consumer=\"printer\",member=\"0\"}"), 3);
  EXPECT_GE(value_of(text, "strata_consumer_lag_seconds{consumer=\"printer\",member=\"0\"}"), 0);
  EXPECT_GE(value_of(text, "strata_pool_connections{backend=\"" + backend + "\",state=\"idle\"}"),
            1);
  EXPECT_EQ(value_of(text, "strata_pool_waiting{backend=\"" + backend + "\"}"), 0);
  EXPECT_GT(value_of(text, "strata_pool_acquisitions_total{backend=\"" + backend + "\"}"), 0);
}

// Every line parses as the text format, and every metric has its HELP and TYPE.
TEST_P(MetricsTest, TheExpositionIsWellFormed) {
  events().append("order-1", event("Placed"));
  store().queue("odd \"queue\" \\ name").create();  // Label values need escapes.
  const std::regex sample(R"(^([a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? (-?[0-9.e+-]+|\+Inf)$)");
  std::set<std::string> described;
  std::set<std::string> typed;
  std::istringstream lines(store().metrics());
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      described.insert(rest.substr(0, rest.find(' ')));
      EXPECT_GT(rest.find(' '), 0u);
      EXPECT_LT(rest.find(' ') + 1, rest.size()) << "empty help: " << line;
    } else if (line.starts_with("# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else {
      ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
      std::string name = match[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix) && !described.contains(name)) {
          name = name.substr(0, name.size() - std::string(suffix).size());
        }
      }
      EXPECT_TRUE(described.contains(name)) << name;
      EXPECT_TRUE(typed.contains(name)) << name;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
}

TEST_P(MetricsTest, StatsCountEventsStreamsLiveKeysAndQueueItemsAndTheSizeOnDisk) {
  const StoreStats empty = store().stats();
  EXPECT_EQ(empty.events, 0u);
  EXPECT_GT(empty.bytes, 0u);
  events().append("order-1", {event("Placed"), event("Paid")});
  events().append("order-2",
                  std::vector<EventData>(100, event("Noted", R"({"text":"some text"})")));
  store().kv("sessions").put("s-1", "abc");
  store().kv("sessions").put("s-2", "defg");
  store().kv("carts").put(kv_write("c-1", "x"));
  KvPut expiring = kv_write("c-2", "gone");
  expiring.ttl = 1ms;
  store().kv("carts").put(expiring);
  auto jobs = store().queue("jobs");
  jobs.create();
  QueueMessage item;
  item.payload = "a";
  jobs.produce({item, item, item});
  jobs.lease(1);
  std::this_thread::sleep_for(5ms);  // c-2 expires.

  const StoreStats stats = store().stats();
  EXPECT_EQ(stats.events, 102u);
  EXPECT_EQ(stats.streams, 2u);
  EXPECT_GE(stats.bytes, empty.bytes);
  ASSERT_EQ(stats.namespaces.size(), 2u);
  EXPECT_EQ(stats.namespaces[0].name, "carts");
  EXPECT_EQ(stats.namespaces[0].keys, 1u);
  EXPECT_EQ(stats.namespaces[0].bytes, 4u);
  EXPECT_EQ(stats.namespaces[1].name, "sessions");
  EXPECT_EQ(stats.namespaces[1].keys, 2u);
  EXPECT_EQ(stats.namespaces[1].bytes, 3u + 3 + 3 + 4);
  ASSERT_EQ(stats.queues.size(), 1u);
  EXPECT_EQ(stats.queues[0].name, "jobs");
  EXPECT_EQ(stats.queues[0].stats.ready, 2);
  EXPECT_EQ(stats.queues[0].stats.leased, 1);

  const std::string text = store().metrics();
  EXPECT_EQ(value_of(text, "strata_store_events"), 102);
  EXPECT_EQ(value_of(text, "strata_store_streams"), 2);
  EXPECT_GT(value_of(text, "strata_store_bytes"), 0);
  EXPECT_EQ(value_of(text, "strata_kv_keys{namespace=\"sessions\"}"), 2);
  EXPECT_EQ(value_of(text, "strata_kv_bytes{namespace=\"carts\"}"), 4);
}

TEST_P(MetricsTest, HealthReportsTheSchemaAndTheRoundTrip) {
  const Health health = store().health();
  EXPECT_TRUE(health.ok) << health.error;
  EXPECT_EQ(health.backend, store().backend_name());
  EXPECT_EQ(health.schema_version, kLatestSchema);
  EXPECT_EQ(health.expected_schema_version, kLatestSchema);
  EXPECT_GT(health.latency_ms, 0);
  EXPECT_TRUE(health.error.empty());
}

TEST_P(MetricsTest, HealthFailsOnAStoreNotMigrated) {
  const std::string fresh = fresh_database_url(kind());
  const Health health = Store::open(fresh, OpenOptions{false}).health();
  EXPECT_FALSE(health.ok);
  EXPECT_EQ(health.schema_version, 0);
  EXPECT_NE(health.error.find("strata migrate"), std::string::npos) << health.error;
  drop_database(kind(), fresh);
}

STRATA_ALL_BACKENDS(MetricsTest);

}  // namespace
}  // namespace strata::testing
