// Namespace checkpoints and workflow checkpoints on every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using CheckpointTest = BackendTest;
using namespace std::chrono_literals;

TEST_P(CheckpointTest, RestoreKeepsEveryFieldExactly) {
  auto kv = store().kv("state");
  KvPut rich = kv_write(std::string("k\0\xff", 3), std::string("v\0\x01", 3));
  rich.metadata = R"({ "owner": "op-7" })";
  rich.ttl = 1h;
  kv.put(rich);
  kv.put(rich);  // Version 2.
  kv.put("plain", "p");
  KvPut expiring = kv_write("expiring", "soon");
  expiring.ttl = 1500ms;  // Long enough for the checks before expiry on a loaded machine.
  kv.put(expiring);
  const auto before = kv.scan().entries;

  const KvCheckpoint checkpoint = kv.create_checkpoint();
  EXPECT_GT(checkpoint.id, 0);
  EXPECT_EQ(checkpoint.entries, 3);
  EXPECT_EQ(checkpoint.bytes, 3 + 3 + 5 + 1 + 8 + 4);
  EXPECT_EQ(kv.checkpoints(), std::vector<KvCheckpoint>{checkpoint});

  kv.put("plain", "changed");
  kv.erase(rich.key);
  kv.put("new", "n");
  kv.restore_checkpoint(checkpoint.id);
  EXPECT_EQ(kv.scan().entries, before);  // Values, versions, metadata and expiry times exactly.
  EXPECT_EQ(kv.get(rich.key)->version, 2);

  const Timestamp expires_at = *kv.get("expiring")->expires_at;
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::microseconds(expires_at) + 50ms));
  kv.restore_checkpoint(checkpoint.id);
  EXPECT_FALSE(kv.contains("expiring"));  // Its saved expiry time has passed.
  EXPECT_EQ(kv.count(), 2u);

  EXPECT_TRUE(kv.delete_checkpoint(checkpoint.id));
  EXPECT_FALSE(kv.delete_checkpoint(checkpoint.id));
  EXPECT_EQ(error_code_of([&] { kv.restore_checkpoint(checkpoint.id); }), ErrorCode::not_found);
  EXPECT_TRUE(kv.checkpoints().empty());
}

TEST_P(CheckpointTest, CheckpointsBelongToTheirNamespace) {
  auto a = store().kv("a");
  auto b = store().kv("b");
  a.put("k", "in a");
  a.put("doc", R"({"title":"find me after a restore"})");
  b.put("k", "in b");
  const auto checkpoint = a.create_checkpoint();
  EXPECT_TRUE(b.checkpoints().empty());
  EXPECT_EQ(error_code_of([&] { b.restore_checkpoint(checkpoint.id); }), ErrorCode::not_found);
  EXPECT_FALSE(b.delete_checkpoint(checkpoint.id));
  a.clear();
  EXPECT_TRUE(a.search("restore").entries.empty());
  a.restore_checkpoint(checkpoint.id);
  EXPECT_EQ(a.get("k")->value, "in a");
  // Restored JSON values are found again, by search and by containment.
  EXPECT_EQ(a.search("restore").entries.size(), 1u);
  EXPECT_EQ(a.find(JsonField::value, R"({"title":"find me after a restore"})").entries.size(), 1u);
  EXPECT_EQ(b.get("k")->value, "in b");
}

// Joins a thread however the test body leaves.
struct Joined {
  std::thread thread;
  ~Joined() {
    if (thread.joinable()) thread.join();
  }
};

constexpr int kBankKeys = 5;

// Writes every key of the namespace to the same value, in one atomic call.
void write_all(const KeyValue& kv, int value) {
  std::vector<KvPut> writes;
  for (int k = 0; k < kBankKeys; ++k)
    writes.push_back(kv_write("k" + std::to_string(k), std::to_string(value)));
  kv.put_many(writes);
}

// Whether `entries` are all the keys, holding one value: what every atomic state looks like.
::testing::AssertionResult uniform(const std::vector<KvEntry>& entries) {
  if (entries.size() != static_cast<std::size_t>(kBankKeys)) {
    return ::testing::AssertionFailure() << entries.size() << " keys";
  }
  for (const auto& entry : entries) {
    if (entry.value != entries.front().value) {
      return ::testing::AssertionFailure() << entry.value << " beside " << entries.front().value;
    }
  }
  return ::testing::AssertionSuccess();
}

