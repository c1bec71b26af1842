// Subscriptions (catch-up then live) and durable consumers (checkpoint in the Store, moved with
// the handler's writes; consumer groups).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using SubscriptionTest = BackendTest;
using ConsumerTest = BackendTest;
using ConsumerProcessTest = BackendTest;

TEST_P(SubscriptionTest, CatchesUpThenFollowsNewAppends) {
  for (int i = 0; i < 5; ++i) events().append("order-" + std::to_string(i % 2), event("Placed"));
  SubscriptionOptions options;
  options.batch = 2;
  Subscription feed = store().subscribe(options);
  std::vector<RecordedEvent> seen;
  for (auto batch = feed.poll(); !batch.empty(); batch = feed.poll()) {
    EXPECT_LE(batch.size(), 2u);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(ids_of(seen), ids_of(read_everything(events())));
  EXPECT_EQ(feed.position(), seen.back().position);

  const auto before = std::chrono::steady_clock::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(200ms);
    events().append("order-9", event("Late"));
  });
  const auto live = feed.poll(20s);
  writer.join();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].stream, "order-9");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  EXPECT_TRUE(feed.poll(100ms).empty()) << "nothing repeats";
}

TEST_P(SubscriptionTest, FollowsACategoryOrAStreamFromAPosition) {
  const auto first = events().append("order-1", event("Placed"));
  events().append("cart-1", event("Added"));
  events().append("order-2", event("Placed"));
  events().append("order-1", event("Paid"));

  SubscriptionOptions category;
  category.category = "order";
  category.after = first.position;
  auto by_category = store().subscribe(category).poll();
  ASSERT_EQ(by_category.size(), 2u);
  EXPECT_EQ(by_category[0].stream, "order-2");
  EXPECT_EQ(by_category[1].type, "Paid");

  SubscriptionOptions stream;
  stream.stream = "order-1";
  auto by_stream = store().subscribe(stream).poll();
  ASSERT_EQ(by_stream.size(), 2u);
  EXPECT_EQ(by_stream[1].version, 2);

  SubscriptionOptions both = category;
  both.stream = "order-1";
  EXPECT_EQ(error_code_of([&] { store().subscribe(both); }), ErrorCode::invalid_argument);
  SubscriptionOptions empty_batch;
  empty_batch.batch = 0;
  EXPECT_EQ(error_code_of([&] { store().subscribe(empty_batch); }), ErrorCode::invalid_argument);
}

// Writers append while a subscriber follows live: it sees every event once, in the all-events
// order, each stream's versions in order.
TEST_P(SubscriptionTest, ALiveSubscriberNeverSkipsNorRepeatsUnderConcurrentWriters) {
  expect_every_event_once_in_order(store(), follow_concurrent_appends(store(), "live", 4, 40, 7));
}

// A read model: each account's balance, kept in key-value state by a consumer.
struct Balances {
  std::size_t calls = 0;
  void operator()(Transaction& tx, const RecordedEvent& e) {
    ++calls;
    auto balances = tx.kv("balances");
    const auto current = balances.get(e.stream);
    const int balance = current ? std::stoi(current->value) : 0;
    balances.put(e.stream, std::to_string(balance + std::stoi(e.data)));
  }
};

std::string balance(Store& store, const std::string& account) {
  const auto entry = store.kv("balances").get(account);
  return entry ? entry->value : "none";
}

