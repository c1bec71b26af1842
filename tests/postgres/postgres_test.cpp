// PostgreSQL only: the pool, faults, timeouts, and the all-events order under open transactions.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <thread>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_url_ = fresh_database_url(BackendKind::postgres);
    application_ = schema_url_.substr(schema_url_.find("schema=") + 7);
  }
  void TearDown() override { drop_database(BackendKind::postgres, schema_url_); }

  // A store whose connections carry this test's own application_name.
  Store open(const std::string& parameters = "") {
    return Store::open(schema_url_ + "&application_name=" + application_ + parameters);
  }
  // Terminates every server connection this test's stores pool.
  int terminate_store_connections() {
    return std::stoi(
        run_admin_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = '" +
                      application_ + "'")[0]);
  }

  std::string schema_url_;
  std::string application_;
};

// Blocks a transaction on the calling thread until `release` is set.
void hold_transaction(Store& store, std::promise<void>& started, std::shared_future<void> release,
                      const std::string& stream) {
  store.transaction([&](Transaction& tx) {
    tx.events().append(stream, event("Held"));
    started.set_value();
    release.wait();
  });
}

TEST_F(PostgresTest, AcquireTimesOutWhenThePoolIsExhausted) {
  Store store = open("&max_connections=1&acquire_timeout=200ms");
  std::promise<void> started;
  std::promise<void> release;
  std::thread holder(
      [&] { hold_transaction(store, started, release.get_future().share(), "held-1"); });
  started.get_future().wait();
  const auto before = std::chrono::steady_clock::now();
  try {
    store.events().stream_info("other-1");
    ADD_FAILURE() << "acquired a connection from an exhausted pool";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::timeout);
    EXPECT_NE(std::string(error.what()).find("acquire_timeout"), std::string::npos) << error.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(200));
  release.set_value();
  holder.join();
  EXPECT_EQ(store.events().stream_info("held-1").version, 1);
}

TEST_F(PostgresTest, BrokenConnectionsAreReplaced) {
  Store store = open("&max_connections=3&min_connections=3");
  store.events().append("alive-1", event("Before"));
  ASSERT_GE(terminate_store_connections(), 1);
  // Every pooled connection is dead now; calls still succeed on fresh ones.
  EXPECT_EQ(store.events().stream_info("alive-1").version, 1);
  EXPECT_EQ(store.events().append("alive-1", event("After")).version, 2);
  EXPECT_EQ(store.events().read_stream("alive-1").size(), 2u);
}

TEST_F(PostgresTest, StatementTimeoutIsReportedAsTimeout) {
  Store store = open("&statement_timeout=300ms");
  std::promise<void> started;
  std::promise<void> release;
  std::thread holder(
      [&] { hold_transaction(store, started, release.get_future().share(), "locked-1"); });
  started.get_future().wait();
  // The stream is locked by the open transaction: this append waits, then times out.
  EXPECT_EQ(error_code_of([&] { store.events().append("locked-1", event("Blocked")); }),
            ErrorCode::timeout);
  release.set_value();
  holder.join();
  EXPECT_EQ(store.events().stream_info("locked-1").version, 1);
}

// libpq's messages come on several lines (one per address tried, each with a hint), the
// server's with a severity and an excerpt: users get one line of each.
TEST_F(PostgresTest, ErrorsAreOneLineWithoutTheServersSeverity) {
  try {
    Store::open("postgresql:///postgres?host=/nonexistent-dir&connect_timeout=2");
    FAIL() << "opened";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ErrorCode::unavailable);
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("Is the server running"), std::string::npos) << message;
  }
  Store store = open("&statement_timeout=300ms");
  std::promise<void> started;
  std::promise<void> release;
  std::thread holder(
      [&] { hold_transaction(store, started, release.get_future().share(), "locked-2"); });
  started.get_future().wait();
  try {
    store.events().append("locked-2", event("Blocked"));
    ADD_FAILURE() << "appended";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find("ERROR:"), std::string::npos) << message;
    EXPECT_NE(message.find("PostgreSQL: canceling statement due to statement timeout"),
              std::string::npos)
        << message;
  }
  release.set_value();
  holder.join();
}

TEST_F(PostgresTest, ALostCommitIsAnUnknownOutcome) {
  Store store = open();
  try {
    store.transaction([&](Transaction& tx) {
      tx.events().append("lost-1", event("Maybe"));
      ASSERT_EQ(terminate_store_connections(), 1);
    });
    ADD_FAILURE() << "the commit on a terminated connection succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::unknown_outcome) << error.what();
  }
  // Here the server had not committed: the transaction did not apply.
  EXPECT_FALSE(store.events().stream_info("lost-1").exists);
}