// A writer keeps rewriting every key to one new value; checkpoints taken meanwhile are
// consistent snapshots, and restores made meanwhile are atomic: every scan, a single read, sees
// all the keys holding one value.
TEST_P(CheckpointTest, CheckpointAndRestoreWhileWritersWrite) {
  auto kv = store().kv("bank");
  write_all(kv, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  Joined writer{std::thread([&] {
    auto mine = store().kv("bank");
    for (int value = 1; !stop; ++value) {
      try {
        write_all(mine, value);
        ++writes;
      } catch (const Error& error) {
        // A concurrent restore may make the database pick this write as a deadlock victim: the
        // documented answer to conflict is to retry.
        if (error.code() != ErrorCode::conflict) throw;
      }
    }
  })};
  std::vector<KvCheckpoint> taken;
  for (int i = 0; i < 8; ++i) {
    for (const int seen = writes.load(); writes.load() == seen;) std::this_thread::yield();
    taken.push_back(kv.create_checkpoint());
    EXPECT_EQ(taken.back().entries, kBankKeys);
    EXPECT_TRUE(uniform(kv.scan().entries));
  }
  for (const auto& checkpoint : taken) {
    for (const int seen = writes.load(); writes.load() == seen;) std::this_thread::yield();
    kv.restore_checkpoint(checkpoint.id);
    EXPECT_TRUE(uniform(kv.scan().entries));
  }
  stop = true;
  writer.thread.join();
  EXPECT_GT(writes.load(), 0);
  for (const auto& checkpoint : taken) {
    kv.restore_checkpoint(checkpoint.id);
    EXPECT_TRUE(uniform(kv.scan().entries)) << "checkpoint " << checkpoint.id;
  }
}

TEST_P(CheckpointTest, WorkflowCheckpoints) {
  auto workflows = store().workflows();
  EXPECT_FALSE(workflows.latest("onboarding-42"));
  for (int i = 1; i <= 5; ++i) {
    const auto saved = workflows.save("onboarding-42", "{\"step\": " + std::to_string(i) + "}");
    EXPECT_EQ(saved.version, i);
    EXPECT_EQ(saved.workflow, "onboarding-42");
  }
  workflows.save("other", "[]");
  const auto latest = workflows.latest("onboarding-42");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 5);
  EXPECT_EQ(latest->state, "{\"step\": 5}");
  EXPECT_EQ(workflows.get("onboarding-42", 2)->state, "{\"step\": 2}");
  EXPECT_EQ(workflows.get("onboarding-42", 2), workflows.list("onboarding-42")[1]);
  EXPECT_FALSE(workflows.get("onboarding-42", 9));
  EXPECT_EQ(workflows.list("onboarding-42").size(), 5u);

  EXPECT_EQ(workflows.prune("onboarding-42", 2), 3u);
  std::vector<std::int64_t> kept;
  for (const auto& checkpoint : workflows.list("onboarding-42")) kept.push_back(checkpoint.version);
  EXPECT_EQ(kept, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(workflows.save("onboarding-42", "{}").version, 6);
  EXPECT_TRUE(workflows.erase("onboarding-42", 4));
  EXPECT_FALSE(workflows.erase("onboarding-42", 4));
  EXPECT_EQ(workflows.erase_all("onboarding-42"), 2u);
  EXPECT_EQ(workflows.list("other").size(), 1u);
  EXPECT_EQ(error_code_of([&] { workflows.save("bad-1", "{oops"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(error_code_of([&] { workflows.save("", "{}"); }), ErrorCode::invalid_argument);
}

TEST_P(CheckpointTest, WorkflowVersionsRacingFromThreads) {
  constexpr int kThreads = 6;
  constexpr int kSavesEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSavesEach; ++i) store().workflows().save("shared", "{}");
    });
  }
  for (auto& thread : threads) thread.join();
  const auto all = store().workflows().list("shared");
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kSavesEach));
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].version, static_cast<std::int64_t>(i + 1));
}

STRATA_ALL_BACKENDS(CheckpointTest);

}  // namespace
}  // namespace strata::testing
