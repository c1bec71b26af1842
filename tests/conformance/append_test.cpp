// Appends: versions, expectations, idempotence and validation, the same on every backend.
#include <gtest/gtest.h>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using AppendTest = BackendTest;

TEST_P(AppendTest, AssignsGaplessVersionsAndReturnsTheLastPosition) {
  const auto first = events().append("order-1", {event("A"), event("B")});
  EXPECT_EQ(first.version, 2);
  const auto second = events().append("order-1", event("C"));
  EXPECT_EQ(second.version, 3);
  EXPECT_LT(first.position, second.position);

  const auto stored = events().read_stream("order-1");
  ASSERT_EQ(stored.size(), 3u);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(stored[i].stream, "order-1");
  }
  EXPECT_EQ(stored[1].position, first.position);
  EXPECT_EQ(stored[2].position, second.position);
  EXPECT_EQ(stored[0].type + stored[1].type + stored[2].type, "ABC");
}

TEST_P(AppendTest, ExpectedVersionsAreEnforced) {
  EXPECT_EQ(events().append("s-1", event("A"), ExpectedVersion::no_stream()).version, 1);
  EXPECT_EQ(events().append("s-1", event("B"), ExpectedVersion::stream_exists()).version, 2);
  EXPECT_EQ(events().append("s-1", event("C"), ExpectedVersion::exact(2)).version, 3);
  EXPECT_EQ(events().append("s-1", event("D"), ExpectedVersion::any()).version, 4);
  EXPECT_EQ(events().append("s-2", event("A"), ExpectedVersion::exact(0)).version, 1);

  auto refused = [&](const std::string& stream, ExpectedVersion expected) -> std::int64_t {
    try {
      events().append(stream, event("Refused"), expected);
    } catch (const WrongExpectedVersion& error) {
      EXPECT_EQ(error.code(), ErrorCode::wrong_expected_version);
      EXPECT_EQ(error.stream(), stream);
      return error.actual_version();
    }
    ADD_FAILURE() << "append to " << stream << " at " << expected.to_string() << " succeeded";
    return -1;
  };
  EXPECT_EQ(refused("s-1", ExpectedVersion::no_stream()), 4);
  EXPECT_EQ(refused("s-1", ExpectedVersion::exact(3)), 4);
  EXPECT_EQ(refused("s-1", ExpectedVersion::exact(5)), 4);
  EXPECT_EQ(refused("s-3", ExpectedVersion::stream_exists()), 0);
  EXPECT_EQ(refused("s-3", ExpectedVersion::exact(1)), 0);

  EXPECT_EQ(events().stream_info("s-1").version, 4);
  EXPECT_FALSE(events().stream_info("s-3").exists);
  for (const auto& stored : read_everything(events())) EXPECT_NE(stored.type, "Refused");
}

TEST_P(AppendTest, RetryWithTheSameIdsReturnsTheFirstResult) {
  const std::vector<EventData> batch = {
      event("A", R"({"n":1})", std::nullopt, "0190f2a8-0000-7000-8000-000000000001"),
      event("B", R"({"n":2})", R"({"m":true})", "0190f2a8-0000-7000-8000-000000000002")};
  events().append("retry-1", event("Before"));
  const auto first = events().append("retry-1", batch, ExpectedVersion::exact(1));
  events().append("retry-1", event("After"));

  EXPECT_EQ(events().append("retry-1", batch, ExpectedVersion::exact(1)), first);
  EXPECT_EQ(events().append("retry-1", batch, ExpectedVersion::any()), first);
  EXPECT_EQ(events().append("retry-1", batch, ExpectedVersion::stream_exists()), first);
  EXPECT_EQ(events().read_stream("retry-1").size(), 4u);

  // The same ids at another expected version are not the same append.
  EXPECT_EQ(error_code_of([&] { events().append("retry-1", batch, ExpectedVersion::exact(3)); }),
            ErrorCode::wrong_expected_version);
  EXPECT_EQ(error_code_of([&] { events().append("retry-1", batch, ExpectedVersion::no_stream()); }),
            ErrorCode::wrong_expected_version);
}

TEST_P(AppendTest, RetryOfAStreamsFirstAppendWithNoStream) {
  const std::vector<EventData> batch = {
      event("Opened", "{}", std::nullopt, "0190f2a8-0000-7000-8000-0000000000aa")};
  const auto first = events().append("new-1", batch, ExpectedVersion::no_stream());
  EXPECT_EQ(events().append("new-1", batch, ExpectedVersion::no_stream()), first);
  EXPECT_EQ(events().stream_info("new-1").version, 1);
}

