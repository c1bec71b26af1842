// Stream lifecycle: soft delete, tombstone, truncate-before, and max-age / max-count settings
// honoured by every read and enforced by enforce_retention.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using StreamLifecycleTest = BackendTest;

std::vector<std::int64_t> versions_of(const std::vector<RecordedEvent>& events,
                                      const std::string& stream = "") {
  std::vector<std::int64_t> versions;
  for (const auto& e : events) {
    if (stream.empty() || e.stream == stream) versions.push_back(e.version);
  }
  return versions;
}

void append_n(const Events& events, const std::string& stream, int n) {
  for (int i = 0; i < n; ++i) events.append(stream, event("Happened"));
}

TEST_P(StreamLifecycleTest, SoftDeleteHidesTheEventsAndAnAppendReopensTheStream) {
  append_n(events(), "order-1", 3);
  append_n(events(), "order-2", 1);
  EXPECT_EQ(events().delete_stream("order-1"), 3u);
  EXPECT_TRUE(events().read_stream("order-1").empty());
  const StreamInfo deleted = events().stream_info("order-1");
  EXPECT_FALSE(deleted.exists);
  EXPECT_EQ(deleted.version, 3) << "the version is kept";
  EXPECT_FALSE(deleted.deleted);
  EXPECT_EQ(versions_of(read_everything(events()), "order-1"), std::vector<std::int64_t>{});
  EXPECT_EQ(events().read_category("order").size(), 1u);

  try {
    events().append("order-1", event("Again"), ExpectedVersion::no_stream());
    FAIL() << "no_stream must not hold for a deleted stream";
  } catch (const WrongExpectedVersion& error) {
    EXPECT_EQ(error.actual_version(), 3);
  }
  EXPECT_EQ(events().append("order-1", event("Again"), ExpectedVersion::exact(3)).version, 4);
  EXPECT_EQ(versions_of(events().read_stream("order-1")), std::vector<std::int64_t>{4});
  EXPECT_TRUE(events().stream_info("order-1").exists);
  EXPECT_EQ(events().delete_stream("never-written"), 0u);
}

TEST_P(StreamLifecycleTest, ATombstonedStreamRefusesEveryAppend) {
  append_n(events(), "order-1", 2);
  EXPECT_EQ(events().tombstone_stream("order-1"), 2u);
  for (const auto expected :
       {ExpectedVersion::any(), ExpectedVersion::exact(2), ExpectedVersion::no_stream()}) {
    EXPECT_EQ(error_code_of([&] { events().append("order-1", event("Late"), expected); }),
              ErrorCode::stream_deleted);
  }
  std::vector<EventData> large(100, event("Late"));  // The COPY path on PostgreSQL.
  EXPECT_EQ(error_code_of([&] { events().append("order-1", large); }), ErrorCode::stream_deleted);
  const StreamInfo info = events().stream_info("order-1");
  EXPECT_TRUE(info.deleted);
  EXPECT_FALSE(info.exists);
  EXPECT_EQ(info.version, 2);
  EXPECT_TRUE(read_everything(events()).empty()) << "nothing was written";
  EXPECT_EQ(error_code_of([&] { events().delete_stream("order-1"); }), ErrorCode::stream_deleted);
  EXPECT_EQ(error_code_of([&] { events().truncate_stream("order-1", 2); }),
            ErrorCode::stream_deleted);
  EXPECT_EQ(events().tombstone_stream("order-1"), 0u) << "tombstoning again is a no-op";
  EXPECT_EQ(events().tombstone_stream("never-written"), 0u);
  EXPECT_EQ(error_code_of([&] { events().append("never-written", event("Late")); }),
            ErrorCode::stream_deleted);
}

