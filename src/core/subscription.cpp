#include "strata/subscription.h"

#include "core/backend.h"
#include "core/ids.h"
#include "core/reconnect.h"
#include "core/session_runner.h"
#include "core/subscription_feed.h"
#include "core/validate.h"

namespace strata {
namespace detail {

AllReadOptions feed_options(Position after, const std::optional<std::string>& category,
                            const std::optional<std::string>& stream, const EventFilter& filter,
                            std::size_t batch) {
  AllReadOptions read;
  read.after = after;
  read.category = category;
  read.stream = stream;
  read.filter = filter;
  read.limit = batch;
  validate_read_filter(read);
  validate_count("batch", batch, 1);
  return read;
}

std::vector<RecordedEvent> read_or_wait(const Scope& scope, const char* operation,
                                        const AllReadOptions& read,
                                        std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Backoff backoff;
  while (true) {
    std::vector<RecordedEvent> events;
    try {
      events = run_on_session(scope, operation, Call::read, [&](Session& session) {
        require_indexes(session.indexes(), read.filter);
        return session.events().read_all(read);
      });
    } catch (const Error& error) {
      if (!is_transient(error)) throw;
      if (!pause_before_retry(backoff, deadline)) return {};  // Asked again by the next poll.
      continue;
    }
    if (!events.empty() || std::chrono::steady_clock::now() >= deadline) return events;
    scope.backend->wait_for_events(deadline);
  }
}

}  // namespace detail

Subscription::Subscription(detail::Scope scope, const SubscriptionOptions& options)
    : scope_(std::move(scope)),
      read_(detail::feed_options(options.after, options.category, options.stream, options.filter,
                                 options.batch)) {
  if (read_.after != Position::start()) {
    detail::run_on_session(scope_, "subscription.open", detail::Call::read,
                           [&](detail::Session& session) {
                             detail::check_issued(session.events(), read_.after);
                             return true;
                           });
  }
}

std::vector<RecordedEvent> Subscription::poll(std::chrono::milliseconds wait) {
  detail::validate_duration("poll wait", wait, std::chrono::milliseconds(0));
  auto events = detail::read_or_wait(scope_, "subscription.poll", read_, wait);
  if (!events.empty()) read_.after = events.back().position;
  return events;
}

std::size_t consumer_group_member(std::string_view stream, std::size_t group_size) {
  if (group_size == 0) throw Error(ErrorCode::invalid_argument, "a group size must be >= 1");
  return static_cast<std::size_t>(detail::stable_hash64(stream) % group_size);
}

}  // namespace strata