TEST_P(ConsumerTest, KeepsAReadModelExactlyOnce) {
  for (int i = 1; i <= 6; ++i) {
    events().append("account-" + std::to_string(i % 2), event("Deposited", std::to_string(i)));
  }
  ConsumerOptions options;
  options.category = "account";
  options.batch = 4;
  Consumer consumer = store().consumer("balances", options);
  EXPECT_EQ(consumer.checkpoint(), Position::start());
  Balances model;
  EXPECT_EQ(consumer.poll(std::ref(model)), 4u);
  EXPECT_EQ(consumer.poll(std::ref(model)), 2u);
  EXPECT_EQ(consumer.poll(std::ref(model)), 0u);
  EXPECT_EQ(balance(store(), "account-0"), "12");  // 2 + 4 + 6
  EXPECT_EQ(balance(store(), "account-1"), "9");   // 1 + 3 + 5
  EXPECT_EQ(consumer.checkpoint(), read_everything(events()).back().position);

  // A new Consumer of the same name resumes from the stored checkpoint.
  events().append("account-1", event("Deposited", "10"));
  events().append("other-1", event("Ignored", "1000"));
  Consumer resumed = store().consumer("balances", options);
  EXPECT_EQ(resumed.poll(std::ref(model), 5s), 0u) << "the first still holds the member";
  consumer = store().consumer("balances", options);  // Gives up the old one's lock.
  EXPECT_EQ(consumer.poll(std::ref(model)), 1u);
  EXPECT_EQ(balance(store(), "account-1"), "19");
  EXPECT_EQ(model.calls, 7u);
}

TEST_P(ConsumerTest, AHandlerThatThrowsLeavesNoTrace) {
  events().append("account-1", event("Deposited", "5"));
  events().append("account-1", event("Deposited", "\"oops\""));
  Consumer consumer = store().consumer("balances");
  Balances model;
  EXPECT_THROW(consumer.poll(std::ref(model)), std::invalid_argument);
  EXPECT_EQ(balance(store(), "account-1"), "none") << "the first event's write rolled back";
  EXPECT_EQ(consumer.checkpoint(), Position::start());
  std::size_t seen = 0;
  EXPECT_EQ(consumer.poll([&](Transaction&, const RecordedEvent&) { ++seen; }), 2u);
  EXPECT_EQ(seen, 2u) << "the same events came again";
}

TEST_P(ConsumerTest, ACheckpointMovedMeanwhileIsAConflictAndNothingApplies) {
  events().append("account-1", event("Deposited", "5"));
  Consumer consumer = store().consumer("balances");
  Balances model;
  EXPECT_EQ(consumer.poll(std::ref(model)), 1u);
  events().append("account-1", event("Deposited", "7"));
  // Another process moves the checkpoint back (as a rebuild would) behind this one's back.
  store().consumer("balances").reset(Position::start());
  EXPECT_EQ(error_code_of([&] { consumer.poll(std::ref(model)); }), ErrorCode::conflict);
  EXPECT_EQ(balance(store(), "account-1"), "5");
  consumer.reset();
  store().kv("balances").clear();
  EXPECT_EQ(consumer.poll(std::ref(model)), 2u) << "a reset replays from the start";
  EXPECT_EQ(balance(store(), "account-1"), "12");
}

TEST_P(ConsumerTest, GroupMembersSplitTheStreamsByTheSpecifiedHash) {
  EXPECT_EQ(consumer_group_member("foobar", 1000), 968u);  // FNV-1a 64: 0x85944171f73967e8.
  EXPECT_EQ(consumer_group_member("a", 7), 5u);            // FNV-1a 64: 0xaf63dc4c8601ec8c.
  EXPECT_EQ(error_code_of([] { consumer_group_member("a", 0); }), ErrorCode::invalid_argument);

  constexpr std::size_t kMembers = 3;
  for (int round = 0; round < 4; ++round) {
    for (int s = 0; s < 12; ++s) events().append("device-" + std::to_string(s), event("Ping"));
  }
  std::map<std::string, std::set<std::size_t>> handled_by;
  std::map<std::string, std::int64_t> last_version;
  std::size_t total = 0;
  for (std::size_t member = 0; member < kMembers; ++member) {
    ConsumerOptions options;
    options.group_size = kMembers;
    options.member = member;
    options.batch = 5;
    Consumer consumer = store().consumer("devices", options);
    while (consumer.poll([&](Transaction&, const RecordedEvent& e) {
      handled_by[e.stream].insert(member);
      EXPECT_EQ(e.version, last_version[e.stream] + 1) << "each stream in order";
      last_version[e.stream] = e.version;
      ++total;
    }) > 0) {
    }
  }
  EXPECT_EQ(total, 48u);
  for (const auto& [stream, members] : handled_by) {
    EXPECT_EQ(members, std::set<std::size_t>{consumer_group_member(stream, kMembers)}) << stream;
  }
  ConsumerOptions outside;
  outside.group_size = 3;
  outside.member = 3;
  EXPECT_EQ(error_code_of([&] { store().consumer("devices", outside); }),
            ErrorCode::invalid_argument);
}

