// The opt-in event indexes: full-text search over events' data, which needs the text index, and
// the JSON indexes, which change no result; both built while the store is in use.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using EventIndexTest = BackendTest;
using Names = std::vector<std::string>;

Names names(const std::vector<RecordedEvent>& events) {
  Names out;
  for (const auto& e : events) out.push_back(e.stream + "@" + std::to_string(e.version));
  return out;
}

void append_notes(const Events& events) {
  events.append("ticket-1", event("Opened", R"({"title":"Printer on fire","tags":["urgent"]})"));
  events.append("ticket-2", event("Opened", R"({"title":"printer out of paper"})"));
  events.append("note-1", event("Noted", R"({"text":"the printer is FINE","fire":false})"));
  events.append("ticket-1", event("Closed", R"({"title":"fire out","by":{"name":"Ada"}})"));
}

TEST_P(EventIndexTest, SearchNeedsTheTextIndexThenFindsEveryWordOfStringValues) {
  append_notes(events());
  EXPECT_EQ(error_code_of([&] { events().search("printer"); }), ErrorCode::not_found);
  EXPECT_TRUE(events().indexes().empty());

  EXPECT_TRUE(events().add_index(EventIndex::text));
  EXPECT_EQ(events().indexes(), std::vector<EventIndex>{EventIndex::text});
  events().append("ticket-3", event("Opened", R"({"title":"Fire drill","printer":"no"})"));

  EXPECT_EQ(names(events().search("printer")), (Names{"ticket-1@1", "ticket-2@1", "note-1@1"}));
  EXPECT_EQ(names(events().search("PRINTER, fire!")), (Names{"ticket-1@1"}));
  EXPECT_EQ(names(events().search("fire")), (Names{"ticket-1@1", "ticket-1@2", "ticket-3@1"}));
  EXPECT_EQ(names(events().search("urgent")), (Names{"ticket-1@1"}));
  EXPECT_EQ(names(events().search("ada")), (Names{"ticket-1@2"}));
  EXPECT_TRUE(events().search("print").empty());  // Whole words only.
  EXPECT_TRUE(events().search("title").empty());  // Values, not keys.
  EXPECT_TRUE(events().search("false").empty());  // Strings, not other values.

  const auto first = events().search("fire", Position::start(), 1);
  ASSERT_EQ(names(first), (Names{"ticket-1@1"}));
  EXPECT_EQ(names(events().search("fire", first.back().position)),
            (Names{"ticket-1@2", "ticket-3@1"}));

  AllReadOptions filtered;
  filtered.filter.words = "fire";
  filtered.filter.types = {"Opened"};
  filtered.category = "ticket";
  EXPECT_EQ(names(events().read_all(filtered)), (Names{"ticket-1@1", "ticket-3@1"}));
  EXPECT_EQ(events().count(filtered), 2u);

  events().delete_stream("ticket-1");
  EXPECT_EQ(names(events().search("fire")), (Names{"ticket-3@1"}));
  EXPECT_EQ(error_code_of([&] { events().search(" ,; "); }), ErrorCode::invalid_argument);
}

TEST_P(EventIndexTest, DroppingTheTextIndexRefusesWordFiltersAgainAndAddingItIsIdempotent) {
  append_notes(events());
  EXPECT_TRUE(events().add_index(EventIndex::text));
  EXPECT_TRUE(events().add_index(EventIndex::text));
  events().drop_index(EventIndex::text);
  events().drop_index(EventIndex::text);
  EXPECT_TRUE(events().indexes().empty());
  AllReadOptions options;
  options.filter.words = "printer";
  EXPECT_EQ(error_code_of([&] { events().count(options); }), ErrorCode::not_found);
  SubscriptionOptions subscription;
  subscription.filter = options.filter;
  Subscription feed = store().subscribe(subscription);
  EXPECT_EQ(error_code_of([&] { feed.poll(std::chrono::milliseconds(0)); }), ErrorCode::not_found);
  EXPECT_TRUE(events().add_index(EventIndex::text));
  EXPECT_EQ(events().count(options), 3u);
}