// A transaction still open hides every later commit from read_all until it ends, so a reader
// that moves past those commits can never skip the open transaction's events.
TEST_F(PostgresTest, AnOpenTransactionHoldsBackLaterEventsInsteadOfSkippingIt) {
  Store store = open();
  store.events().append("early-1", event("Early"));
  std::promise<void> started;
  std::promise<void> release;
  std::thread holder(
      [&] { hold_transaction(store, started, release.get_future().share(), "slow-1"); });
  started.get_future().wait();
  store.events().append("fast-1", event("Fast"));

  const auto while_open = read_everything(store.events());
  ASSERT_EQ(while_open.size(), 1u);
  EXPECT_EQ(while_open[0].stream, "early-1");

  release.set_value();
  holder.join();
  AllReadOptions after;
  after.after = while_open.back().position;
  const auto rest = store.events().read_all(after);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].stream, "slow-1");  // Began writing first, so it comes first.
  EXPECT_EQ(rest[1].stream, "fast-1");
}

using Session = std::unique_ptr<PGconn, decltype(&PQfinish)>;

// A raw connection to `url` that has begun a transaction and run `statements` in it (the last
// returning rows), left open as another application's idle session would.
Session open_transaction(const std::string& url, const std::string& statements) {
  Session session(PQconnectdb(url.c_str()), &PQfinish);
  EXPECT_EQ(PQstatus(session.get()), CONNECTION_OK) << PQerrorMessage(session.get());
  PGresult* began = PQexec(session.get(), ("BEGIN; " + statements).c_str());
  EXPECT_EQ(PQresultStatus(began), PGRES_TUPLES_OK) << PQerrorMessage(session.get());
  PQclear(began);
  return session;
}

// One that has written, so it holds a transaction id.
Session open_writing_transaction(const std::string& url) {
  return open_transaction(url,
                          "CREATE TEMP TABLE other_app (x int); INSERT INTO other_app VALUES (1); "
                          "SELECT pg_current_xact_id()");
}

// Only Strata's own appends in flight hold readers back: sessions of other applications that
// hold writing transactions open, in this database and in another, hide nothing, while writers
// race a live subscriber that must see every event exactly once, each stream in version order.
TEST_F(PostgresTest, OtherApplicationsOpenTransactionsHoldNoReaderBack) {
  const std::string other_database = "other_app_" + std::to_string(::getpid());
  run_admin_sql("CREATE DATABASE " + other_database);
  std::string elsewhere = postgres_base_url();
  elsewhere.replace(elsewhere.find("/postgres?"), 10, "/" + other_database + "?");
  auto same_database = open_writing_transaction(postgres_base_url());
  auto other_database_session = open_writing_transaction(elsewhere);

  Store store = open();
  const auto seen = follow_concurrent_appends(store, "race", 4, 50, 5);
  // Both other sessions are still open.
  EXPECT_EQ(PQtransactionStatus(same_database.get()), PQTRANS_INTRANS);
  EXPECT_EQ(PQtransactionStatus(other_database_session.get()), PQTRANS_INTRANS);
  ASSERT_EQ(seen.size(), 200u);
  expect_every_event_once_in_order(store, seen);
  other_database_session.reset();
  run_admin_sql("DROP DATABASE " + other_database);
}

// A call that waits for a row an appending transaction holds takes a share lock on that
// transaction's id: readers must not take it for the owner's and pass the transaction (an
// independent review found the horizon did).
TEST_F(PostgresTest, ACallWaitingOnAnAppendingTransactionDoesNotLetReadersPassIt) {
  Store store = open();
  store.kv("k").put("key", "0");
  std::promise<void> appended;
  std::promise<void> release;
  std::thread holder([&] {
    store.transaction([&](Transaction& tx) {
      tx.kv("k").put("key", "1");
      tx.events().append("held-1", event("Held"));
      appended.set_value();
      release.get_future().wait();
    });
  });
  appended.get_future().wait();
  std::thread waiter([&] { store.kv("k").put("key", "2"); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (run_admin_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND "
                       "NOT granted")[0] == "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  store.events().append("later-1", event("Later"));
  const auto while_held = read_everything(store.events());
  release.set_value();
  holder.join();
  waiter.join();

  EXPECT_TRUE(while_held.empty()) << while_held.size() << " events passed the held transaction";
  AllReadOptions after;
  if (!while_held.empty()) after.after = while_held.back().position;
  const auto rest = store.events().read_all(after);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].stream, "held-1");
  EXPECT_EQ(rest[1].stream, "later-1");
}

