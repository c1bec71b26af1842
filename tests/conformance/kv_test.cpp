// Key-value state: versions, conditions, TTLs, prefix scans and batches on every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/ids.h"
#include "support/backends.h"

namespace strata::testing {
namespace {

using KvTest = BackendTest;
using KvProcessTest = BackendTest;
using namespace std::chrono_literals;

std::int64_t conflict_version(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const KeyVersionConflict& conflict) {
    EXPECT_EQ(conflict.code(), ErrorCode::wrong_expected_version);
    return conflict.current_version();
  }
  ADD_FAILURE() << "the condition held";
  return -1;
}

std::vector<std::string> keys_of(const std::vector<KvEntry>& entries) {
  std::vector<std::string> keys;
  for (const auto& entry : entries) keys.push_back(entry.key);
  return keys;
}

TEST_P(KvTest, PutGetEraseAndVersions) {
  auto kv = store().kv("sessions");
  EXPECT_FALSE(kv.get("s-1"));
  EXPECT_EQ(kv.put("s-1", R"({"user":"ada"})"), 1);
  EXPECT_EQ(kv.put("s-1", R"({"user":"ada","step":2})"), 2);
  const auto entry = kv.get("s-1");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, R"({"user":"ada","step":2})");
  EXPECT_EQ(entry->version, 2);
  EXPECT_TRUE(kv.contains("s-1"));
  EXPECT_TRUE(kv.erase("s-1"));
  EXPECT_FALSE(kv.erase("s-1"));  // Missing: no error.
  EXPECT_FALSE(kv.contains("s-1"));
  EXPECT_EQ(kv.put("s-1", "again"), 1);  // A re-created key starts again.
}

TEST_P(KvTest, EveryFieldRoundTripsExactlyWithBinaryKeysAndValues) {
  auto kv = store().kv("bytes");
  const std::string key("k\0\xff\x01", 4);
  std::string value;
  for (int i = 0; i < 256; ++i) value += static_cast<char>(i);
  KvPut put = kv_write(key, value);
  put.metadata = R"({ "b": 1,  "a": [true] })";
  put.ttl = 1h;
  const Timestamp before = detail::now_micros();
  kv.put(put);
  const auto entry = kv.get(key);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->key, key);
  EXPECT_EQ(entry->value, value);
  EXPECT_EQ(entry->metadata, put.metadata);
  ASSERT_TRUE(entry->expires_at);
  EXPECT_NEAR(static_cast<double>(*entry->expires_at - before), 3600e6, 5e6);
  EXPECT_EQ(kv.scan().entries, std::vector<KvEntry>{*entry});
  kv.put(key, "");
  EXPECT_EQ(kv.get(key)->value, "");
  EXPECT_EQ(kv.get(key)->metadata, std::nullopt);  // Metadata is replaced on every write.
  EXPECT_EQ(kv.get(key)->expires_at, std::nullopt);
}

TEST_P(KvTest, ConditionalWrites) {
  auto kv = store().kv("cond");
  KvPut absent = kv_write("k", "first");
  absent.if_absent = true;
  EXPECT_EQ(kv.put(absent), 1);
  EXPECT_EQ(conflict_version([&] { kv.put(absent); }), 1);

  KvPut at = kv_write("k", "second");
  at.if_version = 1;
  EXPECT_EQ(kv.put(at), 2);
  EXPECT_EQ(conflict_version([&] { kv.put(at); }), 2);  // Stale.
  EXPECT_EQ(kv.get("k")->value, "second");

  EXPECT_EQ(conflict_version([&] { kv.erase("k", 1); }), 2);
  EXPECT_TRUE(kv.erase("k", 2));
  EXPECT_EQ(conflict_version([&] { kv.erase("k", 2); }), 0);
  KvPut missing = kv_write("missing", "x");
  missing.if_version = 1;
  EXPECT_EQ(conflict_version([&] { kv.put(missing); }), 0);
  EXPECT_FALSE(kv.contains("missing"));
}

// Sleeps until just after `expires_at` (the database and this process share one clock).
void sleep_past(Timestamp expires_at) {
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::microseconds(expires_at) + 50ms));
}

