// Reads: one stream, a category and all events, with their filters and paging.
#include <gtest/gtest.h>

#include "support/backends.h"

namespace strata::testing {
namespace {

using ReadTest = BackendTest;

std::vector<std::int64_t> versions(const std::vector<RecordedEvent>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.version);
  return out;
}

std::vector<std::string> streams_and_types(const std::vector<RecordedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.stream + ":" + e.type);
  return out;
}

TEST_P(ReadTest, ReadStreamForwardBackwardFromAndLimit) {
  for (int i = 0; i < 5; ++i) events().append("s-1", event("E" + std::to_string(i + 1)));
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(versions(events().read_stream("s-1")), (V{1, 2, 3, 4, 5}));

  StreamReadOptions options;
  options.from = 3;
  EXPECT_EQ(versions(events().read_stream("s-1", options)), (V{3, 4, 5}));
  options.limit = 1;
  EXPECT_EQ(versions(events().read_stream("s-1", options)), (V{3}));

  StreamReadOptions backward;
  backward.direction = Direction::backward;
  EXPECT_EQ(versions(events().read_stream("s-1", backward)), (V{5, 4, 3, 2, 1}));
  backward.from = 2;
  EXPECT_EQ(versions(events().read_stream("s-1", backward)), (V{2, 1}));
  backward.from = std::nullopt;
  backward.limit = 2;
  EXPECT_EQ(versions(events().read_stream("s-1", backward)), (V{5, 4}));

  StreamReadOptions past_end;
  past_end.from = 6;
  EXPECT_TRUE(events().read_stream("s-1", past_end).empty());
  EXPECT_TRUE(events().read_stream("missing-1").empty());
  options.limit = 0;
  EXPECT_TRUE(events().read_stream("s-1", options).empty());
}

TEST_P(ReadTest, StreamInfo) {
  EXPECT_EQ(events().stream_info("info-1").exists, false);
  EXPECT_EQ(events().stream_info("info-1").version, 0);
  events().append("info-1", {event("A"), event("B")});
  EXPECT_EQ(events().stream_info("info-1").exists, true);
  EXPECT_EQ(events().stream_info("info-1").version, 2);
}

TEST_P(ReadTest, ReadAllIsInAppendOrderWithFilters) {
  events().append("order-1", event("Placed"));
  events().append("invoice-1", event("Issued"));
  events().append("order-2", event("Placed"));
  events().append("order-1", event("Paid"));
  events().append("order", event("Configured"));
  events().append("order-1-line-2", event("Added"));
  events().append("orders-1", event("Other"));

  using S = std::vector<std::string>;
  EXPECT_EQ(streams_and_types(read_everything(events())),
            (S{"order-1:Placed", "invoice-1:Issued", "order-2:Placed", "order-1:Paid",
               "order:Configured", "order-1-line-2:Added", "orders-1:Other"}));
  EXPECT_EQ(streams_and_types(events().read_category("order")),
            (S{"order-1:Placed", "order-2:Placed", "order-1:Paid", "order:Configured",
               "order-1-line-2:Added"}));
  AllReadOptions placed;
  placed.filter.types = {"Placed"};
  EXPECT_EQ(streams_and_types(events().read_all(placed)), (S{"order-1:Placed", "order-2:Placed"}));
  placed.category = "invoice";
  EXPECT_TRUE(events().read_all(placed).empty());
  placed.category = "order";
  EXPECT_EQ(events().read_all(placed).size(), 2u);
}

TEST_P(ReadTest, PagingByPositionNeitherSkipsNorRepeats) {
  for (int i = 0; i < 25; ++i) {
    events().append("page-" + std::to_string(i % 4),
                    event("E", "{\"i\":" + std::to_string(i) + "}"));
  }
  const auto all = read_everything(events(), 1000);
  ASSERT_EQ(all.size(), 25u);
  for (std::size_t page : {1u, 3u, 7u, 25u}) {
    EXPECT_EQ(read_everything(events(), page), all) << "page size " << page;
  }
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].position, all[i].position);

  // A position printed and parsed back resumes exactly where the reader left off.
  AllReadOptions resume;
  resume.after = Position::parse(all[9].position.to_string());
  const auto rest = events().read_all(resume);
  ASSERT_EQ(rest.size(), 15u);
  EXPECT_EQ(rest.front(), all[10]);
  resume.after = all.back().position;
  EXPECT_TRUE(events().read_all(resume).empty());
}

TEST_P(ReadTest, CategoryNamesAreValidated) {
  EXPECT_EQ(error_code_of([&] { events().read_category("order-1"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { events().read_category(""); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { events().read_stream(""); }), ErrorCode::invalid_argument);
}

STRATA_ALL_BACKENDS(ReadTest);

}  // namespace
}  // namespace strata::testing
