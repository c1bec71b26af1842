// Bad input never harms: durations, counts and text out of range are refused alike on every
// backend, naming what is wrong, with nothing written; values that cannot be indexed are still
// stored.
#include <gtest/gtest.h>

#include <chrono>

#include "support/backends.h"

namespace strata::testing {
namespace {

using BadInputTest = BackendTest;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kTooLong = kMaxDuration + 1ms;

// The message of the invalid_argument error `fn` throws (a failure when it throws none).
template <class Fn>
std::string refusal(Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "accepted";
  return {};
}

TEST_P(BadInputTest, DurationsBeyondTheLimitAreRefusedAndNothingChanges) {
  auto kv = store().kv("durations");
  kv.put("k", "old");
  KvPut forever = kv_write("k", "new");
  forever.ttl = kTooLong;
  EXPECT_NE(refusal([&] { kv.put(forever); }).find("ttl of 3155695200001 ms is out of range"),
            std::string::npos);
  forever.ttl = -5ms;
  refusal([&] { kv.put(forever); });
  EXPECT_EQ(kv.get("k")->value, "old");
  forever.ttl = kMaxDuration;  // The limit itself holds, and the key lives.
  kv.put(forever);
  EXPECT_EQ(kv.get("k")->value, "new");

  auto queue = store().queue("durations");
  QueueSettings settings;
  settings.expire_after = kTooLong;
  EXPECT_NE(refusal([&] { queue.create(settings); }).find("expire_after"), std::string::npos);
  queue.create();
  QueueMessage late;
  late.delay = kTooLong;
  EXPECT_NE(refusal([&] { queue.produce({late}); }).find("item 0 delay"), std::string::npos);
  late.delay = 0ms;
  late.expires_in = kTooLong;
  refusal([&] { queue.produce({late}); });
  EXPECT_EQ(queue.stats().ready, 0);
  queue.produce({QueueMessage{}});
  refusal([&] { queue.lease(1, kTooLong); });
  refusal([&] { queue.lease(1, std::nullopt, -1ms); });
  const auto leased = queue.lease(1);
  ASSERT_EQ(leased.size(), 1u);
  refusal([&] { queue.extend(leased[0].token, kTooLong); });
  refusal([&] { queue.retry(leased[0].token, kTooLong); });
  queue.complete(leased[0].token);  // Still held: nothing above touched it.

  refusal([&] { store().locks().try_acquire("lock", "me", kTooLong); });
  refusal([&] { store().locks().acquire("lock", "me", 1s, kTooLong); });
  EXPECT_FALSE(store().locks().status("lock"));
}

TEST_P(BadInputTest, AStreamSettingBeyondTheLimitCannotTakeTheFeedDown) {
  events().append("orders-1", {event("Placed")});
  StreamSettings settings;
  settings.max_age = kTooLong;
  EXPECT_NE(
      refusal([&] { events().set_stream_settings("orders-1", settings); }).find("stream max_age"),
      std::string::npos);
  settings.max_age = kMaxDuration;
  events().set_stream_settings("orders-1", settings);
  EXPECT_EQ(read_everything(events()).size(), 1u);
  EXPECT_EQ(events().read_stream("orders-1").size(), 1u);
  EXPECT_EQ(events().stream_info("orders-1").version, 1);
  events().enforce_retention();
  EXPECT_EQ(events().read_stream("orders-1").size(), 1u);
}

TEST_P(BadInputTest, CountsBeyondTheLimitAreRefusedAndANegativeOneIsShownAsGiven) {
  const std::size_t minus_one = static_cast<std::size_t>(-1);
  StreamReadOptions read;
  read.limit = minus_one;
  EXPECT_NE(refusal([&] {
              events().read_stream("s", read);
            }).find("read limit of -1 is out of range: it must be from 0 to 1000000000"),
            std::string::npos);
  AllReadOptions all;
  all.limit = kMaxCount + 1;
  refusal([&] { events().read_all(all); });
  refusal([&] { store().kv("ns").scan({}, std::nullopt, minus_one); });
  refusal([&] { store().queue("q").lease(minus_one); });
  refusal([&] { store().queue("q").dead_letters(0, minus_one); });
  StreamSettings settings;
  settings.max_count = -1;
  refusal([&] { events().set_stream_settings("s", settings); });
  SubscriptionOptions feed;
  feed.batch = minus_one;
  refusal([&] { store().subscribe(feed); });
}

TEST_P(BadInputTest, TextThatMustBeUtf8IsCheckedBeforeItIsStored) {
  auto queue = store().queue("utf8");
  queue.create();
  QueueMessage item;
  item.dedup_key = "\xff\xfe";
  EXPECT_NE(refusal([&] { queue.produce({item}); }).find("dedup key is not valid UTF-8"),
            std::string::npos);
  queue.produce({QueueMessage{}});
  const auto leased = queue.lease(1);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_NE(refusal([&] { queue.fail(leased[0].token, "bad \xc3"); }).find("not valid UTF-8"),
            std::string::npos);
  queue.fail(leased[0].token, "a reason");  // The lease still held.
  ASSERT_EQ(queue.dead_letters().size(), 1u);
  EXPECT_EQ(queue.dead_letters()[0].reason, "a reason");
}

TEST_P(BadInputTest, ValuesTheIndexesCannotHoldAreStoredAsBytesAndNotQueried) {
  auto kv = store().kv("values");
  const std::string huge_number = R"({"n":1e1000000,"tag":"x"})";
  kv.put("number", huge_number);
  std::string words = R"({"text":")";
  while (words.size() <= kMaxQueryableValueBytes) words += "lorem ipsum ";
  words += R"(needle"})";
  kv.put("words", words);
  kv.put("plain", R"({"tag":"x","text":"needle"})");
  EXPECT_EQ(kv.get("number")->value, huge_number);
  EXPECT_EQ(kv.get("words")->value, words);
  const auto found = kv.find(JsonField::value, R"({"tag":"x"})");
  ASSERT_EQ(found.entries.size(), 1u);
  EXPECT_EQ(found.entries[0].key, "plain");
  const auto matched = kv.search("needle");
  ASSERT_EQ(matched.entries.size(), 1u);
  EXPECT_EQ(matched.entries[0].key, "plain");

  KvPut with_metadata = kv_write("meta", "v");
  with_metadata.metadata = R"({"n":-1e-1001})";
  EXPECT_NE(refusal([&] { kv.put(with_metadata); }).find("metadata has a number"),
            std::string::npos);
  EXPECT_FALSE(kv.get("meta"));
  with_metadata.metadata = R"({"n":[1e301]})";
  refusal([&] { kv.put(with_metadata); });
  refusal([&] { kv.find(JsonField::value, R"({"n":1e1001})"); });
  refusal([&] { kv.find(JsonField::value, R"({"n":0.001e-298})"); });
  with_metadata.metadata = R"({"n":9.5e300,"m":-0.5e-299,"z":0.000e-1000})";  // At the bounds.
  kv.put(with_metadata);
  EXPECT_EQ(kv.find(JsonField::metadata, R"({"n":95e299})").entries.size(), 1u);
  EXPECT_EQ(kv.find(JsonField::metadata, R"({"m":-5e-300})").entries.size(), 1u);
}