TEST_P(EventIndexTest, JsonIndexesChangeNoResultAndExistOnlyWherePostgresKeepsThem) {
  append_notes(events());
  EventFilter filter;
  filter.data = R"({"by":{"name":"Ada"}})";
  AllReadOptions options;
  options.filter = filter;
  const Names before = names(events().read_all(options));
  ASSERT_EQ(before, (Names{"ticket-1@2"}));
  const bool kept = kind() == BackendKind::postgres;
  EXPECT_EQ(events().add_index(EventIndex::data), kept);
  EXPECT_EQ(events().add_index(EventIndex::metadata), kept);
  EXPECT_EQ(names(events().read_all(options)), before);
  EXPECT_EQ(events().indexes(),
            kept ? (std::vector<EventIndex>{EventIndex::metadata, EventIndex::data})
                 : std::vector<EventIndex>{});
  events().drop_index(EventIndex::data);
  EXPECT_EQ(names(events().read_all(options)), before);
}

// PostgreSQL refuses a tsvector beyond 1 MB of words: the text index leaves out data beyond
// kMaxQueryableValueBytes, on both backends, so that such an append still succeeds.
TEST_P(EventIndexTest, DataBeyondTheQueryableBoundIsAppendedAndNotSearched) {
  ASSERT_TRUE(events().add_index(EventIndex::text));
  std::string words;
  for (int i = 0; words.size() < 1'500'000; ++i) words += "w" + std::to_string(i) + " ";
  events().append("big-1", event("Wrote", R"({"words":")" + words + "\"}"));
  events().append("big-2", event("Wrote", R"({"words":"w1 w2"})"));
  EXPECT_EQ(names(events().search("w1")), (Names{"big-2@1"}));
  EXPECT_EQ(events().read_stream("big-1").size(), 1u);
}

TEST_P(EventIndexTest, IndexesAreNotBuiltInsideATransaction) {
  EXPECT_EQ(error_code_of([&] {
              store().transaction([](Transaction& tx) { tx.events().add_index(EventIndex::text); });
            }),
            ErrorCode::invalid_argument);
  EXPECT_TRUE(events().indexes().empty());
}

STRATA_ALL_BACKENDS(EventIndexTest);

// While writers append, builders race to add the same index: each returns once it is whole, and
// every event appended before, during and after is found.
TEST(PostgresEventIndexTest, BuildsRaceWithWritersAndAHalfBuiltIndexIsRebuilt) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    Store store = Store::open(url);
    run_store_sql(BackendKind::postgres, url,
                  "CREATE INDEX events_text ON events USING gin (to_tsvector('simple', data)); "
                  "UPDATE pg_index SET indisvalid = false "
                  "WHERE indexrelid = 'events_text'::regclass");
    EXPECT_TRUE(store.events().indexes().empty());
    std::atomic<bool> writing{true};
    std::atomic<int> appended{0};
    std::thread writer([&] {
      for (int i = 0; writing || i < 20; ++i, ++appended) {
        store.events().append("w-" + std::to_string(i % 5), event("Wrote", R"({"word":"needle"})"));
      }
    });
    std::vector<std::thread> builders;
    for (int b = 0; b < 3; ++b) {
      builders.emplace_back([&] {
        Store own = Store::open(url);
        EXPECT_TRUE(own.events().add_index(EventIndex::text));
        EXPECT_EQ(own.events().indexes(), std::vector<EventIndex>{EventIndex::text});
      });
    }
    for (auto& builder : builders) builder.join();
    writing = false;
    writer.join();
    // Rebuilt with its own expression, not the planted one's.
    EXPECT_NO_THROW(run_store_sql(
        BackendKind::postgres, url,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = 'events_text' AND indexdef LIKE '%queryable_json%') THEN "
        "RAISE EXCEPTION 'events_text was not rebuilt'; END IF; END $$"));
    AllReadOptions options;
    options.filter.words = "needle";
    EXPECT_EQ(store.events().count(options), static_cast<std::uint64_t>(appended.load()));
  }
  drop_database(BackendKind::postgres, url);
}

// queryable_json catches conversion errors in a subtransaction, which a parallel plan refuses: a
// large store's scans would fail once the planner chose one.
TEST(PostgresEventIndexTest, JsonFiltersRunWherePlansWouldGoParallel) {
  const std::string url = fresh_database_url(BackendKind::postgres);
  {
    Store store = Store::open(url);
    store.events().append("a-1", event("Happened", R"({"a":1})", R"({"tenant":"acme"})"));
    EXPECT_NO_THROW(run_store_sql(BackendKind::postgres, url,
                                  "SET force_parallel_mode = on; SELECT count(*) FROM events "
                                  "WHERE queryable_json(metadata) @> '{\"tenant\":\"acme\"}'"));
  }
  drop_database(BackendKind::postgres, url);
}

}  // namespace
}  // namespace strata::testing
