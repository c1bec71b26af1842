#include "strata/queue.h"

#include <algorithm>
#include <random>

#include "core/backend.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/lease_token.h"
#include "core/queue_rules.h"
#include "core/reconnect.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

std::vector<detail::PendingMessage> prepare_messages(const std::vector<QueueMessage>& messages) {
  std::vector<detail::PendingMessage> pending;
  pending.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const QueueMessage& message = messages[i];
    const std::string label = "item " + std::to_string(i);
    if (message.payload.size() > kMaxPayloadBytes) {
      invalid(label + " payload of " + std::to_string(message.payload.size()) +
              " bytes is over the limit of " + std::to_string(kMaxPayloadBytes) + " bytes");
    }
    if (message.headers && !detail::is_valid_json(*message.headers)) {
      invalid(label + " headers are not valid JSON");
    }
    detail::validate_duration(label + " delay", message.delay, std::chrono::milliseconds(0));
    if (message.expires_in) detail::validate_duration(label + " expiry", *message.expires_in);
    if (message.dedup_key) {
      if (message.dedup_key->empty()) invalid(label + " dedup key is empty");
      detail::validate_text(label + " dedup key", *message.dedup_key, kMaxDedupKeyBytes);
    }
    detail::PendingMessage item;
    item.payload = message.payload;
    if (message.headers) item.headers = *message.headers;
    item.priority = message.priority;
    item.delay_ms = message.delay.count();
    if (message.expires_in) item.expires_in_ms = message.expires_in->count();
    if (message.dedup_key) item.dedup_key = *message.dedup_key;
    pending.push_back(item);
  }
  return pending;
}

std::optional<std::int64_t> milliseconds(std::optional<std::chrono::milliseconds> duration,
                                         const char* what) {
  if (!duration) return std::nullopt;
  detail::validate_duration(what, *duration);
  return duration->count();
}

// Full jitter between half and all of the backoff, so that retries of many items spread out.
double jitter() {
  return std::uniform_real_distribution<double>(0.5, 1.0)(detail::thread_random());
}

[[noreturn]] void lease_lost(const std::string& queue, std::string_view token) {
  throw LeaseLost("the lease of token " + std::string(token) + " on queue '" + queue +
                  "' no longer holds (it ran out, or the item was already finished)");
}

}  // namespace

using detail::Call;
using detail::Session;

Queue::Queue(detail::Scope scope, std::string name)
    : scope_(std::move(scope)), name_(std::move(name)) {
  detail::validate_queue_name(name_);
}

void Queue::create(const QueueSettings& settings) const {
  detail::validate_duration("lease", settings.lease);
  detail::validate_duration("retry_base", settings.retry_base);
  detail::validate_duration("retry_cap", settings.retry_cap);
  if (settings.expire_after) detail::validate_duration("expire_after", *settings.expire_after);
  if (settings.max_attempts < 1) invalid("max_attempts must be at least 1");
  detail::run_on_session(scope_, "queue.create", Call::write, [&](Session& session) {
    session.queues().create(name_, settings);
    return true;
  });
}

std::vector<Produced> Queue::produce(const std::vector<QueueMessage>& messages) const {
  const auto pending = prepare_messages(messages);
  if (pending.empty()) return {};
  auto produced = detail::run_on_session(
      scope_, "queue.produce", Call::write,
      [&](Session& session) { return session.queues().produce(name_, pending); });
  count("strata_queue_produced_total", produced.size());
  return produced;
}

std::vector<LeasedMessage> Queue::lease(std::size_t max_items,
                                        std::optional<std::chrono::milliseconds> lease_for,
                                        std::chrono::milliseconds wait) const {
  const auto lease_ms = milliseconds(lease_for, "lease");
  detail::validate_duration("lease wait", wait, std::chrono::milliseconds(0));
  detail::validate_count("items to lease", max_items);
  if (max_items == 0) return {};
  const auto until = std::chrono::steady_clock::now() + wait;
  const bool waiting = wait.count() > 0 && scope_.session == nullptr;
  detail::Backoff backoff;
  while (true) {
    const std::string lease = detail::new_lease();
    std::vector<LeasedMessage> leased;
    try {
      leased = detail::run_on_session(scope_, "queue.lease", Call::write, [&](Session& session) {
        return session.queues().lease(name_, max_items, lease_ms, lease);
      });
    } catch (const Error& error) {
      // A waiting lease rides out an unreachable database. Items a lost call may have leased
      // come back when their lease runs out.
      if (!waiting || !detail::is_transient(error)) throw;
      if (!detail::pause_before_retry(backoff, until)) return {};
      continue;
    }
    // By priority, then in the order produced.
    std::sort(leased.begin(), leased.end(), [](const LeasedMessage& a, const LeasedMessage& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    });
    for (LeasedMessage& item : leased) item.token = detail::format_lease_token(item.id, lease);
    count("strata_queue_leased_total", leased.size());
    if (!leased.empty() || scope_.session != nullptr || std::chrono::steady_clock::now() >= until) {
      return leased;
    }
    scope_.backend->wait_for_work(until);
  }
}