TEST_P(StreamLifecycleTest, TruncateRemovesTheEarlierVersions) {
  append_n(events(), "order-1", 5);
  EXPECT_EQ(events().truncate_stream("order-1", 3), 2u);
  EXPECT_EQ(versions_of(events().read_stream("order-1")), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(versions_of(read_everything(events())), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(events().truncate_stream("order-1", 2), 0u) << "truncating never brings back";
  EXPECT_EQ(events().truncate_stream("order-1", 1000), 3u);
  EXPECT_EQ(events().stream_info("order-1").version, 5);
  EXPECT_EQ(events().append("order-1", event("Next")).version, 6);
  EXPECT_EQ(versions_of(events().read_stream("order-1")), std::vector<std::int64_t>{6});
  EXPECT_EQ(error_code_of([&] { events().truncate_stream("order-1", 0); }),
            ErrorCode::invalid_argument);
}

TEST_P(StreamLifecycleTest, MaxCountKeepsTheNewestForReadsAndEnforcement) {
  events().set_stream_settings("sensor-1", StreamSettings{{}, 2});
  EXPECT_EQ(events().stream_settings("sensor-1"), (StreamSettings{{}, 2}));
  append_n(events(), "sensor-1", 5);
  append_n(events(), "sensor-2", 3);
  EXPECT_EQ(versions_of(events().read_stream("sensor-1")), (std::vector<std::int64_t>{4, 5}));
  StreamReadOptions backward;
  backward.direction = Direction::backward;
  EXPECT_EQ(versions_of(events().read_stream("sensor-1", backward)),
            (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(versions_of(read_everything(events()), "sensor-1"), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(events().read_category("sensor").size(), 5u);

  EXPECT_EQ(events().enforce_retention(), 3u);
  EXPECT_EQ(events().enforce_retention(), 0u);
  EXPECT_EQ(versions_of(events().read_stream("sensor-2")), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(events().append("sensor-1", event("Reading")).version, 6);
  EXPECT_EQ(versions_of(events().read_stream("sensor-1")), (std::vector<std::int64_t>{5, 6}));

  events().set_stream_settings("sensor-1", StreamSettings{});
  EXPECT_EQ(events().stream_settings("sensor-1"), StreamSettings{});
  EXPECT_EQ(versions_of(events().read_stream("sensor-1")), (std::vector<std::int64_t>{4, 5, 6}))
      << "lifting the limit shows what enforcement left";
}

TEST_P(StreamLifecycleTest, MaxAgeHidesOldEventsAndKeepsTheVersion) {
  events().set_stream_settings("session-1", StreamSettings{300ms, {}});
  append_n(events(), "session-1", 2);
  std::this_thread::sleep_for(400ms);
  append_n(events(), "session-1", 1);
  EXPECT_EQ(versions_of(events().read_stream("session-1")), std::vector<std::int64_t>{3});
  EXPECT_EQ(versions_of(read_everything(events())), std::vector<std::int64_t>{3});
  EXPECT_EQ(events().enforce_retention(), 2u);
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(events().stream_info("session-1").exists);
  EXPECT_EQ(events().enforce_retention(), 1u);
  EXPECT_EQ(events().stream_info("session-1").version, 3);
  EXPECT_EQ(events().append("session-1", event("Back"), ExpectedVersion::exact(3)).version, 4);
}

TEST_P(StreamLifecycleTest, BadSettingsAreRefused) {
  EXPECT_EQ(error_code_of([&] {
              events().set_stream_settings("s-1", StreamSettings{0ms, {}});
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] {
              events().set_stream_settings("s-1", StreamSettings{{}, 0});
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(events().stream_settings("s-1"), StreamSettings{});
}

TEST_P(StreamLifecycleTest, ADeleteInATransactionRollsBackWithIt) {
  append_n(events(), "order-1", 2);
  EXPECT_THROW(store().transaction([](Transaction& tx) {
    tx.events().delete_stream("order-1");
    throw std::runtime_error("roll back");
  }),
               std::runtime_error);
  EXPECT_EQ(events().read_stream("order-1").size(), 2u);
}

// Appends racing with deletes and truncations: every append gets its own version, and versions
// go on without a gap or a repeat.
TEST_P(StreamLifecycleTest, AppendsRacingWithDeletesKeepVersionsUnique) {
  constexpr int kThreads = 3;
  constexpr int kAppendsEach = 20;
  std::mutex mutex;
  std::set<std::int64_t> versions;
  std::atomic<bool> done{false};
  std::thread deleter([&] {
    for (std::int64_t round = 1; !done; ++round) {
      if (round % 2 == 0) {
        events().delete_stream("busy-1");
      } else {
        events().truncate_stream("busy-1", events().stream_info("busy-1").version + 1);
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < kAppendsEach; ++i) {
        const auto version = events().append("busy-1", event("Tick")).version;
        std::lock_guard guard(mutex);
        EXPECT_TRUE(versions.insert(version).second) << "version " << version << " given twice";
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done = true;
  deleter.join();
  EXPECT_EQ(versions.size(), static_cast<std::size_t>(kThreads * kAppendsEach));
  EXPECT_EQ(*versions.rbegin(), kThreads * kAppendsEach) << "no version skipped";
}

STRATA_ALL_BACKENDS(StreamLifecycleTest);

}  // namespace
}  // namespace strata::testing
