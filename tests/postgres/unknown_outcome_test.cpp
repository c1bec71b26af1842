// PostgreSQL only: a connection lost right after the server applied a call. A call that may not
// run twice reports unknown_outcome, never a wrong answer; one that may is sent again.
#include <gtest/gtest.h>

#include "support/backends.h"
#include "support/cutting_proxy.h"

namespace strata::testing {
namespace {

class UnknownOutcomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = fresh_database_url(BackendKind::postgres);
    const auto host = url_.find("host=") + 5;
    proxy_.emplace(url_.substr(host, url_.find('&', host) - host));
    direct_.emplace(Store::open(url_));
    cut_.emplace(Store::open(proxy_->url_through(url_)));
  }
  void TearDown() override {
    cut_.reset();
    direct_.reset();
    proxy_.reset();
    drop_database(BackendKind::postgres, url_);
  }

  // A store on the database straight, and one whose connections go through the proxy.
  Store& direct() { return *direct_; }
  Store& through_proxy() { return *cut_; }
  CuttingProxy& proxy() { return *proxy_; }

 private:
  std::string url_;
  std::optional<CuttingProxy> proxy_;
  std::optional<Store> direct_;
  std::optional<Store> cut_;
};

TEST_F(UnknownOutcomeTest, ACompletionAppliedBeforeTheConnectionDiedIsUnknownNotLost) {
  Queue jobs = through_proxy().queue("jobs");
  jobs.create();
  QueueMessage job;
  job.payload = "job-1";
  jobs.produce({job});
  const auto leased = jobs.lease(1);
  ASSERT_EQ(leased.size(), 1u);

  proxy().cut_after_next_answer();
  EXPECT_EQ(error_code_of([&] { jobs.complete(leased[0].token); }), ErrorCode::unknown_outcome);
  EXPECT_EQ(proxy().cuts(), 1);
  // It was applied: the item is gone, not handed out again.
  const QueueStats stats = direct().queue("jobs").stats();
  EXPECT_EQ(stats.ready + stats.leased + stats.scheduled + stats.dead, 0);
}

TEST_F(UnknownOutcomeTest, AKeyValueWriteAppliedBeforeTheConnectionDiedIsUnknown) {
  KeyValue prefs = through_proxy().kv("prefs");
  proxy().cut_after_next_answer();
  EXPECT_EQ(error_code_of([&] { prefs.put("theme", "dark"); }), ErrorCode::unknown_outcome);
  // Applied once: sent again, it would have reached version 2.
  const auto stored = direct().kv("prefs").get("theme");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->version, 1);
}

TEST_F(UnknownOutcomeTest, AnAppendIsSentAgainAndStoredOnce) {
  Events events = through_proxy().events();
  proxy().cut_after_next_answer();
  const AppendResult appended =
      events.append("order-1", {event("Placed"), event("Paid")}, ExpectedVersion::no_stream());
  EXPECT_EQ(proxy().cuts(), 1);
  EXPECT_EQ(appended.version, 2);
  const auto stored = direct().events().read_stream("order-1");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored.back().position, appended.position);
}

TEST_F(UnknownOutcomeTest, AReadIsSentAgain) {
  direct().kv("prefs").put("theme", "dark");
  proxy().cut_after_next_answer();
  const auto read = through_proxy().kv("prefs").get("theme");
  EXPECT_EQ(proxy().cuts(), 1);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, "dark");
}

TEST_F(UnknownOutcomeTest, ACommitWhoseAnswerIsLostIsUnknown) {
  EXPECT_EQ(error_code_of([&] {
              through_proxy().transaction([&](Transaction& tx) {
                tx.events().append("order-2", event("Placed"));
                tx.kv("orders").put("order-2", "placed");
                proxy().cut_after_next_answer();  // The next answer is the COMMIT's.
              });
            }),
            ErrorCode::unknown_outcome);
  EXPECT_EQ(direct().events().read_stream("order-2").size(), 1u);
  EXPECT_TRUE(direct().kv("orders").get("order-2").has_value());
}

}  // namespace
}  // namespace strata::testing
