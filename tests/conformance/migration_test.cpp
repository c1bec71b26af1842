// Migrations: tracked, applied once, safe to run again and from many processes at once.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "support/backends.h"

namespace strata::testing {
namespace {

using MigrationTest = BackendTest;
using MigrationRaceTest = BackendTest;
using RollingUpgradeTest = BackendTest;

// What a newer build leaves behind: its migration recorded above this build's last.
void migrate_as_newer_build(BackendKind kind, const std::string& url, bool breaks_older_builds) {
  run_store_sql(kind, url,
                "INSERT INTO strata_migrations (version, name, breaks_older_builds) VALUES (" +
                    std::to_string(kLatestSchema + 1) + ", 'from a newer build', " +
                    (breaks_older_builds ? "true" : "false") + ")");
}

std::string cli_output(const std::string& url, const std::string& args, int* status) {
  return run_command(cli_path() + " --db '" + url + "' " + args + " 2>&1", status);
}

// A rolling upgrade: a newer build migrates while older instances still run. Its migration
// only adds, so they stay healthy and keep working.
TEST_P(RollingUpgradeTest, AnOlderBuildKeepsRunningAgainstACompatibleNewerSchema) {
  events().append("before-1", event("A"));
  migrate_as_newer_build(kind(), url(), false);
  const Health health = store().health();
  EXPECT_TRUE(health.ok) << health.error;
  EXPECT_EQ(health.schema_version, kLatestSchema + 1);
  EXPECT_EQ(health.expected_schema_version, kLatestSchema);
  Store reopened = Store::open(url());  // Migrating is a no-op.
  EXPECT_EQ(reopened.schema_version(), kLatestSchema + 1);
  EXPECT_EQ(reopened.events().append("before-1", event("B")).version, 2);
  int status = -1;
  const std::string out = cli_output(url(), "migrate", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("newer than this build's " + std::to_string(kLatestSchema) +
                     ", and this build can use it"),
            std::string::npos)
      << out;
  cli_output(url(), "health", &status);
  EXPECT_EQ(status, 0);
}

// A newer build's migration that older builds cannot run against: they refuse, naming both
// versions, instead of running against a schema they do not know.
TEST_P(RollingUpgradeTest, AnOlderBuildRefusesAnIncompatibleNewerSchema) {
  migrate_as_newer_build(kind(), url(), true);
  const std::string newer = "schema version " + std::to_string(kLatestSchema + 1);
  const std::string ours = "this build knows schema version " + std::to_string(kLatestSchema);
  try {
    Store::open(url());
    FAIL() << "opened";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::incompatible_schema);
    EXPECT_NE(std::string(error.what()).find(newer), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find(ours), std::string::npos) << error.what();
  }
  const Health health = store().health();
  EXPECT_FALSE(health.ok);
  EXPECT_NE(health.error.find(ours), std::string::npos) << health.error;
  int status = -1;
  const std::string out = cli_output(url(), "migrate", &status);
  EXPECT_EQ(status, 6) << out;
  EXPECT_NE(out.find(newer), std::string::npos) << out;
  cli_output(url(), "health", &status);
  EXPECT_EQ(status, 1);
}

// A migrations table written before migrations recorded whether they break older builds (by
// a build of schema 8 or earlier) reads as compatible.
TEST_P(RollingUpgradeTest, AMigrationsTableFromBeforeTheMarkReadsAsCompatible) {
  run_store_sql(kind(), url(), "ALTER TABLE strata_migrations DROP COLUMN breaks_older_builds");
  const Health health = store().health();
  EXPECT_TRUE(health.ok) << health.error;
  EXPECT_EQ(health.schema_version, kLatestSchema);
  EXPECT_EQ(Store::open(url()).schema_version(), kLatestSchema);
}

TEST_P(MigrationTest, OpeningMigratesAndMigratingAgainIsANoOp) {
  EXPECT_EQ(store().schema_version(), kLatestSchema);
  store().migrate();
  store().migrate();
  EXPECT_EQ(store().schema_version(), kLatestSchema);
  events().append("still-1", event("Works"));
  Store again = Store::open(url());
  EXPECT_EQ(again.schema_version(), kLatestSchema);
  if (kind() != BackendKind::sqlite_memory) {
    EXPECT_EQ(again.events().stream_info("still-1").version, 1);
  }
}

TEST_P(MigrationTest, AnEmptyDatabaseCanBeOpenedWithoutMigrating) {
  const std::string empty = fresh_database_url(kind());
  {
    Store store = Store::open(empty, OpenOptions{.migrate = false});
    EXPECT_EQ(store.schema_version(), 0);
    store.migrate();
    EXPECT_EQ(store.schema_version(), kLatestSchema);
    EXPECT_EQ(store.events().append("fresh-1", event("A")).version, 1);
  }
  drop_database(kind(), empty);
}

// Many processes open the same fresh database at the same moment: each migration is applied
// exactly once and every process ends up with a working store.
TEST_P(MigrationRaceTest, ProcessesOpeningAFreshDatabaseTogether) {
  const std::string fresh = fresh_database_url(kind());
  constexpr int kProcesses = 6;
  for (const std::string& output : run_workers_together(fresh, kProcesses, "open", 300)) {
    EXPECT_EQ(output, "schema_version " + std::to_string(kLatestSchema) + "\n");
  }
  Store store = Store::open(fresh);
  EXPECT_EQ(store.events().append("after-race-1", event("A")).version, 1);
  if (kind() == BackendKind::postgres) {
    const std::string schema = fresh.substr(fresh.find("schema=") + 7);
    EXPECT_EQ(run_admin_sql("SELECT count(*) FROM " + schema + ".strata_migrations"),
              std::vector<std::string>{std::to_string(kLatestSchema)});
  }
  drop_database(kind(), fresh);
}

STRATA_ALL_BACKENDS(MigrationTest);
STRATA_SHARED_BACKENDS(MigrationRaceTest);
STRATA_SHARED_BACKENDS(RollingUpgradeTest);

}  // namespace
}  // namespace strata::testing