TEST_P(AppendTest, AReusedIdWithOtherContentOrPlaceIsAnError) {
  const std::string id = "0190f2a8-0000-7000-8000-0000000000bb";
  events().append("taken-1", event("A", R"({"x":1})", std::nullopt, id));
  EXPECT_EQ(error_code_of(
                [&] { events().append("taken-1", event("A", R"({"x":2})", std::nullopt, id)); }),
            ErrorCode::already_exists);
  EXPECT_EQ(error_code_of(
                [&] { events().append("taken-2", event("A", R"({"x":1})", std::nullopt, id)); }),
            ErrorCode::already_exists);
  // Part of a batch already stored is not an idempotent retry either.
  EXPECT_EQ(
      error_code_of([&] {
        events().append("taken-1", {event("A", R"({"x":1})", std::nullopt, id), event("New")});
      }),
      ErrorCode::already_exists);
  EXPECT_EQ(read_everything(events()).size(), 1u);
  EXPECT_FALSE(events().stream_info("taken-2").exists);
}

TEST_P(AppendTest, InvalidInputIsRefusedAndNothingIsWritten) {
  const auto refused = [&](const std::string& stream, const std::vector<EventData>& batch,
                           const std::string& named) {
    try {
      events().append(stream, batch);
      ADD_FAILURE() << "accepted a batch that should name " << named;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument) << error.what();
      EXPECT_NE(std::string(error.what()).find(named), std::string::npos) << error.what();
    }
  };
  refused("bad-1", {event("A"), event("B", "{not json}")}, "event 1 data is not valid JSON");
  refused("bad-1", {event("A", "{}", "[1,")}, "event 0 metadata is not valid JSON");
  refused("bad-1", {event("")}, "event 0 type must not be empty");
  refused("bad-1", {event(std::string(300, 't'))}, "longer than 256 bytes");
  refused("bad-1", {event("A", "\"\xff\"")}, "not valid JSON");
  refused("bad-1", {event("A", "{}", std::nullopt, "not-a-uuid")}, "'not-a-uuid' is not a UUID");
  const std::string id = "0190f2a8-0000-7000-8000-0000000000cc";
  refused("bad-1", {event("A", "{}", std::nullopt, id), event("B", "{}", std::nullopt, id)},
          "repeats in the batch");
  refused("bad-1", {event("A", "\"" + std::string(kMaxEventBytes, 'x') + "\"")}, "over the limit");
  refused("", {event("A")}, "stream name must not be empty");
  refused("bad\n1", {event("A")}, "control character");
  refused("bad-\xc3", {event("A")}, "not valid UTF-8");
  refused(std::string(kMaxStreamNameBytes + 1, 's'), {event("A")}, "longer than 512 bytes");
  EXPECT_TRUE(read_everything(events()).empty());
}

TEST_P(AppendTest, EmptyBatchChecksTheExpectationAndWritesNothing) {
  EXPECT_EQ(
      events().append("empty-1", std::vector<EventData>{}, ExpectedVersion::no_stream()).version,
      0);
  EXPECT_FALSE(events().stream_info("empty-1").exists);
  const auto written = events().append("empty-1", {event("A"), event("B")});
  const auto nothing =
      events().append("empty-1", std::vector<EventData>{}, ExpectedVersion::exact(2));
  EXPECT_EQ(nothing, written);
  EXPECT_EQ(error_code_of([&] {
              events().append("empty-1", std::vector<EventData>{}, ExpectedVersion::exact(1));
            }),
            ErrorCode::wrong_expected_version);
  EXPECT_EQ(events().read_stream("empty-1").size(), 2u);
}

TEST_P(AppendTest, TenThousandEventsInOneBatch) {
  std::vector<EventData> batch;
  for (int i = 0; i < 10000; ++i) {
    batch.push_back(event("Counted", "{\"i\":" + std::to_string(i) + "}"));
  }
  const auto result = events().append("big-1", batch, ExpectedVersion::no_stream());
  EXPECT_EQ(result.version, 10000);
  StreamReadOptions options;
  options.limit = 20000;
  const auto stored = events().read_stream("big-1", options);
  ASSERT_EQ(stored.size(), 10000u);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(stored[i].version, i + 1);
    ASSERT_EQ(stored[i].data, "{\"i\":" + std::to_string(i) + "}");
    if (i > 0) {
      ASSERT_LT(stored[i - 1].position, stored[i].position);
    }
  }
  EXPECT_EQ(stored.back().position, result.position);
}