TEST_P(BadInputTest, PositionsThisStoreDidNotHandOutAreRefused) {
  const Position head = events().append("orders-1", {event("A"), event("B")}).position;
  std::vector<Position> refused = {Position(head.commit(), head.sequence() + 1000),
                                   Position(UINT64_MAX, 1)};
  // A PostgreSQL position given to SQLite. (SQLite's, 0/N, read on PostgreSQL from the start.)
  if (kind() != BackendKind::postgres) refused.emplace_back(7331, head.sequence());
  for (const Position position : refused) {
    AllReadOptions read;
    read.after = position;
    EXPECT_NE(refusal([&] { events().read_all(read); }).find("was not handed out by this store"),
              std::string::npos)
        << position.to_string();
    SubscriptionOptions feed;
    feed.after = position;
    refusal([&] { store().subscribe(feed); });
    Consumer consumer = store().consumer("projector");
    refusal([&] { consumer.reset(position); });
    EXPECT_EQ(consumer.checkpoint(), Position::start());
  }
  // The head itself, and a head whose events were deleted since, stay valid.
  AllReadOptions read;
  read.after = head;
  EXPECT_TRUE(events().read_all(read).empty());
  events().delete_stream("orders-1");
  EXPECT_TRUE(events().read_all(read).empty());
  SubscriptionOptions feed;
  feed.after = head;
  store().subscribe(feed);
  store().consumer("projector").reset(head);
  EXPECT_EQ(store().consumer("projector").checkpoint(), head);
}

STRATA_ALL_BACKENDS(BadInputTest);

}  // namespace
}  // namespace strata::testing
