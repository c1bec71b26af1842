// Work queues: leases, scheduling, expiry, dedup, retries and dead letters on every backend.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using QueueTest = BackendTest;
using QueueProcessTest = BackendTest;
using namespace std::chrono_literals;

QueueMessage message(std::string payload, int priority = 0) {
  QueueMessage item;
  item.payload = std::move(payload);
  item.priority = priority;
  return item;
}

std::vector<std::string> payloads(const std::vector<LeasedMessage>& leased) {
  std::vector<std::string> out;
  for (const auto& item : leased) out.push_back(item.payload);
  return out;
}

TEST_P(QueueTest, LeasesByPriorityThenAgeAndHoldsEachItemOnce) {
  auto jobs = store().queue("jobs");
  jobs.create();
  const auto produced =
      jobs.produce({message("a"), message("urgent", 5), message("b"), message("c", 5)});
  ASSERT_EQ(produced.size(), 4u);
  EXPECT_FALSE(produced[0].deduplicated);
  using P = std::vector<std::string>;
  const auto first = jobs.lease(3);
  EXPECT_EQ(payloads(first), (P{"urgent", "c", "a"}));
  std::set<std::string> tokens;
  for (const auto& item : first) {
    EXPECT_EQ(item.attempt, 1);
    tokens.insert(item.token);
  }
  EXPECT_EQ(tokens.size(), 3u);
  EXPECT_EQ(payloads(jobs.lease(3)), (P{"b"}));  // The others are held.
  EXPECT_TRUE(jobs.lease(3).empty());
  auto stats = jobs.stats();
  EXPECT_EQ(stats.leased, 4);
  EXPECT_EQ(stats.ready, 0);
  // A token is its item's and its lease's: the item's id with another lease holds nothing.
  std::string forged = first[0].token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_THROW(jobs.complete(forged), LeaseLost);
  jobs.complete(first[0].token);
  // A string lease() never made is bad input: refused, and nothing is completed.
  try {
    jobs.complete({first[1].token, first[2].token, "not-a-token"});
    ADD_FAILURE() << "a string lease() never made was taken for a token";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_STREQ(error.what(), "'not-a-token' is not a lease token");
  }
  // Nor is another spelling of a real token (found by fuzz/lease_token_fuzzer.cpp): a leading
  // zero or a sign on the item's id.
  for (const std::string& respelled : {"0" + first[1].token, "+" + first[1].token}) {
    EXPECT_EQ(error_code_of([&] { jobs.complete(respelled); }), ErrorCode::invalid_argument);
  }
  EXPECT_EQ(jobs.stats().leased, 3);
  EXPECT_EQ(jobs.complete({first[1].token, first[2].token}), 2u);
  EXPECT_THROW(jobs.complete(first[0].token), LeaseLost);
  EXPECT_EQ(jobs.stats().leased, 1);
}

TEST_P(QueueTest, ScheduledItemsWaitAndExpiredItemsAreNeverHandedOut) {
  auto jobs = store().queue("timed");
  jobs.create();
  QueueMessage later = message("later");
  later.delay = 400ms;
  QueueMessage brief = message("brief");
  brief.expires_in = 1ms;
  jobs.produce({later, brief});
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(jobs.lease(5).empty());
  EXPECT_EQ(jobs.stats().scheduled, 1);
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(payloads(jobs.lease(5)), std::vector<std::string>{"later"});
  EXPECT_EQ(jobs.stats().ready, 0);
}

TEST_P(QueueTest, StaleTokensAreRefusedAndExpiredLeasesComeBack) {
  auto jobs = store().queue("leases");
  jobs.create();
  jobs.produce({message("x")});
  const auto held = jobs.lease(1, 150ms);
  ASSERT_EQ(held.size(), 1u);
  jobs.extend(held[0].token, 150ms);
  std::this_thread::sleep_for(250ms);
  EXPECT_THROW(jobs.extend(held[0].token), LeaseLost);
  EXPECT_THROW(jobs.complete(held[0].token), LeaseLost);
  EXPECT_EQ(jobs.stats().ready, 1);  // Its lease ran out.
  const auto again = jobs.lease(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, held[0].id);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_NE(again[0].token, held[0].token);
  EXPECT_THROW(jobs.complete(held[0].token), LeaseLost);  // The old token is fenced off.
  jobs.complete(again[0].token);
}

