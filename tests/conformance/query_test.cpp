// Queries of the all-events order: filters by type, creation time and JSON containment, backward
// reads, and the same filters on category reads, subscriptions and consumers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using QueryTest = BackendTest;

std::vector<std::string> names(const std::vector<RecordedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.stream + "@" + std::to_string(e.version));
  return out;
}

// Seven events of three streams, with correlation ids and tenants in their metadata.
void append_orders(const Events& events) {
  events.append("order-1", event("Placed", R"({"total":30,"lines":[{"sku":"a"},{"sku":"b"}]})",
                                 R"({"correlation_id":"c-1","tenant":"acme"})"));
  events.append("order-2", event("Placed", R"({"total":12.5,"lines":[{"sku":"b"}]})",
                                 R"({"correlation_id":"c-2","tenant":"globex"})"));
  events.append("invoice-1", event("Issued", R"({"total":30})", R"({"correlation_id":"c-1"})"));
  events.append("order-1", event("Paid", R"({"total":30.0})",
                                 R"({"correlation_id":"c-1","tenant":"acme","tags":["vip"]})"));
  events.append("order-2", event("Cancelled", R"({"reason":"late"})"));
  events.append("invoice-1", event("Paid", "{}", R"({"correlation_id":"c-1","tenant":"acme"})"));
  events.append("order-3", event("Placed", R"({"total":7,"lines":[]})", R"({"tenant":"acme"})"));
}

std::vector<std::string> read(const Events& events, const EventFilter& filter,
                              std::optional<std::string> category = std::nullopt) {
  AllReadOptions options;
  options.filter = filter;
  options.category = std::move(category);
  return names(events.read_all(options));
}

TEST_P(QueryTest, FiltersByOneOrSeveralTypes) {
  append_orders(events());
  using S = std::vector<std::string>;
  EventFilter placed;
  placed.types = {"Placed"};
  EXPECT_EQ(read(events(), placed), (S{"order-1@1", "order-2@1", "order-3@1"}));
  EventFilter paid_or_cancelled;
  paid_or_cancelled.types = {"Paid", "Cancelled", "Unknown"};
  EXPECT_EQ(read(events(), paid_or_cancelled), (S{"order-1@2", "order-2@2", "invoice-1@2"}));
  EXPECT_EQ(read(events(), paid_or_cancelled, "order"), (S{"order-1@2", "order-2@2"}));
  EXPECT_EQ(names(events().read_category("invoice", Position::start(), 10, paid_or_cancelled)),
            (S{"invoice-1@2"}));
}

TEST_P(QueryTest, FiltersByJsonContainmentOfMetadataAndData) {
  append_orders(events());
  using S = std::vector<std::string>;
  EventFilter correlated;
  correlated.metadata = R"({"correlation_id":"c-1"})";
  EXPECT_EQ(read(events(), correlated),
            (S{"order-1@1", "invoice-1@1", "order-1@2", "invoice-1@2"}));
  correlated.metadata = R"({"correlation_id":"c-1","tenant":"acme"})";
  EXPECT_EQ(read(events(), correlated), (S{"order-1@1", "order-1@2", "invoice-1@2"}));
  correlated.metadata = R"({"tags":["vip"]})";
  EXPECT_EQ(read(events(), correlated), (S{"order-1@2"}));

  EventFilter data;
  data.data = R"({"total":30})";  // 30.0 is the same number.
  EXPECT_EQ(read(events(), data), (S{"order-1@1", "invoice-1@1", "order-1@2"}));
  data.data = R"({"lines":[{"sku":"b"}]})";  // Arrays contain by element, in any order.
  EXPECT_EQ(read(events(), data), (S{"order-1@1", "order-2@1"}));
  data.metadata = R"({"tenant":"globex"})";
  data.types = {"Placed"};
  EXPECT_EQ(read(events(), data), (S{"order-2@1"}));
  data.types = {"Paid"};
  EXPECT_TRUE(read(events(), data).empty());
}

TEST_P(QueryTest, JsonFiltersNeverMatchWhatTheyCannotCompareAndNeverFail) {
  events().append("odd-1", event("Odd", R"({"text":"nul \u0000 here","n":1})"));
  events().append("odd-1", event("Odd", R"({"n":1,"huge":1e400})"));
  events().append("odd-1", event("Odd", R"({"n":1})", "[1, 2]"));
  events().append("odd-1", event("Odd", R"({"n":1})"));
  EventFilter filter;
  filter.data = R"({"n":1})";
  EXPECT_EQ(read(events(), filter), (std::vector<std::string>{"odd-1@3", "odd-1@4"}));
  filter.metadata = "2";  // At the top level, an array contains its scalar elements.
  EXPECT_EQ(read(events(), filter), (std::vector<std::string>{"odd-1@3"}));
}

