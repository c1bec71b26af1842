// Through PgBouncer in transaction mode (no session state, no protocol-level prepared
// statements): the store works with prepared_statements=false. The suite's fixture starts
// PgBouncer in front of its server, on the same socket directory, port 6432.
#include <gtest/gtest.h>

#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

class PgBouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    direct_url_ = fresh_database_url(BackendKind::postgres);
    bouncer_url_ = direct_url_ + "&port=6432&prepared_statements=false";
  }
  void TearDown() override { drop_database(BackendKind::postgres, direct_url_); }

  std::string direct_url_;
  std::string bouncer_url_;
};

TEST_F(PgBouncerTest, MigratesAppendsAndReads) {
  Store store = Store::open(bouncer_url_ + "&max_connections=4");
  EXPECT_EQ(store.schema_version(), kLatestSchema);
  auto events = store.events();
  events.append("order-1", event("Placed"), ExpectedVersion::no_stream());
  std::vector<EventData> batch(300, event("Line"));
  events.append("order-1", batch, ExpectedVersion::exact(1));  // The COPY path.
  EXPECT_EQ(events.stream_info("order-1").version, 301);
  EXPECT_EQ(read_everything(events, 100).size(), 301u);
  EXPECT_EQ(
      error_code_of([&] { events.append("order-1", event("Stale"), ExpectedVersion::exact(1)); }),
      ErrorCode::wrong_expected_version);
  // What went through PgBouncer is what a direct connection sees.
  Store direct = Store::open(direct_url_);
  EXPECT_EQ(direct.events().stream_info("order-1").version, 301);
}

// Locks are rows, not session state: one taken through PgBouncer's pooled server connections
// is seen directly, and freed from another process's pool.
TEST_F(PgBouncerTest, LocksHoldAcrossPooledConnections) {
  Store bounced = Store::open(bouncer_url_ + "&max_connections=4");
  Store direct = Store::open(direct_url_);
  const auto lock = bounced.locks().try_acquire("leader", "bounced", std::chrono::seconds(30));
  ASSERT_TRUE(lock);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      EXPECT_FALSE(bounced.locks().try_acquire("leader", "other", std::chrono::seconds(30)));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(direct.locks().status("leader"), lock);
  EXPECT_TRUE(Store::open(bouncer_url_).locks().release("leader", lock->token));
  EXPECT_FALSE(direct.locks().status("leader"));
}

TEST_F(PgBouncerTest, TransactionsKeyValueAndWorkflows) {
  Store store = Store::open(bouncer_url_);
  store.transaction([](Transaction& tx) {
    tx.events().append("order-2", event("Placed"));
    tx.kv("orders").put("order-2", R"({"status":"placed"})");
  });
  EXPECT_THROW(store.transaction([](Transaction& tx) {
    tx.kv("orders").put("order-2", R"({"status":"lost"})");
    throw std::runtime_error("rollback");
  }),
               std::runtime_error);
  auto kv = store.kv("orders");
  EXPECT_EQ(kv.get("order-2")->value, R"({"status":"placed"})");
  EXPECT_EQ(kv.find(JsonField::value, R"({"status":"placed"})").entries.size(), 1u);
  EXPECT_EQ(kv.search("placed").entries.size(), 1u);
  const auto checkpoint = kv.create_checkpoint();
  kv.clear();
  kv.restore_checkpoint(checkpoint.id);
  EXPECT_EQ(kv.count(), 1u);
  EXPECT_EQ(store.workflows().save("flow", "{}").version, 1);
  EXPECT_EQ(store.workflows().save("flow", "{}").version, 2);
}

// Many threads share few server connections through the pooler; every call still lands whole.
TEST_F(PgBouncerTest, ThreadsThroughThePooler) {
  Store store = Store::open(bouncer_url_ + "&max_connections=8");
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        store.events().append("thread-" + std::to_string(t), event("Tick"));
        store.kv("ticks").put("t" + std::to_string(t), std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(read_everything(store.events()).size(), 120u);
  for (int t = 0; t < 6; ++t) {
    EXPECT_EQ(store.events().stream_info("thread-" + std::to_string(t)).version, 20);
    EXPECT_EQ(store.kv("ticks").get("t" + std::to_string(t))->version, 20);
  }
}

}  // namespace
}  // namespace strata::testing
