// PostgreSQL only: a connection lost right after the server applied a call. A call that may not
// run twice reports unknown_outcome, never a wrong answer; one that may is sent again.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

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
  std::string schema() const { return url_.substr(url_.find("schema=") + 7); }

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

// Every mutating call, its answer cut after the server applied it: the call succeeds with the
// true answer (it was sent again, and is idempotent) or reports unknown_outcome, and it is never
// applied twice. `applied` counts how many times the call took effect, read on a direct store.
struct MutatingCall {
  const char* name;
  std::function<std::string(Store&)> setup;  // On the direct store; returns a token, if any.
  std::function<void(Store&, const std::string&)> call;  // Through the proxy; checks its answer.
  std::function<int(Store&)> applied;
};

QueueMessage message(std::string payload) {
  QueueMessage item;
  item.payload = std::move(payload);
  return item;
}

// The token of the one item of queue "jobs", leased.
std::string lease_one(Store& store) {
  Queue jobs = store.queue("jobs");
  jobs.create();
  jobs.produce({message("job")});
  return jobs.lease(1).at(0).token;
}

int items_where(Store& store, std::int64_t QueueStats::*field) {
  return static_cast<int>(store.queue("jobs").stats().*field);
}

std::vector<MutatingCall> mutating_calls(const std::string& schema) {
  using namespace std::chrono_literals;
  const auto none = [](Store&) { return std::string(); };
  const auto an_event = [](Store& d) {
    d.events().append("s-1", event("E"));
    return std::string();
  };
  return {
      {"kv put", none, [](Store& s, const std::string&) { s.kv("k").put("a", "1"); },
       [](Store& d) {
         const auto e = d.kv("k").get("a");
         return e ? static_cast<int>(e->version) : 0;
       }},
      {"kv put_many", none,
       [](Store& s, const std::string&) {
         s.kv("k").put_many({kv_write("a", "1"), kv_write("b", "2")});
       },
       [](Store& d) {
         const auto e = d.kv("k").get("b");
         return e ? static_cast<int>(e->version) : 0;
       }},
      {"kv conditional put",
       [](Store& d) {
         d.kv("k").put("a", "1");
         return std::string();
       },
       [](Store& s, const std::string&) {
         KvPut write = kv_write("a", "2");
         write.if_version = 1;
         EXPECT_EQ(s.kv("k").put(write), 2);
       },
       [](Store& d) { return static_cast<int>(d.kv("k").get("a")->version) - 1; }},
      {"kv erase",
       [](Store& d) {
         d.kv("k").put("a", "1");
         return std::string();
       },
       [](Store& s, const std::string&) { EXPECT_TRUE(s.kv("k").erase("a")); },
       [](Store& d) { return d.kv("k").get("a") ? 0 : 1; }},
      {"queue create", none, [](Store& s, const std::string&) { s.queue("jobs").create(); },
       [](Store& d) { return error_code_of([&] { d.queue("jobs").stats(); }) ? 0 : 1; }},
      {"queue produce",
       [](Store& d) {
         d.queue("jobs").create();
         return std::string();
       },
       [](Store& s, const std::string&) { s.queue("jobs").produce({message("a")}); },
       [](Store& d) { return items_where(d, &QueueStats::ready); }},
      {"queue lease",
       [](Store& d) {
         d.queue("jobs").create();
         d.queue("jobs").produce({message("a")});
         return std::string();
       },
       [](Store& s, const std::string&) { EXPECT_EQ(s.queue("jobs").lease(1).size(), 1u); },
       [](Store& d) { return items_where(d, &QueueStats::leased); }},
      {"queue complete", lease_one,
       [](Store& s, const std::string& token) { s.queue("jobs").complete(token); },
       [](Store& d) { return 1 - items_where(d, &QueueStats::leased); }},
      {"queue retry", lease_one,
       [](Store& s, const std::string& token) { s.queue("jobs").retry(token, 1h); },
       [](Store& d) { return items_where(d, &QueueStats::scheduled); }},
      {"queue fail", lease_one,
       [](Store& s, const std::string& token) { s.queue("jobs").fail(token, "broken"); },
       [](Store& d) { return items_where(d, &QueueStats::dead); }},
      {"queue extend", lease_one,
       [](Store& s, const std::string& token) { s.queue("jobs").extend(token, 1h); },
       [schema](Store&) {
         return run_admin_sql("SELECT count(*) FROM " + schema +
                              ".queue_items WHERE leased_until > now() + interval '30 minutes'")
                            .at(0) == "1"
                    ? 1
                    : 0;
       }},
      {"queue requeue",
       [](Store& d) {
         QueueSettings once;
         once.max_attempts = 1;
         d.queue("jobs").create(once);
         d.queue("jobs").produce({message("a")});
         d.queue("jobs").fail(d.queue("jobs").lease(1).at(0).token, "broken");
         return std::string();
       },
       [](Store& s, const std::string&) { EXPECT_EQ(s.queue("jobs").requeue_all(), 1u); },
       [](Store& d) { return items_where(d, &QueueStats::ready); }},
      {"queue pause",
       [](Store& d) {
         d.queue("jobs").create();
         return std::string();
       },
       [](Store& s, const std::string&) { s.queue("jobs").pause(); },
       [](Store& d) { return d.queue("jobs").stats().paused ? 1 : 0; }},
      {"lock acquire", none,
       [](Store& s, const std::string&) {
         EXPECT_TRUE(s.locks().try_acquire("l", "me", 1h).has_value());
       },
       [](Store& d) { return d.locks().status("l") ? 1 : 0; }},
      {"lock release",
       [](Store& d) { return std::to_string(d.locks().try_acquire("l", "me", 1h)->token); },
       [](Store& s, const std::string& token) {
         EXPECT_TRUE(s.locks().release("l", std::stoll(token)));
       },
       [](Store& d) { return d.locks().status("l") ? 0 : 1; }},
      {"workflow save", none, [](Store& s, const std::string&) { s.workflows().save("w", "{}"); },
       [](Store& d) {
         const auto latest = d.workflows().latest("w");
         return latest ? static_cast<int>(latest->version) : 0;
       }},
      {"snapshot save", an_event,
       [](Store& s, const std::string&) { s.snapshots().save("s-1", 1, "{}"); },
       [](Store& d) { return static_cast<int>(d.snapshots().list("s-1").size()); }},
      {"stream delete", an_event,
       [](Store& s, const std::string&) { s.events().delete_stream("s-1"); },
       [](Store& d) { return d.events().stream_info("s-1").exists ? 0 : 1; }},
      {"stream settings", none,
       [](Store& s, const std::string&) {
         StreamSettings settings;
         settings.max_count = 5;
         s.events().set_stream_settings("s-1", settings);
       },
       [](Store& d) { return d.events().stream_settings("s-1").max_count ? 1 : 0; }},
  };
}

TEST_F(UnknownOutcomeTest, EveryMutatingCallReportsItsTrueOutcomeOrUnknown) {
  for (std::size_t i = 0; i < mutating_calls("").size(); ++i) {
    // A fresh schema per call, so that each starts from nothing.
    TearDown();
    SetUp();
    const MutatingCall each = mutating_calls(schema())[i];
    SCOPED_TRACE(each.name);
    const std::string token = each.setup(direct());
    bool succeeded = false;
    const auto code = error_code_of([&] {
      proxy().cut_after_next_answer();
      each.call(through_proxy(), token);
      succeeded = true;
    });
    EXPECT_GE(proxy().cuts(), 1);
    if (!succeeded) {
      EXPECT_EQ(code, ErrorCode::unknown_outcome);
    }
    const int applied = each.applied(direct());
    EXPECT_LE(applied, 1) << "applied twice";
    if (succeeded) {
      EXPECT_EQ(applied, 1);
    }
    std::printf("[ figures  ] %-20s %s, applied %d time(s)\n", each.name,
                succeeded ? "succeeded" : "unknown_outcome", applied);
  }
}

}  // namespace
}  // namespace strata::testing
