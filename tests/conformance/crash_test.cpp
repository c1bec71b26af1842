// A writer process killed with SIGKILL, and a SQLite disk that fills up: what was committed
// stays whole, what was not is gone, and the database is sound.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
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

// A SQLite file on a disk that fills up (a 4 MiB tmpfs, mounted by the test, which runs as root
// as CI does): the append that does not fit fails with a clear error and leaves nothing behind,
// the file stays sound, and appends work again once there is room.
class SqliteFullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int status = -1;
    const std::string out = run_command(
        "mkdir -p " + dir_ + " && mount -t tmpfs -o size=4m tmpfs " + dir_ + " 2>&1", &status);
    ASSERT_EQ(status, 0) << "cannot mount a small tmpfs (the test needs root): " << out;
    run_command("head -c 1048576 /dev/zero > " + dir_ + "/room");
  }
  void TearDown() override { run_command("umount -l " + dir_ + "; rmdir " + dir_); }

  const std::string dir_ = "/tmp/strata-full-disk-" + std::to_string(getpid());
};

TEST_F(SqliteFullDiskTest, AFullDiskFailsTheAppendClearlyAndLeavesNothingPartial) {
  Store store = Store::open("sqlite:" + dir_ + "/store.db");
  const std::vector<EventData> batch(100, event("Filler", "\"" + std::string(4000, 'x') + "\""));
  std::int64_t version = 0;
  std::optional<Error> failure;
  for (int i = 0; i < 100 && !failure; ++i) {
    try {
      version = store.events().append("full-1", batch).version;
    } catch (const Error& error) {
      failure = error;
    }
  }
  ASSERT_TRUE(failure.has_value()) << "4 MiB took " << version << " events";
  EXPECT_EQ(failure->code(), ErrorCode::unavailable);
  EXPECT_NE(std::string(failure->what()).find("disk is full"), std::string::npos)
      << failure->what();
  EXPECT_EQ(store.events().stream_info("full-1").version, version);
  EXPECT_EQ(static_cast<std::int64_t>(read_everything(store.events()).size()), version);

  run_command("rm " + dir_ + "/room");
  EXPECT_EQ(store.events().append("full-1", {event("After")}).version, version + 1);
  sqlite::Database file(dir_ + "/store.db", false);
  sqlite::Query check = file.query("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.text(0), "ok");
}

}  // namespace
}  // namespace strata::testing
