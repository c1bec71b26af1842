// Tells subscribers that events were appended: NOTIFY on the store's events channel, sent from
// a connection of its own once the appending transaction has committed, never inside it. NOTIFY
// holds a database-wide lock from its commit until the commit is durable; inside appending
// transactions it made concurrent appends commit one at a time (8 writers fell to a third of
// their speed). One NOTIFY goes at a time, at most one every kInterval, and the appends made
// meanwhile share the next: at most one per appending transaction, and under load far fewer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "postgres/pq/pq.h"

namespace strata::detail {

class EventNotifier {
 public:
  using Connect = std::function<std::unique_ptr<pq::Connection>()>;

  // `channel` is the quoted channel name.
  EventNotifier(Connect connect, const std::string& quoted_channel);
  EventNotifier(const EventNotifier&) = delete;
  EventNotifier& operator=(const EventNotifier&) = delete;
  // Stops the thread, after a NOTIFY under way.
  ~EventNotifier();

  // Records that a transaction appended events and committed; the NOTIFY follows on the
  // notifier's thread (started on first use). Never waits for the server. Thread-safe.
  void appended();

 private:
  void loop();

  // Short beside the 10 ms a subscriber may take to see an append; long enough that a busy
  // writer does not double the server's work with notifications.
  static constexpr std::chrono::milliseconds kInterval{2};

  const Connect connect_;
  // Without waiting for its commit to be durable: a lost notification costs subscribers a poll.
  const std::string notify_sql_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace strata::detail