TEST_P(KvTest, ExpiredKeysAreInvisibleEverywhere) {
  auto kv = store().kv("ttl");
  KvPut short_lived = kv_write("gone", "soon");
  short_lived.ttl = 1s;  // Long enough for the checks before expiry on a loaded machine.
  kv.put(short_lived);
  kv.put("kept", "forever");
  EXPECT_TRUE(kv.contains("gone"));
  EXPECT_EQ(kv.count(), 2u);
  sleep_past(*kv.get("gone")->expires_at);

  EXPECT_FALSE(kv.get("gone"));
  EXPECT_FALSE(kv.contains("gone"));
  EXPECT_EQ(kv.count(), 1u);
  EXPECT_EQ(kv.count("go"), 0u);
  EXPECT_EQ(keys_of(kv.scan().entries), std::vector<std::string>{"kept"});
  KvPut at = kv_write("gone", "x");
  at.if_version = 1;
  EXPECT_EQ(conflict_version([&] { kv.put(at); }), 0);
  EXPECT_EQ(conflict_version([&] { kv.erase("gone", 1); }), 0);
  KvPut absent = kv_write("gone", "back");
  absent.if_absent = true;
  EXPECT_EQ(kv.put(absent), 1);  // Expired counts as absent, and starts again at version 1.
  EXPECT_EQ(kv.get("gone")->value, "back");
}

TEST_P(KvTest, PurgeExpiredWorksInBatches) {
  auto kv = store().kv("purge");
  for (int i = 0; i < 7; ++i) {
    KvPut put = kv_write("old-" + std::to_string(i), "x");
    put.ttl = 1ms;
    kv.put(put);
  }
  kv.put("live", "y");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(kv.purge_expired(2), 7u);
  EXPECT_EQ(kv.purge_expired(), 0u);
  EXPECT_EQ(kv.count(), 1u);
  EXPECT_EQ(error_code_of([&] { kv.purge_expired(0); }), ErrorCode::invalid_argument);
}

TEST_P(KvTest, PrefixScansAndCountsIncludingFFBytes) {
  auto kv = store().kv("prefix");
  const std::vector<std::string> keys = {
      "a", "ab",   "ab\xff",   "ab\xff\xff", "ac", std::string("ab\0", 3),
      "b", "\xff", "\xff\xff", "\xff\x01"};
  for (const auto& key : keys) kv.put(key, "v");
  auto expect_prefix = [&](const std::string& prefix, std::vector<std::string> expected) {
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(keys_of(kv.scan(prefix).entries), expected) << "prefix of " << prefix.size();
    EXPECT_EQ(kv.count(prefix), expected.size());
  };
  expect_prefix("ab", {"ab", std::string("ab\0", 3), "ab\xff", "ab\xff\xff"});
  expect_prefix("ab\xff", {"ab\xff", "ab\xff\xff"});
  expect_prefix("\xff", {"\xff", "\xff\x01", "\xff\xff"});
  expect_prefix("\xff\xff", {"\xff\xff"});
  expect_prefix("", keys);
  expect_prefix("zz", {});
}

TEST_P(KvTest, ScanPagesWithACursor) {
  auto kv = store().kv("pages");
  for (int i = 0; i < 25; ++i) kv.put("k" + std::to_string(100 + i), std::to_string(i));
  kv.put("other", "x");
  std::vector<std::string> paged;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    const KvPage page = kv.scan("k", cursor, 4);
    for (const auto& entry : page.entries) paged.push_back(entry.key);
    cursor = page.next_cursor;
    ++pages;
  } while (cursor);
  EXPECT_EQ(paged, keys_of(kv.scan("k").entries));
  EXPECT_EQ(paged.size(), 25u);
  EXPECT_EQ(pages, 7);
  EXPECT_EQ(error_code_of([&] { kv.scan("k", std::string("zz")); }), ErrorCode::invalid_argument);
}

