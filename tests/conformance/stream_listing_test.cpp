// Listing streams: by prefix or category, a page at a time, with each stream's version, times
// and tombstone, including streams whose events are gone.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>

#include "support/backends.h"

namespace strata::testing {
namespace {

using StreamListingTest = BackendTest;
using Names = std::vector<std::string>;

Names names(const std::vector<StreamSummary>& streams) {
  Names out;
  for (const auto& stream : streams) out.push_back(stream.name);
  return out;
}

Timestamp now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Names list(const Events& events, StreamListOptions options) {
  return names(events.list_streams(options));
}

// Streams of two categories, and names that sort between a category's name and its streams.
void append_streams(const Events& events) {
  for (const char* stream :
       {"order-2", "order", "order-10", "order!x", "orders-1", "invoice-1", "order-1", "ordera"}) {
    events.append(stream, event("Happened"));
  }
}

TEST_P(StreamListingTest, ListsEveryStreamInNameOrderByPrefixOrCategory) {
  append_streams(events());
  EXPECT_EQ(list(events(), {}), (Names{"invoice-1", "order", "order!x", "order-1", "order-10",
                                       "order-2", "ordera", "orders-1"}));
  StreamListOptions by_prefix;
  by_prefix.prefix = "order-1";
  EXPECT_EQ(list(events(), by_prefix), (Names{"order-1", "order-10"}));
  StreamListOptions by_category;
  by_category.category = "order";
  EXPECT_EQ(list(events(), by_category), (Names{"order", "order-1", "order-10", "order-2"}));
  by_category.category = "orders";
  EXPECT_EQ(list(events(), by_category), (Names{"orders-1"}));
  by_category.category = "nothing";
  EXPECT_EQ(list(events(), by_category), Names{});
}

TEST_P(StreamListingTest, PagesWithTheLastNameAsCursorNeverSkippingNorRepeating) {
  append_streams(events());
  for (const std::optional<std::string>& category :
       {std::optional<std::string>(), std::optional<std::string>("order")}) {
    StreamListOptions options;
    options.category = category;
    const Names all = list(events(), options);
    for (std::size_t limit = 1; limit <= 3; ++limit) {
      Names paged;
      options.limit = limit;
      options.after.reset();
      while (true) {
        const Names page = list(events(), options);
        ASSERT_LE(page.size(), limit);
        paged.insert(paged.end(), page.begin(), page.end());
        if (page.size() < limit) break;
        options.after = page.back();
      }
      EXPECT_EQ(paged, all) << "limit " << limit;
    }
  }
}

TEST_P(StreamListingTest, ShowsVersionsTimesAndTombstonesOfStreamsWithAndWithoutEvents) {
  const Timestamp before = now_micros();
  events().append("a-1", {event("One"), event("Two"), event("Three")});
  events().append("a-2", {event("One"), event("Two")});
  events().append("a-3", event("One"));
  events().truncate_stream("a-1", 2);
  events().delete_stream("a-2");
  events().tombstone_stream("a-3");
  StreamSettings settings;
  settings.max_count = 1;
  events().set_stream_settings("a-4", settings);
  const Timestamp after = now_micros();

  const std::vector<StreamSummary> streams = events().list_streams({});
  ASSERT_EQ(names(streams), (Names{"a-1", "a-2", "a-3", "a-4"}));
  const StreamSummary& truncated = streams[0];
  EXPECT_EQ(truncated.version, 3);
  EXPECT_FALSE(truncated.deleted);
  ASSERT_TRUE(truncated.first_created_at && truncated.last_created_at);
  const auto kept = events().read_stream("a-1");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(*truncated.first_created_at, kept.front().created_at);
  EXPECT_EQ(*truncated.last_created_at, kept.back().created_at);
  EXPECT_GE(*truncated.first_created_at, before);
  EXPECT_LE(*truncated.last_created_at, after);
  EXPECT_EQ(streams[1], (StreamSummary{"a-2", 2, false, std::nullopt, std::nullopt}));
  EXPECT_EQ(streams[2], (StreamSummary{"a-3", 1, true, std::nullopt, std::nullopt}));
  EXPECT_EQ(streams[3], (StreamSummary{"a-4", 0, false, std::nullopt, std::nullopt}));
}

TEST_P(StreamListingTest, TimesFollowWhatRetentionLetsReadsSee) {
  events().append("b-1", {event("One"), event("Two"), event("Three")});
  StreamSettings settings;
  settings.max_count = 1;
  events().set_stream_settings("b-1", settings);
  const auto visible = events().read_stream("b-1");
  ASSERT_EQ(visible.size(), 1u);
  const std::vector<StreamSummary> streams = events().list_streams({});
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].first_created_at, visible.front().created_at);
  EXPECT_EQ(streams[0].version, 3);
}

TEST_P(StreamListingTest, BadListingsAreRefusedNamingWhatIsWrong) {
  const auto refused = [&](StreamListOptions options) {
    return error_code_of([&] { events().list_streams(options); });
  };
  StreamListOptions both;
  both.prefix = "a";
  both.category = "a";
  EXPECT_EQ(refused(both), ErrorCode::invalid_argument);
  StreamListOptions dashed;
  dashed.category = "a-b";
  EXPECT_EQ(refused(dashed), ErrorCode::invalid_argument);
  StreamListOptions none;
  none.limit = 0;
  EXPECT_EQ(refused(none), ErrorCode::invalid_argument);
  StreamListOptions too_many;
  too_many.limit = 10'001;
  EXPECT_EQ(refused(too_many), ErrorCode::invalid_argument);
  StreamListOptions control;
  control.after = std::string("a\x01", 2);
  EXPECT_EQ(refused(control), ErrorCode::invalid_argument);
}

STRATA_ALL_BACKENDS(StreamListingTest);

// Where '-' or case weigh less than letters, names with a prefix lie apart ("order-1" <
// "order1x" < "order-2"): such a database lists every stream, and refuses prefixes.
TEST(PostgresStreamListingTest, PrefixesAreRefusedWhereTheCollationIsNotBytewise) {
  const std::string database = "icu_listing_" + std::to_string(::getpid());
  run_admin_sql("CREATE DATABASE " + database +
                " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
  std::string url = postgres_base_url();
  url.replace(url.find("/postgres?"), 10, "/" + database + "?");
  {
    Store store = Store::open(url);
    for (const char* stream : {"order-1", "order1x", "order-2"}) {
      store.events().append(stream, event("Happened"));
    }
    EXPECT_EQ(list(store.events(), {}).size(), 3u);
    StreamListOptions by_category;
    by_category.category = "order";
    try {
      store.events().list_streams(by_category);
      ADD_FAILURE() << "a category listing under ICU en-US was not refused";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(error.what()).find("ICU en-US"), std::string::npos) << error.what();
    }
  }
  run_admin_sql("DROP DATABASE " + database);
}

}  // namespace
}  // namespace strata::testing