void Queue::extend(std::string_view token,
                   std::optional<std::chrono::milliseconds> lease_for) const {
  const auto lease_ms = milliseconds(lease_for, "lease");
  const detail::LeaseToken held = detail::parse_lease_token(token);
  if (!detail::run_on_session(scope_, "queue.extend", Call::write, [&](Session& session) {
        return session.queues().extend(name_, held, lease_ms);
      })) {
    lease_lost(name_, token);
  }
}

void Queue::complete(std::string_view token) const {
  if (complete(std::vector<std::string>{std::string(token)}) == 0) lease_lost(name_, token);
}

std::size_t Queue::complete(const std::vector<std::string>& tokens) const {
  if (tokens.empty()) return 0;
  std::vector<detail::LeaseToken> held;
  held.reserve(tokens.size());
  for (const std::string& token : tokens) held.push_back(detail::parse_lease_token(token));
  // Never sent again: a completion applied before the connection was lost would then find its
  // leases gone and report them lost.
  const std::size_t completed = detail::run_on_session(
      scope_, "queue.complete", Call::write,
      [&](Session& session) { return session.queues().complete(name_, held); });
  count("strata_queue_completed_total", completed);
  return completed;
}

void Queue::count(std::string_view metric, std::size_t items) const {
  if (items > 0) {
    scope_.backend->metrics().add(metric, {{"queue", name_}}, static_cast<double>(items));
  }
}

void Queue::retry(std::string_view token, std::optional<std::chrono::milliseconds> delay) const {
  if (delay) detail::validate_duration("retry delay", *delay, std::chrono::milliseconds(0));
  const std::optional<std::int64_t> delay_ms =
      delay ? std::optional<std::int64_t>(delay->count()) : std::nullopt;
  const double spread = jitter();
  const detail::LeaseToken held = detail::parse_lease_token(token);
  if (!detail::run_on_session(scope_, "queue.retry", Call::write, [&](Session& session) {
        return session.queues().retry(name_, held, delay_ms, spread);
      })) {
    lease_lost(name_, token);
  }
}

void Queue::fail(std::string_view token, std::string_view reason) const {
  detail::validate_text("fail reason", reason, kMaxFailReasonBytes);
  const detail::LeaseToken held = detail::parse_lease_token(token);
  if (!detail::run_on_session(scope_, "queue.fail", Call::write, [&](Session& session) {
        return session.queues().fail(name_, held, reason);
      })) {
    lease_lost(name_, token);
  }
}

QueueStats Queue::stats() const {
  return detail::run_on_session(scope_, "queue.stats", Call::read,
                                [&](Session& session) { return session.queues().stats(name_); });
}

void Queue::pause() const {
  detail::run_on_session(scope_, "queue.pause", Call::write, [&](Session& session) {
    session.queues().set_paused(name_, true);
    return true;
  });
}

void Queue::resume() const {
  detail::run_on_session(scope_, "queue.resume", Call::write, [&](Session& session) {
    session.queues().set_paused(name_, false);
    return true;
  });
}

std::size_t Queue::purge() const {
  return detail::run_on_session(scope_, "queue.purge", Call::write,
                                [&](Session& session) { return session.queues().purge(name_); });
}

std::vector<DeadLetter> Queue::dead_letters(std::int64_t after_id, std::size_t limit) const {
  detail::validate_count("dead letter limit", limit);
  if (limit == 0) return {};
  return detail::run_on_session(scope_, "queue.dead_letters", Call::read, [&](Session& session) {
    return session.queues().dead_letters(name_, after_id, limit);
  });
}

std::size_t Queue::requeue(const std::vector<std::int64_t>& ids) const {
  if (ids.empty()) return 0;
  return detail::run_on_session(scope_, "queue.requeue", Call::write, [&](Session& session) {
    return session.queues().requeue(name_, ids);
  });
}

std::size_t Queue::requeue_all() const {
  return detail::run_on_session(scope_, "queue.requeue_all", Call::write, [&](Session& session) {
    return session.queues().requeue(name_, std::nullopt);
  });
}

std::size_t Queue::purge_dead() const {
  return detail::run_on_session(scope_, "queue.purge_dead", Call::write, [&](Session& session) {
    return session.queues().purge_dead(name_);
  });
}

}  // namespace strata

namespace strata::detail {

std::int64_t backoff_ms(const QueueConfig& config, std::int64_t attempt, double jitter) {
  std::int64_t delay = config.retry_base_ms;
  for (std::int64_t i = 1; i < attempt && delay < config.retry_cap_ms; ++i) delay *= 2;
  return static_cast<std::int64_t>(static_cast<double>(std::min(delay, config.retry_cap_ms)) *
                                   jitter);
}

std::optional<std::int64_t> retry_delay_ms(const QueueConfig& config, std::int64_t attempts,
                                           std::optional<std::int64_t> delay_ms, double jitter) {
  if (attempts >= config.max_attempts) return std::nullopt;
  return delay_ms.value_or(backoff_ms(config, attempts, jitter));
}

void throw_unknown_queue(std::string_view queue) {
  throw Error(ErrorCode::not_found,
              "queue '" + std::string(queue) + "' does not exist (create it first)");
}

}  // namespace strata::detail
