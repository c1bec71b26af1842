#include <thread>

#include "core/backend.h"
#include "core/ids.h"
#include "core/reconnect.h"
#include "core/session_runner.h"
#include "core/subscription_feed.h"
#include "core/validate.h"
#include "strata/store.h"

namespace strata {

struct Consumer::State {
  std::shared_ptr<detail::Backend> backend;
  std::string name;
  ConsumerOptions options;
  AllReadOptions read;  // Its `after` is the stored checkpoint, once `checkpoint_known`.
  bool checkpoint_known = false;
  // The member's lock: one process polls each member; the others stand by.
  std::optional<LeaderElection> member_lock;
  std::chrono::steady_clock::time_point renew_at;
  detail::Backoff backoff;  // Between polls that found the database unreachable.

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Gives up the member lock, so a standby takes over at once.
  ~State() {
    try {
      if (member_lock) member_lock->resign();
    } catch (const Error&) {
      // It lapses by itself.
    }
  }

  detail::Scope scope() const { return detail::Scope{backend}; }
  std::int64_t member() const { return static_cast<std::int64_t>(options.member); }
};

Consumer Store::consumer(std::string_view name, const ConsumerOptions& options) const {
  detail::validate_name("consumer name", name, kMaxConsumerNameBytes);
  detail::validate_count("consumer group size", options.group_size, 1);
  if (options.member >= options.group_size) {
    throw Error(ErrorCode::invalid_argument, "consumer member " + std::to_string(options.member) +
                                                 " is not in a group of " +
                                                 std::to_string(options.group_size));
  }
  detail::validate_duration("consumer lease", options.lease);
  auto state = std::make_unique<Consumer::State>();
  state->backend = backend_;
  state->name = std::string(name);
  state->options = options;
  state->read = detail::feed_options(Position::start(), options.category, options.stream,
                                     options.filter, options.batch);
  // This object, as the member lock's candidate.
  state->member_lock.emplace(
      Locks(state->scope()),
      "strata.consumer/" + state->name + "/" + std::to_string(options.member),
      detail::new_uuid_v7(), options.lease);
  return Consumer(std::move(state));
}

Consumer::Consumer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;

Consumer::~Consumer() = default;

// Takes or renews the member's lock, renewing once half of it has run.
bool Consumer::hold_member_lock() {
  State& state = *state_;
  const auto now = std::chrono::steady_clock::now();
  if (state.member_lock->is_leader() && now < state.renew_at) return true;
  if (!state.member_lock->campaign()) return false;  // Another process runs this member.
  state.renew_at = now + state.options.lease / 2;
  return true;
}

std::size_t Consumer::poll(const EventHandler& handler, std::chrono::milliseconds wait) {
  detail::validate_duration("poll wait", wait, std::chrono::milliseconds(0));
  State& state = *state_;
  try {
    const std::size_t handled = handle_next_batch(handler, wait);
    state.backoff.reset();
    return handled;
  } catch (const Error& error) {
    if (!detail::is_transient(error)) throw;
    // The batch may have committed before the connection was lost: read the checkpoint again.
    state.checkpoint_known = false;
    std::this_thread::sleep_for(
        std::max(std::min(state.backoff.next(), wait), std::chrono::milliseconds(50)));
    return 0;
  }
}

std::size_t Consumer::handle_next_batch(const EventHandler& handler,
                                        std::chrono::milliseconds wait) {
  State& state = *state_;
  if (!hold_member_lock()) {
    std::this_thread::sleep_for(wait);  // A standby: another process runs this member.
    return 0;
  }
  if (!state.checkpoint_known) {
    state.read.after = checkpoint();
    state.checkpoint_known = true;
  }
  const auto events = detail::read_or_wait(state.scope(), "consumer.poll", state.read, wait);
  const std::string member = std::to_string(state.options.member);
  const detail::Labels labels = {{"consumer", state.name}, {"member", member}};
  if (events.empty()) {
    state.backend->metrics().set("strata_consumer_lag_seconds", labels, 0);
    return 0;
  }
  const Position from = state.read.after;
  const Position to = events.back().position;
  state.checkpoint_known = false;  // Until the batch commits.
  state.backend->run_transaction([&](detail::Session& session) {
    Transaction tx(detail::Scope{state.backend, &session});
    for (const RecordedEvent& event : events) {
      if (consumer_group_member(event.stream, state.options.group_size) != state.options.member) {
        continue;
      }
      handler(tx, event);
    }
    if (!session.consumers().advance(state.name, state.member(), from, to)) {
      throw Error(ErrorCode::conflict, "consumer '" + state.name + "' member " +
                                           std::to_string(state.options.member) +
                                           " was moved on by another process; nothing applied");
    }
  });
  state.read.after = to;
  state.checkpoint_known = true;
  const auto age = std::chrono::microseconds(detail::now_micros() - events.back().created_at);
  state.backend->metrics().add("strata_consumer_events_total", labels,
                               static_cast<double>(events.size()));
  state.backend->metrics().set("strata_consumer_lag_seconds", labels,
                               std::chrono::duration<double>(age).count());
  return events.size();
}

Position Consumer::checkpoint() const {
  const State& state = *state_;
  return detail::run_on_session(state.scope(), "consumer.checkpoint", detail::Call::read,
                                [&](detail::Session& session) {
                                  return session.consumers().checkpoint(state.name, state.member());
                                })
      .value_or(Position::start());
}

void Consumer::reset(Position position) {
  State& state = *state_;
  detail::run_on_session(state.scope(), "consumer.reset", detail::Call::write,
                         [&](detail::Session& session) {
                           detail::check_issued(session.events(), position);
                           session.consumers().reset(state.name, state.member(), position);
                           return true;
                         });
  state.checkpoint_known = false;
}

}  // namespace strata
