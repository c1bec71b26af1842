// Locks and leader election: exclusion, fencing tokens, expiry, waiting, and racing threads and
// processes.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using LockTest = BackendTest;
using LockProcessTest = BackendTest;

TEST_P(LockTest, OneHolderAtATimeWithRisingTokens) {
  auto locks = store().locks();
  const auto first = locks.try_acquire("reindex", "alice", 30s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->key, "reindex");
  EXPECT_EQ(first->holder, "alice");
  EXPECT_GT(first->expires_at, detail::now_micros());
  EXPECT_FALSE(locks.try_acquire("reindex", "bob", 30s));
  EXPECT_FALSE(locks.try_acquire("reindex", "alice", 30s)) << "held, even by the same holder";
  EXPECT_EQ(locks.status("reindex"), first);
  EXPECT_TRUE(locks.try_acquire("other-key", "bob", 30s)) << "keys are independent";

  EXPECT_FALSE(locks.release("reindex", first->token + 1)) << "only the holder's token releases";
  EXPECT_TRUE(locks.status("reindex"));
  EXPECT_TRUE(locks.release("reindex", first->token));
  EXPECT_FALSE(locks.status("reindex"));
  EXPECT_FALSE(locks.release("reindex", first->token)) << "released once";

  const auto second = locks.try_acquire("reindex", "bob", 30s);
  ASSERT_TRUE(second);
  EXPECT_GT(second->token, first->token);
  EXPECT_THROW(locks.extend("reindex", first->token, 30s), LeaseLost) << "a stale token";
}

TEST_P(LockTest, ExpiryFreesTheLockAndFencesOffItsHolder) {
  auto locks = store().locks();
  const auto lapsed = locks.try_acquire("job", "alice", 150ms);
  ASSERT_TRUE(lapsed);
  std::this_thread::sleep_for(250ms);
  EXPECT_FALSE(locks.status("job"));
  const auto taken = locks.try_acquire("job", "bob", 30s);
  ASSERT_TRUE(taken);
  EXPECT_GT(taken->token, lapsed->token);
  EXPECT_THROW(locks.extend("job", lapsed->token, 30s), LeaseLost);
  EXPECT_FALSE(locks.release("job", lapsed->token));
  EXPECT_EQ(locks.status("job")->holder, "bob");
}

TEST_P(LockTest, ExtendKeepsItHeldPastItsFirstExpiry) {
  auto locks = store().locks();
  const auto lock = locks.try_acquire("job", "alice", 300ms);
  ASSERT_TRUE(lock);
  const Lock extended = locks.extend("job", lock->token, 30s);
  EXPECT_EQ(extended.token, lock->token);
  EXPECT_GT(extended.expires_at, lock->expires_at);
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(locks.try_acquire("job", "bob", 30s));
  EXPECT_EQ(locks.status("job")->holder, "alice");
}

TEST_P(LockTest, AcquireWaitsForTheHolderToRelease) {
  auto locks = store().locks();
  const auto held = locks.try_acquire("job", "alice", 30s);
  ASSERT_TRUE(held);
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(locks.acquire("job", "bob", 30s, 200ms)) << "still held when the wait ends";
  EXPECT_GE(std::chrono::steady_clock::now() - before, 200ms);

  std::thread releaser([&] {
    std::this_thread::sleep_for(300ms);
    locks.release("job", held->token);
  });
  const auto waited = locks.acquire("job", "bob", 30s, 20s);
  releaser.join();
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->holder, "bob");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
}

TEST_P(LockTest, BadInputIsRefusedAndTakesNothing) {
  auto locks = store().locks();
  EXPECT_EQ(error_code_of([&] { locks.try_acquire("", "alice", 1s); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { locks.try_acquire("job", "", 1s); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { locks.try_acquire("job", "alice", 0ms); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { locks.try_acquire("job\n", "alice", 1s); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { locks.try_acquire(std::string(300, 'k'), "alice", 1s); }),
            ErrorCode::invalid_argument);
  EXPECT_FALSE(locks.status("job"));
  EXPECT_TRUE(locks.try_acquire("job", "alice", 1s));
}

// Threads racing for one lock: never two in the critical section, and every acquisition gets
// its own token, rising in the order the lock was held.
TEST_P(LockTest, ThreadsRacingNeverHoldItTogether) {
  constexpr int kThreads = 6;
  constexpr int kTimesEach = 10;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::mutex order_mutex;
  std::vector<std::int64_t> order;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto locks = store().locks();
      for (int taken = 0; taken < kTimesEach;) {
        const auto lock = locks.acquire("hot", "thread-" + std::to_string(t), 30s, 30s);
        if (!lock) continue;
        if (inside.fetch_add(1) != 0) overlapped = true;
        {
          std::lock_guard guard(order_mutex);
          order.push_back(lock->token);
        }
        inside.fetch_sub(1);
        locks.release("hot", lock->token);
        ++taken;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(overlapped);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kThreads * kTimesEach));
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_LT(order[i - 1], order[i]);
}

TEST_P(LockTest, OneLeaderAtATimeHandedOverWhenItsTermLapses) {
  LeaderElection alice(store().locks(), "scheduler", "alice", 300ms);
  LeaderElection bob(store().locks(), "scheduler", "bob", 300ms);
  EXPECT_TRUE(alice.campaign());
  EXPECT_FALSE(bob.campaign());
  EXPECT_TRUE(alice.is_leader());
  EXPECT_FALSE(bob.is_leader());
  const auto first_term = alice.term();
  ASSERT_TRUE(first_term);
  EXPECT_EQ(bob.leader()->holder, "alice");

  // Renewed within its term, alice stays leader past the first term's end.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(alice.campaign());
    EXPECT_FALSE(bob.campaign());
  }
  EXPECT_EQ(alice.term(), first_term) << "a renewal keeps the term";

  // Alice stops campaigning (a crash): her term lapses, and bob takes over with a later term.
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(alice.is_leader());
  EXPECT_TRUE(bob.campaign());
  EXPECT_GT(*bob.term(), *first_term);
  EXPECT_FALSE(alice.campaign()) << "the old leader finds bob in charge";

  // Resigning hands over at once.
  bob.resign();
  EXPECT_FALSE(bob.is_leader());
  EXPECT_TRUE(alice.campaign());
}

// Processes racing for one lock: each checks, while holding it, that nobody else holds it and
// that its token is above every token used before (the fencing a guarded resource would do).
TEST_P(LockProcessTest, ProcessesRacingNeverHoldItTogether) {
  constexpr int kProcesses = 4;
  constexpr int kTimesEach = 15;
  std::set<std::int64_t> tokens;
  for (const std::string& output :
       run_workers_together(url(), kProcesses, "lock-race shared " + std::to_string(kTimesEach))) {
    std::istringstream words(output);
    std::string word;
    words >> word;
    ASSERT_EQ(word, "tokens") << output;
    std::int64_t previous = 0;
    for (std::int64_t token; words >> token; previous = token) {
      EXPECT_GT(token, previous) << "a process's tokens rise";
      EXPECT_TRUE(tokens.insert(token).second) << "token " << token << " given twice";
    }
  }
  EXPECT_EQ(tokens.size(), static_cast<std::size_t>(kProcesses * kTimesEach));
}

STRATA_ALL_BACKENDS(LockTest);
STRATA_SHARED_BACKENDS(LockProcessTest);

}  // namespace
}  // namespace strata::testing
