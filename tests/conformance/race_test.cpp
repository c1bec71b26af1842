// Concurrency: real threads and real processes racing on one database.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using ThreadRaceTest = BackendTest;
using ProcessRaceTest = BackendTest;

void expect_gapless(const std::vector<RecordedEvent>& stream, std::int64_t count) {
  ASSERT_EQ(static_cast<std::int64_t>(stream.size()), count);
  std::set<std::string> ids;
  for (std::int64_t i = 0; i < count; ++i) {
    EXPECT_EQ(stream[i].version, i + 1);
    EXPECT_TRUE(ids.insert(stream[i].id).second) << "duplicate event " << stream[i].id;
  }
}

// Writers race for each next version of one stream: exactly one wins each version; the losers
// learn the actual version; the stream ends gapless with exactly the winners' events.
TEST_P(ThreadRaceTest, ExactlyOneWriterWinsEachVersion) {
  constexpr int kThreads = 8;
  constexpr int kWinsEach = 15;
  std::atomic<int> conflicts{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      auto events = store().events();
      std::int64_t seen = 0;
      for (int wins = 0; wins < kWinsEach;) {
        try {
          const std::string data = "{\"t\":" + std::to_string(t) + "}";
          const auto result =
              events.append("race-1", event("Raced", data), ExpectedVersion::exact(seen));
          EXPECT_EQ(result.version, seen + 1);
          seen = result.version;
          ++wins;
        } catch (const WrongExpectedVersion& lost) {
          EXPECT_GT(lost.actual_version(), seen);
          seen = lost.actual_version();
          ++conflicts;
        }
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  StreamReadOptions all;
  all.limit = 10000;
  const auto stream = events().read_stream("race-1", all);
  expect_gapless(stream, kThreads * kWinsEach);
  std::map<std::string, int> per_writer;
  for (const auto& e : stream) ++per_writer[e.data];
  for (const auto& [writer, count] : per_writer) EXPECT_EQ(count, kWinsEach) << writer;
  if (kind() != BackendKind::sqlite_memory) {
    EXPECT_GT(conflicts.load(), 0) << "no real race";
  }
}

// Writers append to many streams while a reader pages through all events with the last
// position it saw: it must see every event exactly once, in one order, the final order.
TEST_P(ThreadRaceTest, AReaderOfAllEventsNeverSkipsNorRepeats) {
  constexpr int kWriters = 6;
  constexpr int kAppendsEach = 60;
  std::atomic<int> writers_done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto events = store().events();
      for (int i = 0; i < kAppendsEach; ++i) {
        const std::string stream = "feed-" + std::to_string((w * 7 + i) % 10);
        std::vector<EventData> batch(1 + i % 3, event("Fed", "{\"w\":" + std::to_string(w) + "}"));
        events.append(stream, batch);
      }
      ++writers_done;
    });
  }
  std::vector<RecordedEvent> seen;
  AllReadOptions page;
  page.limit = 7;
  auto reader = store().events();
  while (true) {
    const bool finished = writers_done == kWriters;
    const auto batch = reader.read_all(page);
    if (!batch.empty()) {
      page.after = batch.back().position;
      seen.insert(seen.end(), batch.begin(), batch.end());
    } else if (finished) {
      break;
    }
  }
  for (auto& writer : writers) writer.join();
  const auto final_order = read_everything(events());
  std::set<std::string> unique;
  for (const auto& e : seen) EXPECT_TRUE(unique.insert(e.id).second) << "repeated " << e.id;
  ASSERT_EQ(seen.size(), final_order.size()) << "the live reader skipped events";
  EXPECT_EQ(seen, final_order);
  // Per stream, the feed shows versions in order.
  std::map<std::string, std::int64_t> last_version;
  for (const auto& e : seen) {
    EXPECT_EQ(e.version, last_version[e.stream] + 1) << e.stream;
    last_version[e.stream] = e.version;
  }
}

// The processes open their stores, then all start appending at one moment, a second from now
// (time enough to start and open even under the sanitizers).
TEST_P(ProcessRaceTest, ProcessesRacingForOneStream) {
  constexpr int kProcesses = 4;
  constexpr int kWinsEach = 25;
  int total_conflicts = 0;
  for (const std::string& output :
       run_workers_together(url(), kProcesses, "append-race proc-1 " + std::to_string(kWinsEach))) {
    std::istringstream line(output);
    std::string wins_word, conflicts_word;
    int wins = 0, conflicts = 0;
    line >> wins_word >> wins >> conflicts_word >> conflicts;
    EXPECT_EQ(wins, kWinsEach) << output;
    total_conflicts += conflicts;
  }
  StreamReadOptions all;
  all.limit = 10000;
  expect_gapless(events().read_stream("proc-1", all), kProcesses * kWinsEach);
  EXPECT_GT(total_conflicts, 0) << "the processes never raced";
}

STRATA_ALL_BACKENDS(ThreadRaceTest);
STRATA_SHARED_BACKENDS(ProcessRaceTest);

}  // namespace
}  // namespace strata::testing
