// Backups, as docs/operations.md tells an operator to take them: a logical dump (custom format
// through pg_restore, and plain SQL through psql) and a physical base backup recovered to a
// point in time from a WAL archive, each restored into a server of its own that the test
// starts. Every event stays in the feed in its order, and every other primitive's state
// carries over.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

const std::string kServer = STRATA_PG_SERVER;

// Runs `command` (a shell line); throws with its output when it fails, which ends the test.
void run(const std::string& command) {
  int status = -1;
  const std::string out = run_command(command + " 2>&1", &status);
  if (status != 0) throw std::runtime_error(command + " failed:\n" + out);
}

// The first column of the first row `sql` returns on the server in `dir`.
std::string query(const std::string& dir, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
      PQconnectdb(("host=" + dir + " user=strata dbname=postgres").c_str()), &PQfinish);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()),
                                                       &PQclear);
  const auto status = PQresultStatus(result.get());
  EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
      << sql << ": " << PQerrorMessage(connection.get());
  return PQntuples(result.get()) > 0 ? PQgetvalue(result.get(), 0, 0) : "";
}

std::string store_url(const std::string& dir) {
  return "postgresql:///postgres?host=" + dir + "&user=strata&schema=app";
}

// What the source store held when it was backed up.
struct Saved {
  std::vector<RecordedEvent> events;
  Position consumer_checkpoint;
  std::optional<KvEntry> plan;
  std::optional<KvEntry> session;
  std::string lease_token;
  Lock leader;
};

constexpr std::size_t kConsumed = 12;

// Events in three streams, each appended in a transaction of its own; a consumer past the first
// kConsumed; a key written three times and one with a TTL; a queue with one item leased and two
// ready; a lock acquired twice, so its fencing token has risen.
Saved fill(const Store& store) {
  for (int i = 0; i < 30; ++i) {
    store.events().append("order-" + std::to_string(i % 3), event("Step"));
  }
  ConsumerOptions options;
  options.batch = kConsumed;
  Consumer billing = store.consumer("billing", options);
  EXPECT_EQ(billing.poll([](Transaction&, const RecordedEvent&) {}), kConsumed);

  const KeyValue settings = store.kv("settings");
  for (const char* plan : {"free", "pro", "gold"}) settings.put("plan", plan);
  KvPut session = kv_write("session", "s-1");
  session.ttl = 1h;
  settings.put(session);

  const Queue jobs = store.queue("jobs");
  jobs.create();
  std::vector<QueueMessage> items(3);
  for (auto& item : items) item.payload = "item";
  jobs.produce(items);
  const auto leased = jobs.lease(1, 10min);
  EXPECT_EQ(leased.size(), 1u);

  const Locks locks = store.locks();
  const auto first = locks.try_acquire("leader", "a", 1h);
  EXPECT_TRUE(first && locks.release("leader", first->token));
  const auto second = locks.try_acquire("leader", "a", 1h);
  EXPECT_TRUE(second.has_value());

  return Saved{read_everything(store.events()),
               billing.checkpoint(),
               settings.get("plan"),
               settings.get("session"),
               leased.empty() ? "" : leased[0].token,
               second.value_or(Lock{})};
}

// The restored store holds exactly `saved`: the same events at the same positions, a position
// from before the backup resuming with nothing skipped or repeated, appends after every
// restored event, and the other primitives' state as it was.
void expect_restored(const Store& store, const Saved& saved) {
  const auto events = read_everything(store.events());
  ASSERT_EQ(ids_of(events), ids_of(saved.events));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position, saved.events[i].position) << i;
  }
  AllReadOptions resumed;
  resumed.after = saved.events[14].position;
  EXPECT_EQ(ids_of(store.events().read_all(resumed)),
            ids_of({saved.events.begin() + 15, saved.events.end()}));

  Consumer billing = store.consumer("billing");
  EXPECT_EQ(billing.checkpoint(), saved.consumer_checkpoint);
  std::vector<std::string> handled;
  billing.poll([&](Transaction&, const RecordedEvent& e) { handled.push_back(e.id); });
  EXPECT_EQ(handled, ids_of({saved.events.begin() + kConsumed, saved.events.end()}));

  const KeyValue settings = store.kv("settings");
  EXPECT_EQ(settings.get("plan"), saved.plan);
  EXPECT_EQ(settings.get("plan")->version, 3);
  EXPECT_EQ(settings.get("session"), saved.session);
  EXPECT_TRUE(settings.get("session")->expires_at.has_value());

  const Queue jobs = store.queue("jobs");
  EXPECT_EQ(jobs.stats().leased, 1);
  EXPECT_EQ(jobs.lease(5).size(), 2u);  // The leased item stays held.
  jobs.retry(saved.lease_token, 0ms);   // Its token still fences it...
  const auto again = jobs.lease(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);  // ...and its attempts carried over.

  const Locks locks = store.locks();
  EXPECT_EQ(locks.status("leader"), saved.leader);
  EXPECT_TRUE(locks.release("leader", saved.leader.token));
  const auto next = locks.try_acquire("leader", "b", 1h);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(next->token, saved.leader.token);

  const AppendResult after = store.events().append("after-restore-1", event("New"));
  EXPECT_GT(after.position, saved.events.back().position);
  const auto now = read_everything(store.events());
  ASSERT_EQ(now.size(), saved.events.size() + 1);
  EXPECT_EQ(now.back().stream, "after-restore-1");
  EXPECT_TRUE(store.health().ok) << store.health().error;
}

class PostgresBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run("STRATA_PG_ARCHIVE=1 " + kServer + " start " + source_);
    run(kServer + " start " + target_);
    bin_ = run_command(kServer + " bin");
    while (!bin_.empty() && bin_.back() == '\n') bin_.pop_back();
  }
  void TearDown() override {
    for (const auto& dir : {source_, target_}) run_command(kServer + " stop " + dir + " 2>&1");
    run_command("rm -rf " + files_);
  }

  // Moves the source's transaction counter far past the fresh target's, as on any cluster that
  // has run for a while: each subtransaction that writes takes an id.
  void age_source() {
    query(source_,
          "CREATE TEMP TABLE burn (x int); DO $$ BEGIN FOR i IN 1..3000 LOOP BEGIN "
          "INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$");
  }

  // Restores into the target a logical dump the source's `dump` options wrote to `file`, by
  // `load` (a command given the file).
  void restore_logically(const std::string& dump, const std::string& load) {
    age_source();
    Saved saved;
    {
      Store source = Store::open(store_url(source_));
      saved = fill(source);
    }
    run("mkdir -p " + files_);
    run(bin_ + "/pg_dump -h " + source_ + " -U strata -d postgres -n app " + dump);
    run(load);
    {
      // Restored ids lie above the target's own: until migrate moves past them, the store
      // says so instead of appending behind them.
      OpenOptions as_found;
      as_found.migrate = false;
      Store unmigrated = Store::open(store_url(target_), as_found);
      const Health health = unmigrated.health();
      EXPECT_FALSE(health.ok);
      EXPECT_NE(health.error.find("restored"), std::string::npos) << health.error;
    }
    expect_restored(Store::open(store_url(target_)), saved);
  }

  const std::string source_ = "/tmp/strata-backup-source-" + std::to_string(getpid());
  const std::string target_ = "/tmp/strata-backup-target-" + std::to_string(getpid());
  const std::string files_ = "/tmp/strata-backup-files-" + std::to_string(getpid());
  std::string bin_;
};

TEST_F(PostgresBackupTest, ACustomFormatDumpRestoredIntoAnotherClusterKeepsEverything) {
  restore_logically(
      "-Fc -f " + files_ + "/app.dump",
      bin_ + "/pg_restore -h " + target_ + " -U strata -d postgres " + files_ + "/app.dump");
}

TEST_F(PostgresBackupTest, APlainSqlDumpRestoredThroughPsqlKeepsEverything) {
  restore_logically("-f " + files_ + "/app.sql", bin_ + "/psql -h " + target_ +
                                                     " -U strata -d postgres -q -v "
                                                     "ON_ERROR_STOP=1 -f " +
                                                     files_ + "/app.sql");
}

// A base backup, then more work, a named restore point, and work after it that the recovery
// must leave out.
TEST_F(PostgresBackupTest, ABaseBackupRecoveredToAPointInTimeKeepsEverythingUpToIt) {
  Saved saved;
  {
    Store source = Store::open(store_url(source_));
    source.events().append("before-base-1", event("Early"));
    run("mkdir -p " + files_);
    run(bin_ + "/pg_basebackup -h " + source_ + " -U strata -D " + files_ + "/base -Fp -X stream");
    saved = fill(source);
    const std::string point = query(source_, "SELECT pg_create_restore_point('strata_test')");
    source.events().append("after-point-1", event("Late"));
    const std::string segment = query(source_, "SELECT pg_walfile_name('" + point + "')");
    query(source_, "SELECT pg_switch_wal()");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    const auto archived = [&] {
      return query(source_, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >=
             segment;
    };
    while (!archived() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(archived()) << "WAL segment " << segment << " was not archived within 60 s";
  }
  run(kServer + " stop " + target_);
  run(kServer + " recover " + target_ + " " + files_ + "/base " + source_ + "/archive strata_test");
  expect_restored(Store::open(store_url(target_)), saved);
}

}  // namespace
}  // namespace strata::testing