// A queue that always has ready items never comes back short, yet an expired lease returns its
// item within about a second.
TEST_P(QueueTest, ExpiredLeasesComeBackWhileOtherItemsAreReady) {
  auto jobs = store().queue("busy");
  jobs.create();
  jobs.produce({message("urgent", 9)});
  const auto held = jobs.lease(1, 100ms);
  ASSERT_EQ(held.size(), 1u);
  jobs.produce(std::vector<QueueMessage>(1000, message("filler")));
  std::this_thread::sleep_for(150ms);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  std::optional<LeasedMessage> back;
  while (!back && std::chrono::steady_clock::now() < deadline) {
    const auto leased = jobs.lease(1);
    ASSERT_EQ(leased.size(), 1u);
    if (leased[0].id == held[0].id) back = leased[0];
    std::this_thread::sleep_for(10ms);  // At most 300 leases: fillers remain.
  }
  ASSERT_TRUE(back.has_value()) << "the expired lease never returned its item";
  EXPECT_EQ(back->attempt, 2);
}

TEST_P(QueueTest, MaxAttemptsLeadToTheDeadLettersWithHistory) {
  auto jobs = store().queue("flaky");
  QueueSettings settings;
  settings.max_attempts = 2;
  jobs.create(settings);
  QueueMessage item = message("poison");
  item.headers = R"({"trace":"t-1"})";
  jobs.produce({item});
  ASSERT_EQ(jobs.lease(1, 50ms).size(), 1u);
  std::this_thread::sleep_for(80ms);
  const auto second = jobs.lease(1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  jobs.retry(second[0].token, 0ms);  // Its last attempt: it goes to the dead letters.
  EXPECT_TRUE(jobs.lease(1).empty());
  const auto dead = jobs.dead_letters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, second[0].id);
  EXPECT_EQ(dead[0].payload, "poison");
  EXPECT_EQ(dead[0].headers, R"({"trace":"t-1"})");
  EXPECT_EQ(dead[0].attempts, 2);
  EXPECT_EQ(dead[0].reason, "retried after its last attempt");
  EXPECT_NE(dead[0].history.find("lease expired"), std::string::npos) << dead[0].history;
  EXPECT_NE(dead[0].history.find("dead"), std::string::npos) << dead[0].history;
  EXPECT_EQ(jobs.stats().dead, 1);
}

TEST_P(QueueTest, RetryWaitsAndFailGoesToTheDeadLetters) {
  auto jobs = store().queue("retries");
  jobs.create();
  jobs.produce({message("r"), message("f")});
  const auto held = jobs.lease(2);
  ASSERT_EQ(held.size(), 2u);
  jobs.retry(held[0].token, 300ms);
  jobs.fail(held[1].token, "bad input");
  EXPECT_THROW(jobs.retry(held[0].token), LeaseLost);
  EXPECT_THROW(jobs.fail(held[1].token, "again"), LeaseLost);
  EXPECT_TRUE(jobs.lease(2).empty());
  std::this_thread::sleep_for(350ms);
  const auto retried = jobs.lease(2);
  ASSERT_EQ(payloads(retried), std::vector<std::string>{"r"});
  EXPECT_EQ(retried[0].attempt, 2);
  const auto dead = jobs.dead_letters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "bad input");

  EXPECT_EQ(jobs.requeue({dead[0].id}), 1u);
  const auto requeued = jobs.lease(1);
  ASSERT_EQ(requeued.size(), 1u);
  EXPECT_EQ(requeued[0].id, dead[0].id);
  EXPECT_EQ(requeued[0].attempt, 1);  // Attempts start again.
  jobs.fail(requeued[0].token, "still bad");
  const auto history = jobs.dead_letters()[0].history;
  EXPECT_NE(history.find("bad input"), std::string::npos) << history;  // History is kept.
  EXPECT_NE(history.find("requeued"), std::string::npos) << history;
  EXPECT_EQ(jobs.requeue_all(), 1u);
  EXPECT_EQ(jobs.purge(), 2u);
  jobs.produce({message("doomed")});
  jobs.fail(jobs.lease(1)[0].token, "no");
  EXPECT_EQ(jobs.purge_dead(), 1u);
  EXPECT_EQ(jobs.stats().dead, 0);
}