// Group members (and a standby copy of one) polling at once from threads while a writer appends:
// no stream is ever handled by two of them at the same time, each stream only by its member, in
// order, and every event exactly once.
TEST_P(ConsumerTest, GroupMembersRacingNeverHandleOneStreamAtOnce) {
  constexpr std::size_t kMembers = 3;
  constexpr int kEvents = 120;
  std::mutex mutex;
  std::set<std::string> busy;
  std::map<std::string, std::int64_t> last_version;
  std::set<std::string> handled;
  bool overlapped = false;
  bool out_of_order = false;
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < kEvents; ++i) events().append("dev-" + std::to_string(i % 10), event("P"));
    writing = false;
  });
  std::vector<std::thread> members;
  for (std::size_t copy = 0; copy <= kMembers; ++copy) {
    const std::size_t member = copy % kMembers;  // The last thread doubles member 0.
    members.emplace_back([&, member] {
      ConsumerOptions options;
      options.group_size = kMembers;
      options.member = member;
      options.batch = 7;
      Consumer consumer = store().consumer("racing", options);
      const auto handle = [&](Transaction&, const RecordedEvent& e) {
        {
          std::lock_guard guard(mutex);
          if (!busy.insert(e.stream).second) overlapped = true;
          if (e.version != last_version[e.stream] + 1) out_of_order = true;
          if (consumer_group_member(e.stream, kMembers) != member) overlapped = true;
        }
        std::this_thread::sleep_for(1ms);
        std::lock_guard guard(mutex);
        busy.erase(e.stream);
        last_version[e.stream] = e.version;
        handled.insert(e.id);
      };
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      int idle = 0;
      while (idle < 3 && std::chrono::steady_clock::now() < deadline) {
        idle = consumer.poll(handle, 200ms) == 0 && !writing ? idle + 1 : 0;
      }
    });
  }
  writer.join();
  for (auto& member : members) member.join();
  EXPECT_FALSE(overlapped);
  EXPECT_FALSE(out_of_order);
  EXPECT_EQ(handled.size(), static_cast<std::size_t>(kEvents));
}

// A consumer process killed mid-stream: another takes over once its lease lapses and finishes,
// with no event lost and none applied twice (each event's id is claimed once in the same
// transaction as the checkpoint).
TEST_P(ConsumerProcessTest, AKilledConsumerIsResumedWithNoLossAndNoRepeat) {
  constexpr int kEvents = 500;
  std::vector<EventData> batch;
  for (int i = 0; i < kEvents; ++i) batch.push_back(event("Work", std::to_string(i)));
  events().append("jobs-1", batch);
  const std::string first = worker_path() + " '" + url() + "' 0 consume jobs " +
                            std::to_string(kEvents) + " >/dev/null 2>&1 & echo $!";
  const std::string pid = run_command(first);
  std::this_thread::sleep_for(700ms);
  run_command("kill -9 " + pid);
  const auto handled_before = store().kv("consumed").count();
  EXPECT_LT(handled_before, static_cast<std::size_t>(kEvents)) << "killed mid-stream";
  const auto outputs = run_workers_together(url(), 1, "consume jobs " + std::to_string(kEvents), 0);
  EXPECT_EQ(outputs[0], "consumed " + std::to_string(kEvents) + "\n");
  EXPECT_EQ(store().kv("consumed").count(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(store().consumer("jobs").checkpoint(), read_everything(events()).back().position);
}

STRATA_ALL_BACKENDS(SubscriptionTest);
STRATA_ALL_BACKENDS(ConsumerTest);
STRATA_SHARED_BACKENDS(ConsumerProcessTest);

}  // namespace
}  // namespace strata::testing