TEST_P(QueryTest, FiltersByCreationTime) {
  events().append("clock-1", event("Tick"));
  std::this_thread::sleep_for(2ms);  // Distinct creation times (microseconds) for the bounds.
  events().append("clock-1", event("Tick"));
  std::this_thread::sleep_for(2ms);
  events().append("clock-1", event("Tick"));
  const auto all = read_everything(events());
  ASSERT_EQ(all.size(), 3u);
  using S = std::vector<std::string>;
  EventFilter window;
  window.since = all[1].created_at;
  EXPECT_EQ(read(events(), window), (S{"clock-1@2", "clock-1@3"}));
  window.until = all[2].created_at;  // Exclusive.
  EXPECT_EQ(read(events(), window), (S{"clock-1@2"}));
  window.since = std::nullopt;
  EXPECT_EQ(read(events(), window), (S{"clock-1@1", "clock-1@2"}));
  window.since = all[2].created_at + 1;
  window.until = std::nullopt;
  EXPECT_TRUE(read(events(), window).empty());
  // The CLI's way in: an RFC 3339 text.
  window.since = parse_timestamp(format_timestamp(all[1].created_at));
  EXPECT_EQ(read(events(), window), (S{"clock-1@2", "clock-1@3"}));
}

TEST_P(QueryTest, ReadsBackwardAndPagesBackWithBefore) {
  for (int i = 0; i < 9; ++i) events().append("back-" + std::to_string(i % 3), event("E"));
  auto forward = read_everything(events());
  ASSERT_EQ(forward.size(), 9u);
  std::vector<RecordedEvent> reversed(forward.rbegin(), forward.rend());

  AllReadOptions backward;
  backward.direction = Direction::backward;
  EXPECT_EQ(events().read_all(backward), reversed);
  std::vector<RecordedEvent> paged;
  backward.limit = 2;
  for (auto page = events().read_all(backward); !page.empty(); page = events().read_all(backward)) {
    paged.insert(paged.end(), page.begin(), page.end());
    backward.before = page.back().position;
  }
  EXPECT_EQ(paged, reversed);

  // Between two positions, either way.
  AllReadOptions window;
  window.after = forward[2].position;
  window.before = forward[6].position;
  EXPECT_EQ(names(events().read_all(window)), names({forward[3], forward[4], forward[5]}));
  window.direction = Direction::backward;
  EXPECT_EQ(names(events().read_all(window)), names({forward[5], forward[4], forward[3]}));
  window.stream = "back-0";
  EXPECT_EQ(names(events().read_all(window)), names({forward[3]}));
}

TEST_P(QueryTest, CountsByStreamCategoryTypeAndAnyFilter) {
  append_orders(events());
  AllReadOptions options;
  EXPECT_EQ(events().count(options), 7u);
  options.stream = "order-1";
  EXPECT_EQ(events().count(options), 2u);
  options.stream = std::nullopt;
  options.category = "order";
  EXPECT_EQ(events().count(options), 5u);
  options.filter.types = {"Placed"};
  EXPECT_EQ(events().count(options), 3u);
  options.category = std::nullopt;
  options.filter.types = {"Paid"};
  options.filter.metadata = R"({"tenant":"acme"})";
  EXPECT_EQ(events().count(options), 2u);
  options = {};
  options.limit = 1;                                      // Counts ignore the page size,
  options.after = read_everything(events())[4].position;  // but not the bounds.
  EXPECT_EQ(events().count(options), 2u);
  events().delete_stream("order-2");
  EXPECT_EQ(events().count(), 5u) << "a deleted stream's events are not counted";
}

TEST_P(QueryTest, AStreamAsOfATimeHasTheEventsCreatedUpToIt) {
  events().append("account-1", {event("Opened"), event("Deposited")});
  std::this_thread::sleep_for(2ms);
  events().append("account-1", event("Withdrawn"));
  const auto all = events().read_stream("account-1");
  ASSERT_EQ(all.size(), 3u);
  StreamReadOptions as_of;
  as_of.as_of = all[1].created_at;  // Inclusive.
  EXPECT_EQ(names(events().read_stream("account-1", as_of)),
            (std::vector<std::string>{"account-1@1", "account-1@2"}));
  as_of.direction = Direction::backward;
  as_of.limit = 1;
  EXPECT_EQ(names(events().read_stream("account-1", as_of)),
            (std::vector<std::string>{"account-1@2"}));
  as_of.as_of = all[0].created_at - 1;
  EXPECT_TRUE(events().read_stream("account-1", as_of).empty());
}

