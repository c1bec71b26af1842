// Events::verify: a clean store has no problems, and each kind of damage done behind the store's
// back is found and named.
#include <gtest/gtest.h>

#include "support/backends.h"

namespace strata::testing {
namespace {

using VerifyTest = BackendTest;

struct Verified {
  VerifySummary summary;
  std::vector<std::string> problems;  // "kind stream@version".
};

Verified verify(const Events& events) {
  Verified verified;
  verified.summary = events.verify([&](const EventProblem& problem) {
    EXPECT_FALSE(problem.message.empty());
    verified.problems.push_back(std::string(to_string(problem.kind)) + " " + problem.stream + "@" +
                                std::to_string(problem.version));
  });
  EXPECT_EQ(verified.summary.problems, verified.problems.size());
  return verified;
}

// Five accounts of three events; the fourth truncated below version 2, the fifth deleted.
void append_accounts(const Events& events) {
  for (int account = 1; account <= 5; ++account) {
    const std::string stream = "acct-" + std::to_string(account);
    events.append(stream,
                  {event("Opened", R"({"owner":"ada"})", R"({"by":"teller"})"),
                   event("Deposited", R"({"amount":10})"), event("Deposited", R"({"amount":5})")});
  }
  events.truncate_stream("acct-4", 2);
  events.delete_stream("acct-5");
}

TEST_P(VerifyTest, AStoreWrittenOnlyThroughStrataHasNoProblems) {
  append_accounts(events());
  events().append("big-1", std::vector<EventData>(300, event("Bulk", R"({"n":1})")));  // By COPY.
  const Verified verified = verify(events());
  EXPECT_TRUE(verified.problems.empty()) << ::testing::PrintToString(verified.problems);
  EXPECT_EQ(verified.summary.streams, 5u);  // acct-1…4 and big-1: acct-5 has no events left.
  EXPECT_EQ(verified.summary.events, 3u * 3 + 2 + 300);
  EXPECT_EQ(verified.summary.without_checksum, 0u);
}

TEST_P(VerifyTest, FindsChangedContentMissingVersionsAndPositionsOutOfOrder) {
  append_accounts(events());
  const bool postgres = kind() == BackendKind::postgres;
  const std::string table = postgres ? "events" : "strata_events";
  run_store_sql(kind(), url(),
                "UPDATE " + table +
                    " SET data = '{\"amount\":1000}' WHERE stream = 'acct-1' AND version = 2");
  run_store_sql(kind(), url(), "DELETE FROM " + table + " WHERE stream = 'acct-2' AND version = 2");
  // acct-3's first event moves after its second in the all-events order.
  run_store_sql(kind(), url(),
                postgres ? "UPDATE events SET tx_id = '1'::xid8 WHERE stream = 'acct-3' AND "
                           "version = 2"
                         : "UPDATE strata_events SET position = (SELECT max(position) + 1 FROM "
                           "strata_events) WHERE stream = 'acct-3' AND version = 1");
  // acct-4 loses version 2, its first kept.
  run_store_sql(kind(), url(), "DELETE FROM " + table + " WHERE stream = 'acct-4' AND version = 2");

  const Verified verified = verify(events());
  EXPECT_EQ(verified.problems,
            (std::vector<std::string>{"checksum_mismatch acct-1@2", "missing_versions acct-2@3",
                                      "position_order acct-3@2", "missing_versions acct-4@3"}));
}

TEST_P(VerifyTest, EventsFromBeforeChecksumsAreCountedNotChecked) {
  append_accounts(events());
  const std::string table = kind() == BackendKind::postgres ? "events" : "strata_events";
  run_store_sql(kind(), url(), "UPDATE " + table + " SET checksum = NULL WHERE stream = 'acct-1'");
  const Verified verified = verify(events());
  EXPECT_TRUE(verified.problems.empty());
  EXPECT_EQ(verified.summary.without_checksum, 3u);
}

STRATA_SHARED_BACKENDS(VerifyTest);

// SQLite's table cannot hold a repeated id or version at all; PostgreSQL's can once its indexes
// are dropped.
TEST(PostgresVerifyTest, FindsIdsAndVersionsStoredTwice) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    Store store = Store::open(url);
    store.events().append("acct-1", {event("Opened"), event("Deposited")});
    run_store_sql(BackendKind::postgres, url,
                  "DROP INDEX events_id; ALTER TABLE events DROP CONSTRAINT events_pkey; "
                  "INSERT INTO events (stream, version, id, type, data, created_at, checksum) "
                  "SELECT 'copy-1', 1, id, type, data, created_at, checksum FROM events "
                  "WHERE stream = 'acct-1' AND version = 1; "
                  "INSERT INTO events (stream, version, id, type, data, created_at, checksum) "
                  "SELECT stream, 2, gen_random_uuid(), type, data, created_at, NULL FROM events "
                  "WHERE stream = 'acct-1' AND version = 2");
    const Verified verified = verify(store.events());
    EXPECT_EQ(verified.problems,
              (std::vector<std::string>{"version_order acct-1@2", "duplicate_id acct-1@1",
                                        "duplicate_id copy-1@1"}));
  }
  drop_database(BackendKind::postgres, url);
}

}  // namespace
}  // namespace strata::testing
