// A helper process for the racing tests: several of these run at once against one database.
//   strata_test_worker URL START_MS open                 opens (and so migrates) the store
//   strata_test_worker URL START_MS append-race STREAM N appends N events to STREAM, each with
//                                                        the exact expected version it last saw
//   strata_test_worker URL START_MS kv-claim NS N        claims keys 0..N-1 of NS if absent
//   strata_test_worker URL START_MS queue-work Q         completes items of Q until none is left
//   strata_test_worker URL START_MS queue-hold Q N MS    leases N items for MS ms, then hangs
//   strata_test_worker URL START_MS consume NAME N       runs consumer NAME (1 s lease), claiming
//                                                        each event's id in namespace
//                                                        "consumed", until N are claimed
//   strata_test_worker URL START_MS lock-race KEY N      takes lock KEY N times; while holding
//                                                        it, checks nobody else does and that
//                                                        its token beats the last one used
// Each waits until START_MS (ms since the epoch) so that all start together (append-race opens
// its store first, so that the race is in the appends), then prints one line:
// "schema_version V", "wins W conflicts C", "won W", "consumed N" or "tokens T1 T2 …".
#include <unistd.h>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "strata/strata.h"

namespace {

void wait_until(long long start_ms) {
  const auto start = std::chrono::system_clock::time_point(std::chrono::milliseconds(start_ms));
  std::this_thread::sleep_until(start);
}

int append_race(strata::Store& store, const std::string& stream, int wanted) {
  auto events = store.events();
  int wins = 0;
  int conflicts = 0;
  std::int64_t seen = events.stream_info(stream).version;
  while (wins < wanted) {
    const std::string data =
        "{\"pid\":" + std::to_string(getpid()) + ",\"n\":" + std::to_string(wins) + "}";
    try {
      seen = events.append(stream, {{"Raced", data, {}, {}}}, strata::ExpectedVersion::exact(seen))
                 .version;
      ++wins;
    } catch (const strata::WrongExpectedVersion& lost) {
      ++conflicts;
      seen = lost.actual_version();
    }
  }
  std::cout << "wins " << wins << " conflicts " << conflicts << std::endl;
  return 0;
}

// Tries to claim keys 0..n-1 of `ns` with insert-if-absent; prints how many it won.
int kv_claim(strata::Store& store, const std::string& ns, int keys) {
  auto kv = store.kv(ns);
  int won = 0;
  for (int i = 0; i < keys; ++i) {
    strata::KvPut claim;
    claim.key = "key-" + std::to_string(i);
    claim.value = std::to_string(getpid());
    claim.if_absent = true;
    try {
      kv.put(claim);
      ++won;
    } catch (const strata::KeyVersionConflict&) {
    }
  }
  std::cout << "won " << won << std::endl;
  return 0;
}

// Leases and completes items of queue `name` until none is left; prints each completed payload.
int queue_work(strata::Store& store, const std::string& name) {
  auto queue = store.queue(name);
  for (auto batch = queue.lease(2); !batch.empty(); batch = queue.lease(2)) {
    for (const auto& item : batch) {
      queue.complete(item.token);
      std::cout << item.payload << "\n";
    }
  }
  std::cout.flush();
  return 0;
}

// Leases up to n items of queue `name` for lease_ms, says how many, then hangs until killed.
int queue_hold(strata::Store& store, const std::string& name, int n, int lease_ms) {
  const auto held =
      store.queue(name).lease(static_cast<std::size_t>(n), std::chrono::milliseconds(lease_ms));
  std::cout << "held " << held.size() << std::endl;
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}

// Takes lock `key` n times. Each time, in the critical section, it marks the key-value entry
// "holder" as its own (failing if another process's mark is there) and moves the fence to its
// token (failing if the fence is not below it), then clears its mark and releases.
int lock_race(strata::Store& store, const std::string& key, int n) {
  auto locks = store.locks();
  auto guarded = store.kv("lock-race");
  const std::string me = std::to_string(getpid());
  std::string tokens;
  for (int taken = 0; taken < n;) {
    const auto lock = locks.acquire(key, me, std::chrono::seconds(30), std::chrono::seconds(30));
    if (!lock) continue;
    strata::KvPut mark;
    mark.key = "holder";
    mark.value = me;
    mark.if_absent = true;
    guarded.put(mark);  // Throws KeyVersionConflict when another process holds the lock too.
    const auto fence = guarded.get("fence");
    if (fence && std::stoll(fence->value) >= lock->token) {
      std::cerr << "token " << lock->token << " is not above the fence " << fence->value << "\n";
      return 1;
    }
    guarded.put("fence", std::to_string(lock->token));
    guarded.erase("holder");
    if (!locks.release(key, lock->token)) return 1;
    tokens += " " + std::to_string(lock->token);
    ++taken;
  }
  std::cout << "tokens" << tokens << std::endl;
  return 0;
}

// Runs consumer `name` slowly (a batch of 5, 2 ms an event) until `total` event ids are claimed.
// Claiming an id twice would throw KeyVersionConflict and fail the process.
int consume(strata::Store& store, const std::string& name, std::size_t total) {
  strata::ConsumerOptions options;
  options.batch = 5;
  options.lease = std::chrono::seconds(1);
  strata::Consumer consumer = store.consumer(name, options);
  const auto handle = [](strata::Transaction& tx, const strata::RecordedEvent& event) {
    strata::KvPut claim;
    claim.key = event.id;
    claim.value = event.data;
    claim.if_absent = true;
    tx.kv("consumed").put(claim);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (store.kv("consumed").count() < total && std::chrono::steady_clock::now() < deadline) {
    consumer.poll(handle, std::chrono::milliseconds(200));
  }
  std::cout << "consumed " << store.kv("consumed").count() << std::endl;
  return 0;
}

// Appends batches of `size` events to `stream` until killed, printing the version after each.
int append_batches(strata::Store& store, const std::string& stream, int size) {
  std::vector<strata::EventData> batch(static_cast<std::size_t>(size));
  for (strata::EventData& event : batch) {
    event.type = "Filled";
    event.data = R"({"padding":"a line of text to make the batch take its time"})";
  }
  while (true) {
    std::cout << "appended " << store.events().append(stream, batch).version << std::endl;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: strata_test_worker URL START_MS open|append-race …\n";
    return 2;
  }
  const std::string url = argv[1];
  const std::string command = argv[3];
  try {
    const long long start_ms = std::stoll(argv[2]);
    if (command == "open") {
      wait_until(start_ms);
      strata::Store store = strata::Store::open(url);
      std::cout << "schema_version " << store.schema_version() << std::endl;
      return 0;
    }
    if (command == "append-race" && argc == 6) {
      strata::Store store = strata::Store::open(url);
      wait_until(start_ms);
      return append_race(store, argv[4], std::stoi(argv[5]));
    }
    if (command == "queue-work" && argc == 5) {
      strata::Store store = strata::Store::open(url);
      wait_until(start_ms);
      return queue_work(store, argv[4]);
    }
    if (command == "queue-hold" && argc == 7) {
      strata::Store store = strata::Store::open(url);
      return queue_hold(store, argv[4], std::stoi(argv[5]), std::stoi(argv[6]));
    }
    if (command == "kv-claim" && argc == 6) {
      strata::Store store = strata::Store::open(url);
      wait_until(start_ms);
      return kv_claim(store, argv[4], std::stoi(argv[5]));
    }
    if (command == "consume" && argc == 6) {
      strata::Store store = strata::Store::open(url);
      return consume(store, argv[4], std::stoul(argv[5]));
    }
    if (command == "append-batches" && argc == 6) {
      strata::Store store = strata::Store::open(url);
      return append_batches(store, argv[4], std::stoi(argv[5]));
    }
    if (command == "lock-race" && argc == 6) {
      strata::Store store = strata::Store::open(url);
      wait_until(start_ms);
      return lock_race(store, argv[4], std::stoi(argv[5]));
    }
    std::cerr << "unknown command " << command << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "worker: " << error.what() << "\n";
    return 1;
  }
}
