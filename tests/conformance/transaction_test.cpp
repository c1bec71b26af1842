// Transactions: several operations commit together or not at all.
#include <gtest/gtest.h>

#include "support/backends.h"

namespace strata::testing {
namespace {

using TransactionTest = BackendTest;

TEST_P(TransactionTest, CommitsEverythingTogetherAndReturnsTheResult) {
  const auto version = store().transaction([](Transaction& tx) {
    tx.events().append("order-1", event("Placed"), ExpectedVersion::no_stream());
    tx.events().append("stock-7", event("Reserved"));
    return tx.events().append("order-1", event("Confirmed"), ExpectedVersion::exact(1)).version;
  });
  EXPECT_EQ(version, 2);
  EXPECT_EQ(events().stream_info("order-1").version, 2);
  EXPECT_EQ(events().stream_info("stock-7").version, 1);
}

TEST_P(TransactionTest, AnExceptionRollsEverythingBack) {
  EXPECT_THROW(store().transaction([](Transaction& tx) {
    tx.events().append("order-1", event("Placed"));
    tx.events().append("stock-7", event("Reserved"));
    throw std::runtime_error("payment declined");
  }),
               std::runtime_error);
  EXPECT_TRUE(read_everything(events()).empty());
  EXPECT_FALSE(events().stream_info("order-1").exists);
  // The store is usable afterwards.
  EXPECT_EQ(events().append("order-1", event("Placed")).version, 1);
}

TEST_P(TransactionTest, AFailedAppendLeavesTheTransactionUsable) {
  events().append("order-1", event("Placed"));
  store().transaction([](Transaction& tx) {
    tx.events().append("audit-1", event("Tried"));
    EXPECT_THROW(tx.events().append("order-1", event("Stale"), ExpectedVersion::exact(0)),
                 WrongExpectedVersion);
    EXPECT_EQ(error_code_of([&] { tx.events().append("x-1", event("Bad", "{")); }),
              ErrorCode::invalid_argument);
    tx.events().append("order-1", event("Fresh"), ExpectedVersion::exact(1));
  });
  EXPECT_EQ(events().stream_info("audit-1").version, 1);
  const auto order = events().read_stream("order-1");
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[1].type, "Fresh");
}

TEST_P(TransactionTest, IdempotentRetryInsideATransaction) {
  const std::vector<EventData> batch = {
      event("A", "{}", std::nullopt, "0190f2a8-0000-7000-8000-0000000000dd")};
  const auto first = events().append("idem-1", batch, ExpectedVersion::no_stream());
  store().transaction([&](Transaction& tx) {
    EXPECT_EQ(tx.events().append("idem-1", batch, ExpectedVersion::no_stream()), first);
    EXPECT_EQ(tx.events().append("idem-1", batch, ExpectedVersion::any()), first);
    tx.events().append("idem-1", event("B"));
  });
  EXPECT_EQ(events().stream_info("idem-1").version, 2);
}

TEST_P(TransactionTest, ReadsInsideSeeTheTransactionsOwnStreamWrites) {
  store().transaction([](Transaction& tx) {
    tx.events().append("own-1", {event("A"), event("B")});
    EXPECT_EQ(tx.events().stream_info("own-1").version, 2);
    EXPECT_EQ(tx.events().read_stream("own-1").size(), 2u);
  });
}

TEST_P(TransactionTest, LargeBatchesInsideATransaction) {
  std::vector<EventData> batch(500, event("Bulk"));
  store().transaction([&](Transaction& tx) {
    tx.events().append("bulk-1", batch);
    tx.events().append("bulk-2", batch);
  });
  EXPECT_EQ(events().stream_info("bulk-1").version, 500);
  EXPECT_THROW(store().transaction([&](Transaction& tx) {
    tx.events().append("bulk-3", batch);
    throw std::runtime_error("abandon");
  }),
               std::runtime_error);
  EXPECT_FALSE(events().stream_info("bulk-3").exists);
  EXPECT_EQ(read_everything(events()).size(), 1000u);
}

STRATA_ALL_BACKENDS(TransactionTest);

}  // namespace
}  // namespace strata::testing