// No snapshot lists its own transaction: read_all inside a transaction that has appended must
// still stop below it, even after a later transaction has committed (review finding).
TEST_F(PostgresTest, ReadAllInsideAnAppendingTransactionStopsBelowIt) {
  Store store = open();
  store.transaction([&](Transaction& tx) {
    tx.events().append("mine-1", event("Mine"));
    std::thread([&] { store.events().append("other-1", event("Other")); }).join();
    EXPECT_TRUE(tx.events().read_all(AllReadOptions{}).empty());
  });
  const auto all = read_everything(store.events());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].stream, "mine-1");
}

// A migration that needs a table's lock while another session's long transaction holds a
// weaker one gives way after 200 ms instead of queueing every call behind it, and tries again
// until it gets the lock. The step here is raising the feed's offset, which locks the events
// table: an event is planted with a commit id far above the server's, as a restore would leave it.
TEST_F(PostgresTest, AMigrationBehindALongTransactionHoldsCallsUpForLessThanASecond) {
  Store store = open();
  store.events().append("before-1", event("Early"));
  run_admin_sql("INSERT INTO " + application_ +
                ".events (tx_id, stream, version, id, type, data, created_at) VALUES "
                "('900000000', 'planted-1', 1, gen_random_uuid(), 'Restored', '{}', now())");
  ASSERT_FALSE(store.health().ok);
  Session reader =
      open_transaction(postgres_base_url(), "SELECT count(*) FROM " + application_ + ".events");

  std::atomic<bool> migrating{true};
  std::chrono::steady_clock::duration slowest{};
  std::size_t appends = 0;
  std::thread appender([&] {
    while (migrating) {
      const auto start = std::chrono::steady_clock::now();
      store.events().append("during-1", event("Tick"));
      slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
      ++appends;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::thread migrator([&] {
    store.migrate();
    migrating = false;
  });
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_TRUE(migrating);  // Still waiting for the reader...
  reader.reset();          // ...which ends now.
  migrator.join();
  appender.join();

  const double slowest_s = std::chrono::duration<double>(slowest).count();
  std::printf("[ figures  ] %zu appends while the migration waited; slowest %.3f s\n", appends,
              slowest_s);
  EXPECT_LT(slowest_s, 1.0);
  EXPECT_GT(appends, 50u);
  EXPECT_TRUE(store.health().ok) << store.health().error;
  store.events().append("after-1", event("Late"));
  const auto all = read_everything(store.events());
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().stream, "before-1");
  EXPECT_EQ(all.back().stream, "after-1");  // After the planted event, once the offset rose.
}

// A transaction that began writing before another appended to a stream may not append behind
// it: its event would sort before the stream's earlier version in the all-events order.
TEST_F(PostgresTest, AppendingBehindALaterTransactionIsAConflict) {
  Store store = open();
  std::promise<void> wrote_elsewhere;
  std::promise<void> other_committed;
  std::thread early([&] {
    EXPECT_EQ(error_code_of([&] {
                store.transaction([&](Transaction& tx) {
                  tx.events().append("elsewhere-1", event("First"));
                  wrote_elsewhere.set_value();
                  other_committed.get_future().wait();
                  tx.events().append("contested-1", event("Late"));
                });
              }),
              ErrorCode::conflict);
  });
  wrote_elsewhere.get_future().wait();
  store.events().append("contested-1", event("Later"));
  other_committed.set_value();
  early.join();
  const auto contested = store.events().read_stream("contested-1");
  ASSERT_EQ(contested.size(), 1u);
  EXPECT_EQ(contested[0].type, "Later");
  EXPECT_FALSE(store.events().stream_info("elsewhere-1").exists);
}

// Commit ids are compared as numbers, never as their text ("99" sorts after "100" as text):
// a reader crossing a power of ten must not go back. Rows are planted with chosen ids, since
// waiting for the server's counter to cross a boundary would take too long.
TEST_F(PostgresTest, TheAllEventsOrderComparesCommitIdsAsNumbers) {
  Store store = open();
  const std::string schema = application_;
  run_admin_sql("INSERT INTO " + schema +
                ".events (tx_id, stream, version, id, type, data, created_at) VALUES "
                "('100', 'planted-1', 2, gen_random_uuid(), 'Later', '{}', now()), "
                "('99', 'planted-1', 1, gen_random_uuid(), 'Earlier', '{}', now())");
  const auto all = read_everything(store.events(), 1);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].type, "Earlier");
  EXPECT_EQ(all[0].position.commit(), 99u);
  EXPECT_EQ(all[1].type, "Later");
  EXPECT_LT(all[0].position, all[1].position);
}