TEST_P(QueryTest, BadFiltersAreRefusedNamingWhatIsWrong) {
  auto message_of = [&](const AllReadOptions& options) {
    try {
      events().read_all(options);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
      return std::string(error.what());
    }
    return std::string("no error");
  };
  AllReadOptions options;
  options.filter.data = "{\"a\":";
  EXPECT_NE(message_of(options).find("data filter is not valid JSON"), std::string::npos);
  options.filter.data = std::nullopt;
  options.filter.metadata = R"({"n":1e999})";
  EXPECT_NE(message_of(options).find("metadata filter has a number"), std::string::npos);
  options.filter.metadata = std::nullopt;
  options.filter.types = {""};
  EXPECT_NE(message_of(options).find("filter event type"), std::string::npos);
  options.filter.types.assign(kMaxFilterTypes + 1, "T");
  EXPECT_NE(message_of(options).find("more than 100"), std::string::npos);
  options.filter.types.clear();
  options.filter.since = 2'000'000;
  options.filter.until = 1'000'000;
  EXPECT_NE(message_of(options).find("is before since"), std::string::npos);
  options.filter = {};
  options.before = Position(0, 1'000'000'000);
  EXPECT_EQ(error_code_of([&] { events().read_all(options); }), ErrorCode::invalid_argument)
      << "a position beyond the head";
  EXPECT_EQ(error_code_of([] { parse_timestamp("2026-02-30"); }), ErrorCode::invalid_argument);
}

TEST_P(QueryTest, SubscriptionsAndConsumersDeliverOnlyWhatPassesTheirFilter) {
  append_orders(events());
  SubscriptionOptions options;
  options.filter.metadata = R"({"tenant":"acme"})";
  options.filter.types = {"Placed", "Paid"};
  Subscription feed = store().subscribe(options);
  using S = std::vector<std::string>;
  EXPECT_EQ(names(feed.poll()), (S{"order-1@1", "order-1@2", "invoice-1@2", "order-3@1"}));
  events().append("order-4", event("Placed", "{}", R"({"tenant":"globex"})"));
  events().append("order-4", event("Paid", "{}", R"({"tenant":"acme"})"));
  EXPECT_EQ(names(feed.poll(5s)), (S{"order-4@2"}));

  ConsumerOptions consumer_options;
  consumer_options.category = "order";
  consumer_options.filter.types = {"Cancelled"};
  Consumer consumer = store().consumer("cancellations", consumer_options);
  S handled;
  consumer.poll([&](Transaction&, const RecordedEvent& e) {
    handled.push_back(e.stream + "@" + std::to_string(e.version));
  });
  EXPECT_EQ(handled, (S{"order-2@2"}));
}

STRATA_ALL_BACKENDS(QueryTest);

TEST(Timestamps, ParseWhatFormatPrintsAndRfc3339Offsets) {
  for (Timestamp micros : {Timestamp{0}, Timestamp{1'764'547'200'123'456}, Timestamp{-1},
                           Timestamp{253'402'300'799'999'999}}) {
    EXPECT_EQ(parse_timestamp(format_timestamp(micros)), micros) << format_timestamp(micros);
  }
  EXPECT_EQ(parse_timestamp("2026-12-01"), parse_timestamp("2026-12-01T00:00:00Z"));
  EXPECT_EQ(parse_timestamp("2026-12-01T01:30:00+01:30"), parse_timestamp("2026-12-01 00:00:00z"));
  EXPECT_EQ(parse_timestamp("2026-12-01T00:00:00.5Z"), parse_timestamp("2026-12-01") + 500'000);
  for (const char* bad : {"", "2026-12-01T", "2026-12-01T24:00:00Z", "2026-12-01T00:00:00",
                          "2026-13-01", "2026-12-01T00:00:00.1234567Z", "0000-01-01",
                          "2026-12-01T00:00:60Z", "2026-12-01T00:00:00+1:00", "2026-12-01x",
                          "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"}) {
    EXPECT_EQ(error_code_of([&] { parse_timestamp(bad); }), ErrorCode::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace strata::testing
