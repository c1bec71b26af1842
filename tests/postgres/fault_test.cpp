// PostgreSQL restarted, or the Store's connections killed over and over, under long-running
// work: each piece carries on by itself, with nothing lost, delivered twice or completed twice,
// and the Store never reopened.
#include <gtest/gtest.h>
#include <libpq-fe.h>

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

// A live subscriber, a durable consumer and two waiting workers on one Store, recording what
// they see; the test appends events and the queue holds items, some due only later.
class Workload {
 public:
  Workload(Store& store, int items, std::chrono::milliseconds spread) : store_(store) {
    store.queue("jobs").create();
    std::vector<QueueMessage> messages(static_cast<std::size_t>(items));
    for (int i = 0; i < items; ++i) {
      messages[i].payload = "job-" + std::to_string(i);
      messages[i].delay = spread * i / items;
    }
    store.queue("jobs").produce(messages);
    items_ = static_cast<std::size_t>(items);
    threads_.emplace_back([this] { subscribe(); });
    threads_.emplace_back([this] { project(); });
    for (int w = 0; w < 2; ++w) threads_.emplace_back([this] { work(); });
  }
  ~Workload() { stop(); }

  // Appends event `number` with a fixed id, again after each failure the server may recover
  // from: an append with the same id is applied once.
  void append(int number) {
    const EventData one =
        event("E" + std::to_string(number), "{}", std::nullopt, detail::new_uuid_v7());
    const auto deadline = Clock::now() + 30s;
    while (true) {
      try {
        store_.events().append("fault-" + std::to_string(number % 3), {one});
        ++appended_;
        return;
      } catch (const Error&) {
        if (Clock::now() > deadline) throw;
        std::this_thread::sleep_for(50ms);
      }
    }
  }

  // Waits (up to 60 s) until done(), then stops the threads.
  void finish() {
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline && !done()) std::this_thread::sleep_for(20ms);
    stop();
  }

  // When the subscriber received event `number`.
  std::optional<Clock::time_point> delivered_at(int number) {
    std::lock_guard lock(mutex_);
    const auto found = delivered_at_.find(number);
    if (found == delivered_at_.end()) return std::nullopt;
    return found->second;
  }

  void check() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> expected;
    for (int i = 0; i < appended_; ++i) expected.push_back("E" + std::to_string(i));
    EXPECT_EQ(delivered_, expected);  // Every event once, in order.
    EXPECT_EQ(store_.kv("seen").count(), static_cast<std::size_t>(appended_));
    EXPECT_EQ(handled_twice_.load(), 0);
    EXPECT_EQ(finished_items(), items_);
    for (const auto& [payload, times] : acknowledged_) EXPECT_EQ(times, 1) << payload;
    const QueueStats stats = store_.queue("jobs").stats();
    EXPECT_EQ(stats.ready + stats.scheduled + stats.leased + stats.dead, 0);
    std::cout << "[ figures  ] " << appended_ << " events delivered, " << items_
              << " items finished, " << unknown_.size()
              << " completions reported unknown_outcome\n";
  }

 private:
  void subscribe() {
    Subscription feed = store_.subscribe();
    while (!stopping_) {
      for (const RecordedEvent& event : feed.poll(200ms)) {
        std::lock_guard lock(mutex_);
        delivered_at_.emplace(std::stoi(event.type.substr(1)), Clock::now());
        delivered_.push_back(event.type);
      }
    }
  }

  void project() {
    Consumer consumer = store_.consumer("projector");
    while (!stopping_) {
      consumer.poll(
          [&](Transaction& tx, const RecordedEvent& event) {
            if (tx.kv("seen").get(event.id)) ++handled_twice_;
            tx.kv("seen").put(event.id, "1");
          },
          200ms);
    }
  }

  void work() {
    const Queue queue = store_.queue("jobs");
    while (!stopping_) {
      for (const LeasedMessage& item : queue.lease(1, 2s, 200ms)) {
        bool acknowledged = true;
        try {
          queue.complete(item.token);
        } catch (const Error&) {
          acknowledged = false;  // Lost with the connection: applied or not, never twice.
        }
        std::lock_guard lock(mutex_);
        (acknowledged ? acknowledged_ : unknown_)[item.payload]++;
      }
    }
  }

  std::size_t finished_items() const {
    std::size_t count = acknowledged_.size();
    for (const auto& [payload, times] : unknown_) count += acknowledged_.count(payload) ? 0 : 1;
    return count;
  }

  // Every event delivered and handled, every item finished, and none left in the queue: an item
  // whose completion was lost unapplied comes back when its lease runs out, and is done again.
  bool done() {
    const QueueStats stats = store_.queue("jobs").stats();
    if (stats.ready + stats.scheduled + stats.leased > 0) return false;
    const bool handled = store_.kv("seen").count() == static_cast<std::size_t>(appended_.load());
    std::lock_guard lock(mutex_);
    return handled && delivered_.size() == static_cast<std::size_t>(appended_.load()) &&
           finished_items() == items_;
  }

  void stop() {
    stopping_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  Store& store_;
  std::size_t items_ = 0;
  std::atomic<int> appended_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> handled_twice_{0};
  std::mutex mutex_;
  std::vector<std::string> delivered_;
  std::map<int, Clock::time_point> delivered_at_;
  std::map<std::string, int> acknowledged_, unknown_;
  std::vector<std::thread> threads_;
};