TEST_P(AppendTest, AOneMebibyteEventRoundTrips) {
  std::string big = "{\"blob\":\"";
  for (int i = 0; i < (1 << 20); ++i) big += static_cast<char>('a' + i % 26);
  big += "\"}";
  events().append("blob-1", event("Blob", big));
  const auto stored = events().read_stream("blob-1");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].data, big);
}

TEST_P(AppendTest, EveryFieldRoundTripsExactly) {
  const std::string data = "{ \"b\": 1,\n  \"a\": [1.50, 2e3, \"x\\u00e9\\n\"], \"b\": 2 }";
  const std::string metadata = R"({"correlation":"c-1","causation":null})";
  const Timestamp before = detail::now_micros();
  const auto result = events().append("exact-1", event("Type.With:Odd/Chars", data, metadata,
                                                       "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
  const Timestamp after = detail::now_micros();

  const auto by_stream = events().read_stream("exact-1");
  const auto by_all = read_everything(events());
  ASSERT_EQ(by_stream.size(), 1u);
  ASSERT_EQ(by_all.size(), 1u);
  const RecordedEvent& stored = by_stream[0];
  EXPECT_EQ(stored, by_all[0]);
  EXPECT_EQ(stored.id, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(stored.stream, "exact-1");
  EXPECT_EQ(stored.version, 1);
  EXPECT_EQ(stored.type, "Type.With:Odd/Chars");
  EXPECT_EQ(stored.data, data);
  EXPECT_EQ(stored.metadata, metadata);
  EXPECT_EQ(stored.position, result.position);
  EXPECT_GE(stored.created_at, before);
  EXPECT_LE(stored.created_at, after);
  EXPECT_EQ(events().read_stream("exact-1"), by_stream);  // Stable across reads.

  events().append("exact-1", event("NoMetadata"));
  EXPECT_EQ(events().read_stream("exact-1")[1].metadata, std::nullopt);
}

TEST_P(AppendTest, UnicodeAndSqlMetacharactersAreJustData) {
  const std::vector<std::string> streams = {
      "ordre-é-1",  "заказ-📦",       "o'brien-1; DROP TABLE events; --",
      "quote\"d-1", "back\\slash-1", "per%cent_-1"};
  for (const std::string& stream : streams) {
    events().append(
        stream, event("Ünïcödé ' \" \\ %", R"({"text":"'; DELETE FROM streams; --","emoji":"🚀"})"));
  }
  for (const std::string& stream : streams) {
    const auto stored = events().read_stream(stream);
    ASSERT_EQ(stored.size(), 1u) << stream;
    EXPECT_EQ(stored[0].stream, stream);
    EXPECT_EQ(stored[0].type, "Ünïcödé ' \" \\ %");
    EXPECT_EQ(stored[0].data, R"({"text":"'; DELETE FROM streams; --","emoji":"🚀"})");
  }
  EXPECT_EQ(read_everything(events()).size(), streams.size());
  // A category with LIKE metacharacters matches only itself.
  EXPECT_EQ(events().read_category("per%cent_").size(), 1u);
  EXPECT_EQ(events().read_category("per").size(), 0u);
}

// Whatever the validator accepts, every backend stores and returns unchanged.
TEST_P(AppendTest, EdgeCaseJsonIsAcceptedByEveryBackend) {
  const std::vector<std::string> documents = {"-0.0e+5",
                                              R"("\u0000 and \ud83d\ude80")",
                                              std::string(512, '[') + std::string(512, ']'),
                                              R"({"dup":1,"dup":2})",
                                              "\"caf\xc3\xa9\"",
                                              " \t{ }\n"};
  std::vector<EventData> batch;
  for (const std::string& document : documents) batch.push_back(event("Edge", document, document));
  events().append("edge-1", batch);
  // And through the statement path as well as the COPY path on PostgreSQL.
  std::vector<EventData> large(100, event("Edge", documents[1], documents[0]));
  events().append("edge-2", large);
  const auto stored = events().read_stream("edge-1");
  ASSERT_EQ(stored.size(), documents.size());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    EXPECT_EQ(stored[i].data, documents[i]);
    EXPECT_EQ(stored[i].metadata, documents[i]);
  }
  EXPECT_EQ(events().read_stream("edge-2").back().data, documents[1]);
}

STRATA_ALL_BACKENDS(AppendTest);

}  // namespace
}  // namespace strata::testing
