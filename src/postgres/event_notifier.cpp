#include "postgres/event_notifier.h"

namespace strata::detail {

EventNotifier::EventNotifier(Connect connect, const std::string& quoted_channel)
    : connect_(std::move(connect)),
      notify_sql_("BEGIN; SET LOCAL synchronous_commit TO off; NOTIFY " + quoted_channel +
                  "; COMMIT") {}

EventNotifier::~EventNotifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventNotifier::appended() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  wake_.notify_all();
}

void EventNotifier::loop() {
  std::unique_ptr<pq::Connection> connection;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || pending_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    const auto sent = std::chrono::steady_clock::now();
    try {
      if (!connection || connection->is_broken()) connection = connect_();
      connection->exec(notify_sql_);
    } catch (const std::exception&) {
      // Subscribers poll meanwhile; the next append tries again.
      connection.reset();
    }
    lock.lock();
    if (wake_.wait_until(lock, sent + kInterval, [&] { return stopping_; })) return;
  }
}

}  // namespace strata::detail
