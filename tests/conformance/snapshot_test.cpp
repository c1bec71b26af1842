// Snapshots: saved at a stream version, loaded at or below one, listed, and pruned by count and
// by age.
#include <gtest/gtest.h>

#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using SnapshotTest = BackendTest;

TEST_P(SnapshotTest, LoadsTheNewestAtOrBelowAVersion) {
  auto snapshots = store().snapshots();
  const Snapshot at5 = snapshots.save("account-1", 5, R"({"balance": 50})");
  EXPECT_EQ(at5.stream, "account-1");
  EXPECT_EQ(at5.version, 5);
  snapshots.save("account-1", 12, R"({"balance":120})");
  snapshots.save("account-2", 3, R"({"balance":3})");

  EXPECT_EQ(snapshots.load("account-1")->version, 12);
  EXPECT_EQ(snapshots.load("account-1", 11), at5) << "every field round-trips exactly";
  EXPECT_EQ(snapshots.load("account-1", 12)->state, R"({"balance":120})");
  EXPECT_FALSE(snapshots.load("account-1", 4));
  EXPECT_FALSE(snapshots.load("account-9"));

  const Snapshot replaced = snapshots.save("account-1", 5, R"({"balance":55})");
  const auto all = snapshots.list("account-1");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], replaced);
  EXPECT_EQ(all[1].version, 12);
}

TEST_P(SnapshotTest, PrunesByCountPerStream) {
  auto snapshots = store().snapshots();
  for (int version = 1; version <= 5; ++version) {
    snapshots.save("cart-1", version, "{}");
    snapshots.save("cart-2", version, "{}");
  }
  EXPECT_EQ(snapshots.prune("cart-1", SnapshotRetention{2, {}}), 3u);
  const auto kept = snapshots.list("cart-1");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].version, 4);
  EXPECT_EQ(kept[1].version, 5);
  EXPECT_EQ(snapshots.list("cart-2").size(), 5u) << "other streams untouched";
  EXPECT_EQ(snapshots.prune_all(SnapshotRetention{1, {}}), 5u);
  EXPECT_EQ(snapshots.list("cart-2").back().version, 5);
  EXPECT_EQ(snapshots.prune_all(SnapshotRetention{}), 0u) << "no rule, nothing deleted";
}

TEST_P(SnapshotTest, PrunesByAge) {
  auto snapshots = store().snapshots();
  snapshots.save("cart-1", 1, "{}");
  snapshots.save("cart-2", 1, "{}");
  std::this_thread::sleep_for(300ms);
  snapshots.save("cart-1", 2, "{}");
  EXPECT_EQ(snapshots.prune("cart-1", SnapshotRetention{{}, 200ms}), 1u);
  EXPECT_EQ(snapshots.list("cart-1").size(), 1u);
  EXPECT_EQ(snapshots.list("cart-2").size(), 1u);
  EXPECT_EQ(snapshots.prune_all(SnapshotRetention{{}, 200ms}), 1u);
  EXPECT_TRUE(snapshots.list("cart-2").empty());
  EXPECT_EQ(snapshots.list("cart-1").size(), 1u);
}

TEST_P(SnapshotTest, BadInputIsRefusedAndNothingWritten) {
  auto snapshots = store().snapshots();
  EXPECT_EQ(error_code_of([&] { snapshots.save("cart-1", 0, "{}"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { snapshots.save("cart-1", 1, "{not json"); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { snapshots.save("", 1, "{}"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] {
              snapshots.prune("cart-1", SnapshotRetention{{}, -1ms});
            }),
            ErrorCode::invalid_argument);
  EXPECT_TRUE(snapshots.list("cart-1").empty());
}

TEST_P(SnapshotTest, SavedInATransactionWithTheEvents) {
  EXPECT_THROW(store().transaction([](Transaction& tx) {
    tx.events().append("order-1", event("Placed"));
    tx.snapshots().save("order-1", 1, R"({"placed":true})");
    throw std::runtime_error("roll back");
  }),
               std::runtime_error);
  EXPECT_FALSE(store().snapshots().load("order-1"));
  store().transaction([](Transaction& tx) {
    const auto appended = tx.events().append("order-1", event("Placed"));
    tx.snapshots().save("order-1", appended.version, R"({"placed":true})");
  });
  EXPECT_EQ(store().snapshots().load("order-1")->version, 1);
}

STRATA_ALL_BACKENDS(SnapshotTest);

}  // namespace
}  // namespace strata::testing
