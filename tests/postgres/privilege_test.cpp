// Least privilege: an owner role migrates; an application role with the grants that
// docs/operations.md lists uses every primitive and cannot change the schema.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

// The test server's URL, connecting as `role`.
std::string as_role(const std::string& url, const std::string& role) {
  std::string out = url;
  const auto user = out.find("user=");
  out.replace(
      user,
      out.find('&', user) == std::string::npos ? std::string::npos : out.find('&', user) - user,
      "user=" + role);
  return out;
}

// Runs `sql` as `role` through plain libpq; returns the server's error, empty when it ran.
std::string error_running_as(const std::string& role, const std::string& sql) {
  const std::string url = as_role(postgres_base_url(), role);
  PGconn* connection = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(connection) != CONNECTION_OK) {
    error = PQerrorMessage(connection);
  } else {
    PGresult* result = PQexec(connection, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(connection);
  return error;
}

// Every primitive, through a store opened as the application role.
void use_every_primitive(const Store& store) {
  Events events = store.events();
  const Position head = events.append("orders-1", {event("Placed"), event("Paid")}).position;
  EXPECT_EQ(events.read_stream("orders-1").size(), 2u);
  EXPECT_EQ(read_everything(events).size(), 2u);
  AllReadOptions from_head;
  from_head.after = head;
  EXPECT_TRUE(events.read_all(from_head).empty());  // Checks the position: reads a sequence.
  Subscription feed = store.subscribe();
  EXPECT_EQ(feed.poll(1s).size(), 2u);
  Consumer consumer = store.consumer("projector");
  EXPECT_EQ(consumer.poll([](Transaction&, const RecordedEvent&) {}, 1s), 2u);
  consumer.reset(head);
  StreamSettings settings;
  settings.max_count = 1;
  events.set_stream_settings("orders-1", settings);
  events.enforce_retention();
  events.truncate_stream("orders-1", 2);
  events.delete_stream("orders-1");
  events.append("orders-2", {event("Placed")});
  events.tombstone_stream("orders-2");

  KeyValue kv = store.kv("sessions");
  KvPut put = kv_write("s-1", R"({"user":"ada","text":"hello world"})");
  put.ttl = 1h;
  put.metadata = R"({"tenant":"a"})";
  kv.put(put);
  EXPECT_EQ(kv.find(JsonField::value, R"({"user":"ada"})").entries.size(), 1u);
  EXPECT_EQ(kv.search("hello").entries.size(), 1u);
  const KvCheckpoint checkpoint = kv.create_checkpoint();
  kv.erase("s-1");
  kv.restore_checkpoint(checkpoint.id);
  EXPECT_TRUE(kv.get("s-1"));
  kv.delete_checkpoint(checkpoint.id);
  kv.purge_expired();

  Queue queue = store.queue("jobs");
  queue.create();
  QueueMessage job;
  job.payload = "x";
  job.dedup_key = "once";
  queue.produce({job, job});
  auto leased = queue.lease(1);
  ASSERT_EQ(leased.size(), 1u);
  queue.fail(leased[0].token, "bad");
  EXPECT_EQ(queue.requeue_all(), 1u);
  leased = queue.lease(1);
  ASSERT_EQ(leased.size(), 1u);
  queue.extend(leased[0].token);
  queue.complete(leased[0].token);
  queue.stats();
  queue.purge();

  const auto lock = store.locks().try_acquire("migrate-job", "me", 10s);
  ASSERT_TRUE(lock);
  EXPECT_TRUE(store.locks().release("migrate-job", lock->token));
  LeaderElection election(store.locks(), "leader", "me", 10s);
  EXPECT_TRUE(election.campaign());
  election.resign();

  store.snapshots().save("orders-3", 1, "{}");
  EXPECT_TRUE(store.snapshots().load("orders-3"));
  store.workflows().save("signup", R"({"step":1})");
  store.workflows().prune("signup", 0);
  store.transaction([](Transaction& tx) {
    tx.events().append("orders-4", {event("Placed")});
    tx.queue("jobs").produce({QueueMessage{}});
  });
  EXPECT_TRUE(store.health().ok) << store.health().error;
  EXPECT_NE(store.metrics().find("strata_operations_total"), std::string::npos);
}

TEST(PostgresPrivilegeTest, AnApplicationRoleUsesEveryPrimitiveAndCannotAlterTheSchema) {
  const std::string suffix = detail::new_uuid_v7().substr(24);
  const std::string owner = "strata_owner_" + suffix;
  const std::string app = "strata_app_" + suffix;
  const std::string schema = "strata_priv_" + suffix;
  run_admin_sql("CREATE ROLE " + owner + " LOGIN; CREATE ROLE " + app + " LOGIN; " +
                "GRANT CREATE ON DATABASE postgres TO " + owner);
  {
    const std::string url = postgres_base_url() + "&schema=" + schema;
    Store::open(as_role(url, owner));  // The owner migrates.
    // The grants of docs/operations.md, run by the owner.
    const std::string grants = "GRANT USAGE ON SCHEMA " + schema + " TO " + app + "; " +
                               "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " +
                               schema + " TO " + app +
                               "; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + schema +
                               " TO " + app + "; " + "ALTER DEFAULT PRIVILEGES IN SCHEMA " +
                               schema + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " +
                               app + "; " + "ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema +
                               " GRANT USAGE, SELECT ON SEQUENCES TO " + app;
    ASSERT_EQ(error_running_as(owner, grants), "");

    Store store = Store::open(as_role(url, app));  // Up to date: opening needs no DDL.
    use_every_primitive(store);

    for (const std::string& change :
         {"ALTER TABLE " + schema + ".events ADD COLUMN x integer",
          "CREATE TABLE " + schema + ".mine (x integer)", "DROP TABLE " + schema + ".kv",
          "TRUNCATE " + schema + ".events", "CREATE SCHEMA other_" + suffix}) {
      const std::string error = error_running_as(app, change);
      EXPECT_TRUE(error.find("permission denied") != std::string::npos ||
                  error.find("must be owner") != std::string::npos)
          << change << ": " << error;
    }
    EXPECT_EQ(error_running_as(app, "SELECT 1 FROM " + schema + ".events LIMIT 1"), "");
  }
  run_admin_sql("DROP SCHEMA " + schema + " CASCADE; DROP OWNED BY " + owner + ", " + app +
                "; DROP ROLE " + owner + "; DROP ROLE " + app);
}

}  // namespace
}  // namespace strata::testing
