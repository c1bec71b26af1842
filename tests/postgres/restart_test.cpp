// PostgreSQL restarted under long-running work: each piece carries on by itself, with nothing
// lost, delivered twice or completed twice, and the Store never reopened.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kEventsEachSide = 20;
constexpr int kItems = 40;

// Stops the test server (fast shutdown), keeps it down for 2 s, so that every piece of work
// meets it down, and starts it again; returns once it accepts connections.
void restart_server() {
  const std::string url = postgres_base_url();
  const auto host = url.find("host=") + 5;
  const std::string dir = url.substr(host, url.find('&', host) - host);
  int status = -1;
  const std::string out = run_command(
      "STRATA_PG_DOWN_SECONDS=2 " + std::string(STRATA_PG_SERVER) + " restart '" + dir + "' 2>&1",
      &status);
  ASSERT_EQ(status, 0) << out;
}

// Appends one event with a fixed id, again after each failure the server may recover from: an
// append with the same id is applied once.
void append_until_done(const Store& store, int number) {
  const EventData one =
      event("E" + std::to_string(number), "{}", std::nullopt, detail::new_uuid_v7());
  const auto deadline = Clock::now() + 30s;
  while (true) {
    try {
      store.events().append("restart-" + std::to_string(number % 3), {one});
      return;
    } catch (const Error&) {
      if (Clock::now() > deadline) throw;
      std::this_thread::sleep_for(50ms);
    }
  }
}

class Feeds {
 public:
  void delivered(const std::string& type) {
    std::lock_guard lock(mutex_);
    if (type == "E" + std::to_string(kEventsEachSide) && !first_after_) first_after_ = Clock::now();
    types_.push_back(type);
  }
  std::vector<std::string> types() {
    std::lock_guard lock(mutex_);
    return types_;
  }
  std::optional<Clock::time_point> first_after() {
    std::lock_guard lock(mutex_);
    return first_after_;
  }
  void completed(const std::string& payload, bool acknowledged) {
    std::lock_guard lock(mutex_);
    (acknowledged ? acknowledged_ : unknown_)[payload]++;
  }
  std::map<std::string, int> acknowledged() {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  std::size_t finished() {
    std::lock_guard lock(mutex_);
    std::size_t count = acknowledged_.size();
    for (const auto& [payload, times] : unknown_) count += acknowledged_.count(payload) ? 0 : 1;
    return count;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> types_;
  std::optional<Clock::time_point> first_after_;
  std::map<std::string, int> acknowledged_, unknown_;
};

TEST(PostgresRestartTest, LongRunningWorkCarriesOnAcrossAServerRestart) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    Store store = Store::open(url);
    store.queue("jobs").create();
    // Half the items are due only after the restart: the waiting workers must still be there.
    std::vector<QueueMessage> items(kItems);
    for (int i = 0; i < kItems; ++i) {
      items[i].payload = "job-" + std::to_string(i);
      if (i % 2 == 1) items[i].delay = 4s;
    }
    store.queue("jobs").produce(items);

    Feeds feeds;
    std::atomic<bool> stop{false};
    std::atomic<int> handled_twice{0};
    std::thread subscriber([&] {
      Subscription feed = store.subscribe();
      while (!stop) {
        for (const RecordedEvent& event : feed.poll(200ms)) feeds.delivered(event.type);
      }
    });
    std::thread projector([&] {
      Consumer consumer = store.consumer("projector");
      while (!stop) {
        consumer.poll(
            [&](Transaction& tx, const RecordedEvent& event) {
              if (tx.kv("seen").get(event.id)) ++handled_twice;
              tx.kv("seen").put(event.id, "1");
            },
            200ms);
      }
    });
    std::vector<std::thread> workers;
    for (int w = 0; w < 2; ++w) {
      workers.emplace_back([&] {
        const Queue queue = store.queue("jobs");
        while (!stop) {
          for (const LeasedMessage& item : queue.lease(1, 2s, 200ms)) {
            try {
              queue.complete(item.token);
              feeds.completed(item.payload, true);
            } catch (const Error&) {
              // Lost with the connection: applied or not, the item must not come back twice.
              feeds.completed(item.payload, false);
            }
          }
        }
      });
    }

    for (int i = 0; i < kEventsEachSide; ++i) append_until_done(store, i);
    const auto until_delivered = [&](std::size_t count) {
      const auto deadline = Clock::now() + 30s;
      while (feeds.types().size() < count && Clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    };
    until_delivered(kEventsEachSide);
    ASSERT_EQ(feeds.types().size(), static_cast<std::size_t>(kEventsEachSide));

    restart_server();
    const auto back = Clock::now();
    for (int i = kEventsEachSide; i < 2 * kEventsEachSide; ++i) append_until_done(store, i);
    until_delivered(2 * kEventsEachSide);
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline &&
           (feeds.finished() < static_cast<std::size_t>(kItems) ||
            store.kv("seen").count() < static_cast<std::size_t>(2 * kEventsEachSide))) {
      std::this_thread::sleep_for(20ms);
    }
    stop = true;
    subscriber.join();
    projector.join();
    for (std::thread& worker : workers) worker.join();

    std::vector<std::string> expected;
    for (int i = 0; i < 2 * kEventsEachSide; ++i) expected.push_back("E" + std::to_string(i));
    EXPECT_EQ(feeds.types(), expected);  // Every event once, in order.
    ASSERT_TRUE(feeds.first_after());
    const auto recovered = std::chrono::duration<double>(*feeds.first_after() - back).count();
    EXPECT_LT(recovered, 5.0) << "the subscriber took " << recovered << " s";
    std::cout << "[ figures  ] subscriber recovered " << recovered << " s after the restart\n";

    EXPECT_EQ(store.kv("seen").count(), static_cast<std::size_t>(2 * kEventsEachSide));
    EXPECT_EQ(handled_twice, 0);
    EXPECT_EQ(feeds.finished(), static_cast<std::size_t>(kItems));
    for (const auto& [payload, times] : feeds.acknowledged()) EXPECT_EQ(times, 1) << payload;
    const QueueStats stats = store.queue("jobs").stats();
    EXPECT_EQ(stats.ready + stats.scheduled + stats.leased, 0);
  }
  drop_database(BackendKind::postgres, url);
}

}  // namespace
}  // namespace strata::testing
