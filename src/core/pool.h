// A bounded, thread-safe pool of connections, shared by every backend.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "strata/error.h"

namespace strata::detail {

struct PoolSettings {
  int max_size = 10;
  int min_size = 0;
  std::chrono::milliseconds acquire_timeout{5000};
  int connect_attempts = 3;  // Set-up is retried with exponential backoff when unavailable.
  std::chrono::milliseconds first_backoff{50};
  std::string name;  // What messages call the pool: the store's URL, without its password.
};

// What a pool is doing, for the metrics.
struct PoolStats {
  int in_use = 0;
  int idle = 0;
  int waiting = 0;
  std::uint64_t acquisitions = 0;
  std::uint64_t timeouts = 0;
  double wait_seconds = 0;  // Spent by callers waiting for a connection, in all.
};

template <class Connection>
class Pool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;
  // Whether a connection handed back may be reused; a broken one is dropped and replaced later.
  using Reusable = std::function<bool(Connection&)>;

  // Hands a connection back to its pool when it goes out of scope.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->give_back(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Pool(PoolSettings settings, Factory factory, Reusable reusable)
      : settings_(settings), factory_(std::move(factory)), reusable_(std::move(reusable)) {
    for (int i = 0; i < settings_.min_size; ++i) idle_.push_back(connect());
    total_ = static_cast<int>(idle_.size());
  }

  // A connection, waiting up to acquire_timeout for one to be free. When the server refuses a
  // new one while others of this pool are open (it is there, but full), waits for one of those.
  // Throws Error(timeout) naming the pool when none frees up in time, Error(unavailable) when no
  // connection can be opened at all. Thread-safe.
  Lease acquire() {
    const auto deadline = std::chrono::steady_clock::now() + settings_.acquire_timeout;
    std::unique_lock lock(mutex_);
    std::optional<std::string> refused;  // Why the server would not open one more.
    while (true) {
      if (!wait_for_turn(lock, deadline, refused.has_value())) {
        ++timeouts_;
        throw Error(ErrorCode::timeout, timeout_message(refused));
      }
      ++acquisitions_;
      if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
      }
      ++total_;
      lock.unlock();
      try {
        return Lease(this, connect());
      } catch (const Error& error) {
        lock.lock();
        --total_;
        --acquisitions_;
        freed_.notify_one();
        if (error.code() != ErrorCode::unavailable || total_ == 0) throw;
        refused = error.what();
      }
    }
  }

  // Connections in use and idle, callers waiting, and the totals so far. Thread-safe.
  PoolStats stats() {
    std::lock_guard lock(mutex_);
    const int idle = static_cast<int>(idle_.size());
    return PoolStats{total_ - idle, idle, waiting_, acquisitions_, timeouts_, wait_seconds_};
  }

  // Closes every idle connection, e.g. after one turned out dead: the server may have restarted
  // and the others would fail the same way on their next use.
  void drop_idle() {
    std::vector<std::unique_ptr<Connection>> dropped;
    {
      std::lock_guard lock(mutex_);
      dropped.swap(idle_);
      total_ -= static_cast<int>(dropped.size());
    }
    freed_.notify_all();
  }

 private:
  // Waits until a connection is idle or, unless `idle_only`, one more may be opened. Returns
  // false at the deadline.
  bool wait_for_turn(std::unique_lock<std::mutex>& lock,
                     std::chrono::steady_clock::time_point deadline, bool idle_only) {
    const auto start = std::chrono::steady_clock::now();
    ++waiting_;
    const bool ready = freed_.wait_until(lock, deadline, [&] {
      return !idle_.empty() || (!idle_only && total_ < settings_.max_size);
    });
    --waiting_;
    wait_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return ready;
  }

  std::string timeout_message(const std::optional<std::string>& refused) const {
    const std::string waited = std::to_string(settings_.acquire_timeout.count()) + " ms";
    if (refused) {
      return "connection pool of " + settings_.name + ": the server refused more than the " +
             std::to_string(total_) + " connections open (" + *refused +
             "), and none of those came free within " + waited + " (acquire_timeout)";
    }
    return "connection pool of " + settings_.name + " exhausted: all " +
           std::to_string(settings_.max_size) + " connections stayed in use for " + waited +
           " (acquire_timeout; raise max_connections or acquire_timeout)";
  }

  std::unique_ptr<Connection> connect() {
    auto backoff = settings_.first_backoff;
    for (int attempt = 1;; ++attempt) {
      try {
        return factory_();
      } catch (const Error& error) {
        if (error.code() != ErrorCode::unavailable || attempt >= settings_.connect_attempts) {
          throw;
        }
      }
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
  }

  void give_back(std::unique_ptr<Connection> connection) {
    const bool keep = reusable_(*connection);
    if (!keep) connection.reset();  // Close outside the lock's critical path below.
    std::lock_guard lock(mutex_);
    if (keep) {
      idle_.push_back(std::move(connection));
    } else {
      --total_;
    }
    freed_.notify_one();
  }

  const PoolSettings settings_;
  const Factory factory_;
  const Reusable reusable_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int total_ = 0;
  int waiting_ = 0;
  std::uint64_t acquisitions_ = 0;
  std::uint64_t timeouts_ = 0;
  double wait_seconds_ = 0;
};

}  // namespace strata::detail