TEST_P(KvTest, NamespacesAreIsolatedAndClearable) {
  auto a = store().kv("a");
  auto b = store().kv("b");
  a.put("k", "in a");
  b.put("k", "in b");
  a.clear();
  EXPECT_FALSE(a.contains("k"));
  EXPECT_EQ(b.get("k")->value, "in b");
  EXPECT_EQ(error_code_of([&] { store().kv(""); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { store().kv("bad\tname"); }), ErrorCode::invalid_argument);
}

TEST_P(KvTest, InvalidWritesAreRefusedAndNothingIsWritten) {
  auto kv = store().kv("invalid");
  auto code = [&](KvPut put) { return error_code_of([&] { kv.put(put); }); };
  EXPECT_EQ(code(kv_write("", "x")), ErrorCode::invalid_argument);
  EXPECT_EQ(code(kv_write(std::string(kMaxKeyBytes + 1, 'k'), "x")), ErrorCode::invalid_argument);
  KvPut bad = kv_write("k", "x");
  bad.metadata = "{nope";
  EXPECT_EQ(code(bad), ErrorCode::invalid_argument);
  bad.metadata = R"({"nul":"\u0000"})";
  EXPECT_EQ(code(bad), ErrorCode::invalid_argument);
  bad = kv_write("k", "x");
  bad.ttl = 0ms;
  EXPECT_EQ(code(bad), ErrorCode::invalid_argument);
  bad = kv_write("k", "x");
  bad.if_absent = true;
  bad.if_version = 3;
  EXPECT_EQ(code(bad), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] {
              kv.put_many({kv_write("a", "1"), kv_write("a", "2")});
            }),
            ErrorCode::invalid_argument);
  KvPut conditional = kv_write("c", "1");
  conditional.if_absent = true;
  EXPECT_EQ(error_code_of([&] {
              kv.put_many({kv_write("b", "1"), conditional});
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(kv.count(), 0u);
}

TEST_P(KvTest, BatchesInOneCallAndInATransactionWithEvents) {
  auto kv = store().kv("batch");
  kv.put("a", "old");
  KvPut with_ttl = kv_write("c", "3");
  with_ttl.ttl = 1h;
  with_ttl.metadata = R"({"m":1})";
  EXPECT_EQ(kv.put_many({kv_write("a", "1"), kv_write("b", "2"), with_ttl}),
            (std::vector<std::int64_t>{2, 1, 1}));
  EXPECT_EQ(kv.get("c")->metadata, R"({"m":1})");
  EXPECT_EQ(kv.erase_many({"a", "b", "missing"}), 2u);
  EXPECT_EQ(kv.count(), 1u);

  store().transaction([](Transaction& tx) {
    tx.events().append("order-1", event("Placed"));
    tx.kv("batch").put_many({kv_write("order-1", "placed"), kv_write("order-2", "pending")});
  });
  EXPECT_EQ(kv.get("order-1")->value, "placed");
  EXPECT_THROW(store().transaction([](Transaction& tx) {
    tx.kv("batch").put("order-1", "shipped");
    tx.kv("batch").erase_many({"order-2"});
    tx.events().append("order-1", event("Shipped"));
    throw std::runtime_error("rollback");
  }),
               std::runtime_error);
  EXPECT_EQ(kv.get("order-1")->value, "placed");
  EXPECT_TRUE(kv.contains("order-2"));
  EXPECT_EQ(events().stream_info("order-1").version, 1);
}

TEST_P(KvTest, FindByJsonContainmentOnValueOrMetadata) {
  auto kv = store().kv("docs");
  KvPut ada = kv_write("ada", R"({"user":"ada","tags":["a","b"],"n":1,"nested":{"x":[1,2]}})");
  ada.metadata = R"({"team":"core","level":3})";
  kv.put(ada);
  KvPut bob = kv_write("bob", R"({"user":"bob","tags":["b"],"n":1.0})");
  bob.metadata = R"({"team":"edge"})";
  kv.put(bob);
  kv.put("list", R"(["x","y"])");
  kv.put("plain", "not json {\"user\":\"ada\"}");
  KvPut gone = kv_write("gone", R"({"user":"ada","tags":["b"]})");
  gone.ttl = 1ms;
  kv.put(gone);
  std::this_thread::sleep_for(20ms);

  auto found = [&](JsonField field, const std::string& pattern) {
    return keys_of(kv.find(field, pattern).entries);
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(found(JsonField::value, R"({"tags":["b"]})"), (Keys{"ada", "bob"}));
  EXPECT_EQ(found(JsonField::value, R"({"user":"ada"})"), (Keys{"ada"}));
  EXPECT_EQ(found(JsonField::value, R"({"n":1})"), (Keys{"ada", "bob"}));  // 1 equals 1.0.
  EXPECT_EQ(found(JsonField::value, R"({"tags":["b","a"]})"), (Keys{"ada"}));
  EXPECT_EQ(found(JsonField::value, R"({"nested":{"x":[2]}})"), (Keys{"ada"}));
  EXPECT_EQ(found(JsonField::value, R"({"tags":"b"})"), Keys{});  // A scalar is no array.
  EXPECT_EQ(found(JsonField::value, R"("x")"), (Keys{"list"}));   // Except at the top level.
  EXPECT_EQ(found(JsonField::value, "{}"), (Keys{"ada", "bob"}));
  EXPECT_EQ(found(JsonField::metadata, R"({"team":"core"})"), (Keys{"ada"}));
  EXPECT_EQ(found(JsonField::metadata, R"({"level":3.0})"), (Keys{"ada"}));
  EXPECT_EQ(found(JsonField::metadata, "{}"), (Keys{"ada", "bob"}));

  const KvPage first = kv.find(JsonField::value, R"({"tags":["b"]})", std::nullopt, 1);
  ASSERT_EQ(keys_of(first.entries), Keys{"ada"});
  const KvPage second = kv.find(JsonField::value, R"({"tags":["b"]})", first.next_cursor, 1);
  EXPECT_EQ(keys_of(second.entries), Keys{"bob"});
  EXPECT_EQ(error_code_of([&] { kv.find(JsonField::value, "{nope"); }),
            ErrorCode::invalid_argument);
}

TEST_P(KvTest, FullTextSearchOverJsonValues) {
  auto kv = store().kv("search");
  kv.put("q3", R"({"title":"Quarterly report","body":"Revenue grew","n":7})");
  kv.put("w1", R"({"title":"Weekly REPORT","items":["ops","Wörld-news"]})");
  kv.put("raw", "report in plain text");
  kv.put("keys", R"({"report":"no"})");  // Object keys are not text.
  using Keys = std::vector<std::string>;
  auto searched = [&](const std::string& words) { return keys_of(kv.search(words).entries); };
  EXPECT_EQ(searched("report"), (Keys{"q3", "w1"}));
  EXPECT_EQ(searched("REVENUE quarterly"), (Keys{"q3"}));
  EXPECT_EQ(searched("report, grew!"), (Keys{"q3"}));
  EXPECT_EQ(searched("wörld"), (Keys{"w1"}));
  EXPECT_EQ(searched("ops report"), (Keys{"w1"}));
  EXPECT_EQ(searched("missing"), Keys{});
  EXPECT_EQ(searched("7"), Keys{});  // Numbers are not text.

  kv.put("q3", R"({"title":"Quarterly forecast"})");
  EXPECT_EQ(searched("report"), (Keys{"w1"}));
  EXPECT_EQ(searched("forecast"), (Keys{"q3"}));
  kv.put("raw", R"({"note":"report now JSON"})");  // Bytes to JSON, and back.
  EXPECT_EQ(searched("report"), (Keys{"raw", "w1"}));
  kv.put("raw", "plain report again");
  EXPECT_EQ(searched("report"), (Keys{"w1"}));
  kv.erase("w1");
  EXPECT_EQ(searched("report"), Keys{});
  KvPut brief = kv_write("brief", R"({"title":"report"})");
  brief.ttl = 1ms;
  kv.put(brief);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(searched("report"), Keys{});
  EXPECT_EQ(error_code_of([&] { kv.search(" ,; "); }), ErrorCode::invalid_argument);
}

// Large batches of new keys take a faster path; one that meets an existing key falls back to
// writing key by key, with the same results.
TEST_P(KvTest, LargeBatchesOfNewAndExistingKeys) {
  auto kv = store().kv("large");
  std::vector<KvPut> fresh;
  for (int i = 0; i < 200; ++i) {
    KvPut put = kv_write("k" + std::to_string(1000 + i),
                         R"({"doc":"number )" + std::to_string(i) + R"("})");
    if (i % 2 == 0) put.metadata = R"({"even":true})";
    fresh.push_back(put);
  }
  EXPECT_EQ(kv.put_many(fresh), std::vector<std::int64_t>(200, 1));
  EXPECT_EQ(kv.count(), 200u);
  EXPECT_EQ(kv.get("k1002")->metadata, R"({"even":true})");
  EXPECT_EQ(kv.search("number").entries.size(), 200u);
  EXPECT_EQ(kv.find(JsonField::metadata, R"({"even":true})").entries.size(), 100u);

  std::vector<KvPut> mixed;
  for (int i = 150; i < 250; ++i) mixed.push_back(kv_write("k" + std::to_string(1000 + i), "v"));
  const auto versions = kv.put_many(mixed);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(versions[i], i < 50 ? 2 : 1) << i;
  EXPECT_EQ(kv.count(), 250u);
  EXPECT_EQ(kv.search("number").entries.size(), 150u);

  store().transaction([&](Transaction& tx) {
    std::vector<KvPut> more;
    for (int i = 0; i < 100; ++i) more.push_back(kv_write("t" + std::to_string(i), "x"));
    EXPECT_EQ(tx.kv("large").put_many(more), std::vector<std::int64_t>(100, 1));
    EXPECT_EQ(tx.kv("large").put_many(more), std::vector<std::int64_t>(100, 2));
  });
  EXPECT_EQ(kv.count("t"), 100u);
}

TEST_P(KvTest, ConditionalWritesRacingFromThreads) {
  auto kv = store().kv("race");
  kv.put("counter", "0");
  constexpr int kThreads = 8;
  constexpr int kIncrementsEach = 10;
  std::atomic<bool> go{false};
  std::atomic<int> conflicts{0};
  std::atomic<int> first_claims{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      auto mine = store().kv("race");
      KvPut claim = kv_write("claim", "mine");
      claim.if_absent = true;
      try {
        mine.put(claim);
        ++first_claims;
      } catch (const KeyVersionConflict&) {
      }
      for (int done = 0; done < kIncrementsEach;) {
        const auto current = mine.get("counter");
        KvPut next = kv_write("counter", std::to_string(std::stoi(current->value) + 1));
        next.if_version = current->version;
        try {
          mine.put(next);
          ++done;
        } catch (const KeyVersionConflict&) {
          ++conflicts;
        }
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(first_claims.load(), 1);
  const auto counter = kv.get("counter");
  EXPECT_EQ(counter->value, std::to_string(kThreads * kIncrementsEach));
  EXPECT_EQ(counter->version, kThreads * kIncrementsEach + 1);
}

TEST_P(KvProcessTest, InsertIfAbsentRacingFromProcesses) {
  constexpr int kProcesses = 4;
  constexpr int kKeys = 20;
  int total_won = 0;
  for (const std::string& output :
       run_workers_together(url(), kProcesses, "kv-claim claims " + std::to_string(kKeys), 300)) {
    ASSERT_TRUE(output.starts_with("won ")) << output;
    total_won += std::atoi(output.c_str() + std::string("won ").size());
  }
  EXPECT_EQ(total_won, kKeys);  // Each key claimed by exactly one process.
  auto kv = store().kv("claims");
  EXPECT_EQ(kv.count(), static_cast<std::size_t>(kKeys));
  for (const auto& entry : kv.scan().entries) EXPECT_EQ(entry.version, 1);
}

STRATA_ALL_BACKENDS(KvTest);
STRATA_SHARED_BACKENDS(KvProcessTest);

}  // namespace
}  // namespace strata::testing