// Every name Strata sends is schema-qualified, so a session whose search_path leads elsewhere
// (another role's default, say) works the same (docs/rules.md, rule 14).
TEST_F(PostgresTest, NamesDoNotDependOnTheSearchPath) {
  Store store = open("&options=-c%20search_path%3Dnowhere");
  store.events().append("qualified-1", {event("A"), event("B")});
  std::vector<EventData> large(100, event("Bulk"));
  store.events().append("qualified-1", large);
  EXPECT_EQ(store.events().stream_info("qualified-1").version, 102);
  EXPECT_EQ(read_everything(store.events()).size(), 102u);
}

// How many times anyone but autovacuum vacuumed this test's queue table.
int manual_queue_vacuums(const std::string& schema) {
  return std::stoi(
      run_admin_sql("SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = '" + schema +
                    "' AND relname = 'queue_items'")[0]);
}

// Leases and completes 12,000 items, in batches, from `store`'s queue "churn".
void churn_queue(Store& store) {
  auto queue = store.queue("churn");
  queue.create();
  const std::vector<QueueMessage> batch(1000, QueueMessage{"x", {}, 0, {}, {}, {}});
  for (int round = 0; round < 12; ++round) {
    queue.produce(batch);
    std::vector<std::string> tokens;
    for (const auto& item : queue.lease(1000)) tokens.push_back(item.token);
    ASSERT_EQ(queue.complete(tokens), 1000u);
  }
}

// Autovacuum wakes once a minute by default, while dead rows at the head of a busy queue slow
// every lease: the store vacuums the queue table itself, unless told not to.
TEST_F(PostgresTest, TheStoreVacuumsItsQueueTableOnceEnoughItemsWentThrough) {
  {
    Store store = open("&queue_vacuum=false");
    churn_queue(store);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_EQ(manual_queue_vacuums(application_), 0);
  }
  Store store = open();
  churn_queue(store);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (manual_queue_vacuums(application_) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(manual_queue_vacuums(application_), 1);
}

// Appends NOTIFY subscribers at most once per transaction (docs/rules.md, rule 13: NOTIFY takes a
// database-wide lock at commit), however many appends the transaction makes, on either append
// path; and they do notify.
TEST_F(PostgresTest, AppendingTransactionsSendAtMostOneNotificationEach) {
  Store store = open();
  std::unique_ptr<PGconn, decltype(&PQfinish)> listener(PQconnectdb(postgres_base_url().c_str()),
                                                        &PQfinish);
  ASSERT_EQ(PQstatus(listener.get()), CONNECTION_OK);
  const std::string channel =
      "strata_events_" + std::to_string(detail::stable_hash64(application_));
  PQclear(PQexec(listener.get(), ("LISTEN " + channel).c_str()));

  store.transaction([](Transaction& tx) {
    for (int i = 0; i < 5; ++i) tx.events().append("order-" + std::to_string(i % 3), event("A"));
  });
  store.events().append("solo-1", std::vector<EventData>(3, event("B")));
  store.events().append("big-1", std::vector<EventData>(100, event("C")));  // By COPY.

  int notifications = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd socket{PQsocket(listener.get()), POLLIN, 0};
    poll(&socket, 1, 50);
    PQconsumeInput(listener.get());
    while (PGnotify* notification = PQnotifies(listener.get())) {
      ++notifications;
      PQfreemem(notification);
    }
  }
  EXPECT_GE(notifications, 1);
  EXPECT_LE(notifications, 3);
}

// A subscriber is woken by another store's append through LISTEN/NOTIFY, well before its
// polling fallback (a second) would find it.
TEST_F(PostgresTest, ASubscriberIsWokenByAnotherStoresAppend) {
  Store subscriber = open();
  Store writer = open();
  Subscription feed = subscriber.subscribe();
  EXPECT_TRUE(feed.poll(std::chrono::milliseconds(300)).empty());  // Starts the listener.
  for (int trial = 0; trial < 5; ++trial) {
    std::chrono::steady_clock::time_point appended;
    std::thread append([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      writer.events().append("wake-1", event("Ping"));
      appended = std::chrono::steady_clock::now();
    });
    const auto batch = feed.poll(std::chrono::seconds(10));
    const auto received = std::chrono::steady_clock::now();
    append.join();
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_LT(received - appended, std::chrono::milliseconds(500)) << "trial " << trial;
  }
}

TEST_F(PostgresTest, SchemasIsolateStores) {
  Store first = open();
  const std::string other_url = fresh_database_url(BackendKind::postgres);
  Store second = Store::open(other_url);
  first.events().append("shared-name-1", event("InFirst"));
  EXPECT_FALSE(second.events().stream_info("shared-name-1").exists);
  drop_database(BackendKind::postgres, other_url);
}

}  // namespace
}  // namespace strata::testing