TEST(PostgresFaultTest, LongRunningWorkCarriesOnAcrossAServerRestart) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    Store store = Store::open(url);
    Workload workload(store, 40, 8s);  // Half the items due after the restart.
    constexpr int kEachSide = 20;
    for (int i = 0; i < kEachSide; ++i) workload.append(i);
    const auto deadline = Clock::now() + 30s;
    while (!workload.delivered_at(kEachSide - 1) && Clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    restart_server();
    const auto back = Clock::now();
    for (int i = kEachSide; i < 2 * kEachSide; ++i) workload.append(i);
    workload.finish();
    workload.check();
    const auto first_after = workload.delivered_at(kEachSide);
    ASSERT_TRUE(first_after);
    const double recovered = std::chrono::duration<double>(*first_after - back).count();
    EXPECT_LT(recovered, 5.0);
    std::cout << "[ figures  ] the first event after the restart reached the subscriber "
              << recovered << " s after the server was back\n";
  }
  drop_database(BackendKind::postgres, url);
}

// pg_terminate_backend on every connection of the Store, 5 times a second for 30 s, while
// events are appended and items come due throughout.
TEST(PostgresFaultTest, LongRunningWorkCarriesOnWhileItsConnectionsAreKilled) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  const std::string application = url.substr(url.find("schema=") + 7);
  {
    Store store = Store::open(url + "&application_name=" + application);
    Workload workload(store, 100, 30s);
    std::atomic<bool> killing{true};
    std::atomic<int> killed{0};
    std::thread killer([&] {
      while (killing) {
        killed += std::stoi(
            run_admin_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                          "application_name = '" +
                          application + "'")[0]);
        std::this_thread::sleep_for(200ms);
      }
    });
    const auto until = Clock::now() + 30s;
    for (int i = 0; Clock::now() < until; ++i) {
      workload.append(i);
      std::this_thread::sleep_for(20ms);
    }
    killing = false;
    killer.join();
    workload.finish();
    workload.check();
    std::cout << "[ figures  ] " << killed << " connections killed in 30 s\n";
    EXPECT_GT(killed.load(), 100);
  }
  drop_database(BackendKind::postgres, url);
}

// Another client holds all but 3 of the server's connections: calls that need more than those
// time out naming the pool and the server's refusal, instead of failing at once, and every call
// works again once the other client lets go.
TEST(PostgresFaultTest, CallsTimeOutNamingThePoolWhileAnotherClientHoldsTheConnections) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    std::vector<PGconn*> held;
    const std::string server = postgres_base_url();
    while (held.size() < 1000) {
      PGconn* connection = PQconnectdb(server.c_str());
      if (PQstatus(connection) != CONNECTION_OK) {
        PQfinish(connection);
        break;
      }
      held.push_back(connection);
    }
    ASSERT_GT(held.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      PQfinish(held.back());
      held.pop_back();
    }
    Store store = Store::open(url + "&max_connections=10&acquire_timeout=1s");
    const auto hold_calls = [&](int calls) {
      std::vector<std::string> errors(static_cast<std::size_t>(calls));
      std::vector<std::thread> threads;
      for (int i = 0; i < calls; ++i) {
        threads.emplace_back([&, i] {
          try {
            store.transaction([&](Transaction& tx) {
              tx.kv("busy").put("k" + std::to_string(i), "v");
              std::this_thread::sleep_for(1500ms);
            });
          } catch (const Error& error) {
            errors[i] = std::string(to_string(error.code())) + ": " + error.what();
          }
        });
      }
      for (std::thread& thread : threads) thread.join();
      return errors;
    };
    int timed_out = 0;
    for (const std::string& error : hold_calls(6)) {
      if (error.empty()) continue;
      ++timed_out;
      EXPECT_EQ(error.rfind("timeout: connection pool of postgresql:///postgres", 0), 0) << error;
      EXPECT_NE(error.find("the server refused more than the 3 connections open"),
                std::string::npos)
          << error;
    }
    EXPECT_EQ(timed_out, 3);
    for (PGconn* connection : held) PQfinish(connection);
    for (const std::string& error : hold_calls(6)) EXPECT_EQ(error, "");
    EXPECT_EQ(store.kv("busy").count(), 6u);
  }
  drop_database(BackendKind::postgres, url);
}

}  // namespace
}  // namespace strata::testing
