// The connection pool's own rules, with a stand-in connection type: bounds, waiting, set-up
// retries with backoff, and replacing broken connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/pool.h"

namespace strata::detail {
namespace {

using namespace std::chrono_literals;

struct FakeConnection {
  int serial = 0;
  bool broken = false;
};

PoolSettings settings(int max_size, std::chrono::milliseconds acquire_timeout) {
  PoolSettings pool;
  pool.max_size = max_size;
  pool.acquire_timeout = acquire_timeout;
  pool.first_backoff = 10ms;
  return pool;
}

TEST(PoolTest, ReusesIdleConnectionsAndStaysWithinItsBound) {
  std::atomic<int> opened{0};
  Pool<FakeConnection> pool(
      settings(2, 100ms),
      [&] { return std::make_unique<FakeConnection>(FakeConnection{++opened}); },
      [](FakeConnection& c) { return !c.broken; });
  {
    auto first = pool.acquire();
    auto second = pool.acquire();
    EXPECT_NE(first->serial, second->serial);
    const auto before = std::chrono::steady_clock::now();
    try {
      pool.acquire();
      ADD_FAILURE() << "a third connection from a pool of two";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::timeout);
    }
    EXPECT_GE(std::chrono::steady_clock::now() - before, 100ms);
  }
  auto again = pool.acquire();
  EXPECT_LE(again->serial, 2);
  EXPECT_EQ(opened.load(), 2);
}

TEST(PoolTest, AWaiterGetsTheConnectionHandedBack) {
  Pool<FakeConnection> pool(
      settings(1, 2000ms), [] { return std::make_unique<FakeConnection>(); },
      [](FakeConnection&) { return true; });
  auto held = std::make_unique<Pool<FakeConnection>::Lease>(pool.acquire());
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    held.reset();
  });
  const auto before = std::chrono::steady_clock::now();
  auto got = pool.acquire();  // Waits for the release, well within the timeout.
  const auto waited = std::chrono::steady_clock::now() - before;
  releaser.join();
  EXPECT_GE(waited, 40ms);
  EXPECT_LT(waited, 1500ms);
}

TEST(PoolTest, BrokenConnectionsAreReplaced) {
  std::atomic<int> opened{0};
  Pool<FakeConnection> pool(
      settings(1, 100ms),
      [&] { return std::make_unique<FakeConnection>(FakeConnection{++opened}); },
      [](FakeConnection& c) { return !c.broken; });
  {
    auto lease = pool.acquire();
    lease->broken = true;
  }
  auto fresh = pool.acquire();
  EXPECT_EQ(fresh->serial, 2);
  EXPECT_FALSE(fresh->broken);
}

TEST(PoolTest, SetUpIsRetriedWithBackoffOnlyWhenUnavailable) {
  int attempts = 0;
  Pool<FakeConnection> flaky(
      settings(1, 1000ms),
      [&]() -> std::unique_ptr<FakeConnection> {
        if (++attempts < 3) throw Error(ErrorCode::unavailable, "server starting");
        return std::make_unique<FakeConnection>();
      },
      [](FakeConnection&) { return true; });
  const auto before = std::chrono::steady_clock::now();
  flaky.acquire();
  EXPECT_EQ(attempts, 3);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 30ms);  // 10 ms, then 20 ms.

  int refused = 0;
  Pool<FakeConnection> misconfigured(
      settings(1, 1000ms),
      [&]() -> std::unique_ptr<FakeConnection> {
        ++refused;
        throw Error(ErrorCode::invalid_argument, "no such database");
      },
      [](FakeConnection&) { return true; });
  EXPECT_THROW(misconfigured.acquire(), Error);
  EXPECT_EQ(refused, 1);
  // A failed set-up frees its place: the next acquire tries again rather than timing out.
  EXPECT_THROW(misconfigured.acquire(), Error);
  EXPECT_EQ(refused, 2);
}

}  // namespace
}  // namespace strata::detail