TEST_P(QueueTest, DedupKeysHoldWhileLiveAndSurviveRequeues) {
  auto jobs = store().queue("dedup");
  jobs.create();
  QueueMessage keyed = message("first");
  keyed.dedup_key = "order-17";
  const auto first = jobs.produce({keyed})[0];
  keyed.payload = "second";
  const auto again = jobs.produce({keyed})[0];
  EXPECT_TRUE(again.deduplicated);
  EXPECT_EQ(again.id, first.id);

  const auto held = jobs.lease(1);  // Leased is still live.
  EXPECT_TRUE(jobs.produce({keyed})[0].deduplicated);
  jobs.fail(held[0].token, "broken");  // Dead: the key is free for a new item.
  const auto fresh = jobs.produce({keyed})[0];
  EXPECT_FALSE(fresh.deduplicated);
  EXPECT_NE(fresh.id, first.id);
  // The dead letter keeps its key: requeued while the new item lives, it stays dead.
  EXPECT_EQ(jobs.requeue_all(), 0u);
  jobs.complete(jobs.lease(1)[0].token);
  EXPECT_EQ(jobs.requeue_all(), 1u);
  EXPECT_TRUE(jobs.produce({keyed})[0].deduplicated);  // The requeued item holds it again.
  EXPECT_EQ(jobs.lease(1)[0].id, first.id);
}

TEST_P(QueueTest, PauseResumeAndErrors) {
  auto jobs = store().queue("paused");
  EXPECT_EQ(error_code_of([&] { jobs.produce({message("x")}); }), ErrorCode::not_found);
  EXPECT_EQ(error_code_of([&] {
              jobs.produce({message("x"), message("y")});
            }),
            ErrorCode::not_found);
  EXPECT_EQ(error_code_of([&] { jobs.lease(); }), ErrorCode::not_found);
  QueueSettings bad;
  bad.max_attempts = 0;
  EXPECT_EQ(error_code_of([&] { jobs.create(bad); }), ErrorCode::invalid_argument);
  jobs.create();
  QueueMessage headers = message("x");
  headers.headers = "{bad";
  EXPECT_EQ(error_code_of([&] { jobs.produce({headers}); }), ErrorCode::invalid_argument);
  jobs.produce({message("x")});
  jobs.pause();
  EXPECT_TRUE(jobs.stats().paused);
  EXPECT_TRUE(jobs.lease().empty());
  jobs.resume();
  EXPECT_EQ(jobs.lease().size(), 1u);
  EXPECT_EQ(error_code_of([&] { store().queue(""); }), ErrorCode::invalid_argument);
}

TEST_P(QueueTest, TheOutboxCommitsTheEventAndTheJobTogether) {
  store().queue("outbox").create();
  store().transaction([](Transaction& tx) {
    tx.events().append("order-1", event("Placed"));
    tx.queue("outbox").produce({message("send-confirmation:order-1")});
  });
  EXPECT_THROW(store().transaction([](Transaction& tx) {
    tx.events().append("order-2", event("Placed"));
    tx.queue("outbox").produce({message("send-confirmation:order-2")});
    throw std::runtime_error("rollback");
  }),
               std::runtime_error);
  EXPECT_EQ(payloads(store().queue("outbox").lease(5)),
            std::vector<std::string>{"send-confirmation:order-1"});
  EXPECT_FALSE(events().stream_info("order-2").exists);
}

