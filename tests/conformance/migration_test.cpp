// Migrations: tracked, applied once, safe to run again and from many processes at once.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "support/backends.h"

namespace strata::testing {
namespace {

using MigrationTest = BackendTest;
using MigrationRaceTest = BackendTest;

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

}  // namespace
}  // namespace strata::testing
