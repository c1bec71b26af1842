// A writer process killed with SIGKILL: what it committed stays whole, what it had not is gone,
// and the database is sound.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "sqlite/db.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using CrashTest = BackendTest;
using namespace std::chrono_literals;

constexpr int kBatch = 10000;

// Killed while its second batch of 10,000 is on its way: the batch is all there or not at all.
TEST_P(CrashTest, AnAppenderKilledMidBatchLeavesOnlyWholeBatches) {
  const std::string command = "sh -c 'echo $$; exec " + worker_path() + " \"" + url() +
                              "\" 0 append-batches crash-1 " + std::to_string(kBatch) + "' 2>&1";
  FILE* worker = popen(command.c_str(), "r");
  char pid[32] = {}, said[64] = {};
  ASSERT_NE(std::fgets(pid, sizeof pid, worker), nullptr);
  ASSERT_NE(std::fgets(said, sizeof said, worker), nullptr);
  ASSERT_STREQ(said, ("appended " + std::to_string(kBatch) + "\n").c_str());
  std::this_thread::sleep_for(20ms);  // Into the next batch.
  ASSERT_EQ(kill(std::atoi(pid), SIGKILL), 0);
  pclose(worker);

  const std::int64_t version = events().stream_info("crash-1").version;
  EXPECT_EQ(version % kBatch, 0) << version;
  EXPECT_GE(version, kBatch);
  EXPECT_EQ(static_cast<std::int64_t>(read_everything(events()).size()), version);
  EXPECT_EQ(events().append("crash-1", {event("After")}).version, version + 1);
  if (kind() == BackendKind::sqlite_file) {
    sqlite::Database file(url().substr(std::string("sqlite:").size()), false);
    sqlite::Query check = file.query("PRAGMA integrity_check");
    ASSERT_TRUE(check.step());
    EXPECT_EQ(check.text(0), "ok");
  }
}

STRATA_SHARED_BACKENDS(CrashTest);

}  // namespace
}  // namespace strata::testing