// Workers race for items: none is ever held by two at once, each is completed exactly once.
TEST_P(QueueTest, ThreadsLeasingNeverShareAnItem) {
  auto jobs = store().queue("race");
  jobs.create();
  constexpr int kItems = 200;
  std::vector<QueueMessage> items;
  for (int i = 0; i < kItems; ++i) items.push_back(message(std::to_string(i)));
  jobs.produce(items);
  std::mutex mutex;
  std::set<std::int64_t> held, done;
  std::atomic<int> overlaps{0}, repeats{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&] {
      auto mine = store().queue("race");
      for (auto batch = mine.lease(3); !batch.empty(); batch = mine.lease(3)) {
        for (const auto& item : batch) {
          std::lock_guard lock(mutex);
          if (!held.insert(item.id).second) ++overlaps;
        }
        std::vector<std::string> tokens;
        for (const auto& item : batch) tokens.push_back(item.token);
        {
          std::lock_guard lock(mutex);
          for (const auto& item : batch) {
            held.erase(item.id);
            if (!done.insert(item.id).second) ++repeats;
          }
        }
        EXPECT_EQ(mine.complete(tokens), batch.size());
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(repeats.load(), 0);
  EXPECT_EQ(done.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(jobs.stats().ready + jobs.stats().leased, 0);
}

TEST_P(QueueProcessTest, ProcessesCompleteEachItemExactlyOnce) {
  auto jobs = store().queue("shared");
  jobs.create();
  constexpr int kItems = 120;
  std::vector<QueueMessage> items;
  for (int i = 0; i < kItems; ++i) items.push_back(message(std::to_string(i)));
  jobs.produce(items);
  std::multiset<std::string> completed;
  for (const std::string& output : run_workers_together(url(), 4, "queue-work shared")) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) completed.insert(line);
  }
  EXPECT_EQ(completed.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(std::set<std::string>(completed.begin(), completed.end()).size(), completed.size());
}

// A waiting lease is woken by a producer in this process, long before its wait ends; an empty
// wait returns empty after the wait.
TEST_P(QueueTest, LeaseWaitsForAProducer) {
  auto jobs = store().queue("waiting");
  jobs.create();
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(jobs.lease(1, std::nullopt, 300ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - before, 300ms);

  std::thread producer([&] {
    std::this_thread::sleep_for(200ms);
    store().queue("waiting").produce({message("woken")});
  });
  const auto start = std::chrono::steady_clock::now();
  const auto leased = jobs.lease(1, std::nullopt, 5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  producer.join();
  ASSERT_EQ(payloads(leased), std::vector<std::string>{"woken"});
  EXPECT_LT(waited, 2s);
}

// A worker killed with SIGKILL while holding leases loses nothing: its items come back when
// their leases end, and only then.
TEST_P(QueueProcessTest, AKilledWorkersItemsReturnAfterTheirLease) {
  auto jobs = store().queue("crashy");
  jobs.create();
  std::vector<QueueMessage> items;
  for (int i = 0; i < 10; ++i) items.push_back(message(std::to_string(i)));
  jobs.produce(items);
  const std::string command = "sh -c 'echo $$; exec " + worker_path() + " \"" + url() +
                              "\" 0 queue-hold crashy 10 1500' 2>&1";
  FILE* worker = popen(command.c_str(), "r");
  char pid[32] = {}, said[64] = {};
  ASSERT_NE(std::fgets(pid, sizeof pid, worker), nullptr);
  ASSERT_NE(std::fgets(said, sizeof said, worker), nullptr);
  EXPECT_STREQ(said, "held 10\n");
  ASSERT_EQ(kill(std::atoi(pid), SIGKILL), 0);
  pclose(worker);
  EXPECT_TRUE(jobs.lease(10).empty());  // Still leased to the dead worker.
  std::this_thread::sleep_for(1700ms);
  const auto back = jobs.lease(10);
  ASSERT_EQ(back.size(), 10u);
  for (const auto& item : back) EXPECT_EQ(item.attempt, 2);
  std::vector<std::string> tokens;
  for (const auto& item : back) tokens.push_back(item.token);
  EXPECT_EQ(jobs.complete(tokens), 10u);
}

// Another process's produce wakes a waiting lease: NOTIFY on PostgreSQL, polling on SQLite.
TEST_P(QueueProcessTest, LeaseWaitsForAnotherProcess) {
  auto jobs = store().queue("remote");
  jobs.create();
  const std::string command = "sh -c \"sleep 0.3; " + cli_path() + " --db '" + url() +
                              "' queue produce remote from-afar >/dev/null\" &";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const auto start = std::chrono::steady_clock::now();
  const auto leased = jobs.lease(1, std::nullopt, 10s);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(payloads(leased), std::vector<std::string>{"from-afar"});
  EXPECT_LT(waited, 5s);
}

STRATA_ALL_BACKENDS(QueueTest);
STRATA_SHARED_BACKENDS(QueueProcessTest);

}  // namespace
}  // namespace strata::testing
