#include "strata/events.h"

#include <limits>
#include <unordered_map>

#include "core/backend.h"
#include "core/ids.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {
namespace detail {
namespace {

// Whether an earlier append that stored these events, starting at `first_version`, was made
// under the same expectation as this one.
bool same_expectation(ExpectedVersion expected, std::int64_t first_version) {
  switch (expected.kind()) {
    case ExpectedVersion::Kind::any:
      return true;
    case ExpectedVersion::Kind::no_stream:
      return first_version == 1;
    case ExpectedVersion::Kind::stream_exists:
      return first_version > 1;
    case ExpectedVersion::Kind::exact:
      return first_version == expected.version() + 1;
  }
  return false;
}

bool same_content(const PendingEvent& pending, const RecordedEvent& stored) {
  return pending.type == stored.type && pending.data == stored.data &&
         pending.metadata.has_value() == stored.metadata.has_value() &&
         (!pending.metadata || *pending.metadata == *stored.metadata);
}

[[noreturn]] void throw_taken(const AppendBatch& batch, const PendingEvent& event,
                              const RecordedEvent* stored) {
  std::string where = "the batch only in part";
  if (stored != nullptr) {
    where = "stream '" + stored->stream + "' at version " + std::to_string(stored->version);
  }
  throw Error(ErrorCode::already_exists, "event id " + event.id + " of the append to stream '" +
                                             batch.stream + "' is already stored, in " + where +
                                             ", with other content or place");
}

// Decides what a failed attempt means, given the stored events that share the batch's ids:
// an idempotent retry (returns the first result), a wrong expected version, or a taken id.
AppendResult resolve_failed_append(const AppendBatch& batch, const AppendAttempt& attempt,
                                   const std::vector<RecordedEvent>& stored) {
  if (stored.empty()) {
    if (attempt.outcome == AppendAttempt::Outcome::version_mismatch) {
      throw WrongExpectedVersion(batch.stream, batch.expected.to_string(), attempt.current_version);
    }
    throw Error(ErrorCode::conflict, "event ids of the append to stream '" + batch.stream +
                                         "' were taken by a concurrent writer that rolled back; "
                                         "retry");
  }
  std::unordered_map<std::string_view, const RecordedEvent*> by_id;
  for (const RecordedEvent& event : stored) by_id.emplace(event.id, &event);
  const RecordedEvent* first = nullptr;
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    const PendingEvent& event = batch.events[i];
    const auto found = by_id.find(event.id);
    const RecordedEvent* match = found == by_id.end() ? nullptr : found->second;
    if (i == 0) first = match;
    const bool in_place = match != nullptr && first != nullptr && match->stream == batch.stream &&
                          match->version == first->version + static_cast<std::int64_t>(i);
    if (!in_place || !same_content(event, *match)) throw_taken(batch, event, match);
  }
  if (!same_expectation(batch.expected, first->version)) {
    throw WrongExpectedVersion(batch.stream, batch.expected.to_string(), attempt.current_version);
  }
  const RecordedEvent* last = by_id.at(batch.events.back().id);
  return AppendResult{last->version, last->position};
}

std::vector<std::string> ids_of(const AppendBatch& batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.events.size());
  for (const PendingEvent& event : batch.events) ids.push_back(event.id);
  return ids;
}

[[noreturn]] void throw_tombstoned(const std::string& stream) {
  throw Error(ErrorCode::stream_deleted,
              "stream '" + stream + "' is deleted (tombstoned) and takes no more events");
}

AppendResult append_batch(EventOps& events, const AppendBatch& batch) {
  const AppendAttempt attempt = events.try_append(batch);
  switch (attempt.outcome) {
    case AppendAttempt::Outcome::appended:
      return attempt.result;
    case AppendAttempt::Outcome::order_conflict:
      throw Error(ErrorCode::conflict,
                  "stream '" + batch.stream +
                      "' was appended to by a transaction that began writing after this one; "
                      "retry the transaction");
    case AppendAttempt::Outcome::stream_deleted:
      throw_tombstoned(batch.stream);
    case AppendAttempt::Outcome::version_mismatch:
    case AppendAttempt::Outcome::duplicate_id:
      break;
  }
  return resolve_failed_append(batch, attempt, events.by_id(ids_of(batch)));
}

// An empty append writes nothing but still checks the expectation.
AppendResult append_nothing(EventOps& events, const std::string& stream, ExpectedVersion expected) {
  const StreamInfo info = events.stream_info(stream);
  if (!expected.holds_for(info.version)) {
    throw WrongExpectedVersion(stream, expected.to_string(), info.version);
  }
  if (!info.exists) return AppendResult{0, Position::start()};
  const auto last = events.read_stream(stream, info.version, Direction::backward, 1, std::nullopt);
  return AppendResult{info.version, last.empty() ? Position::start() : last.front().position};
}

// The streams from `options.after` on that start with `prefix`.
std::vector<StreamSummary> list_with_prefix(StreamOps& streams, const std::string& prefix,
                                            const StreamListOptions& options, std::size_t limit) {
  if (!options.after || *options.after < prefix) return streams.list(prefix, prefix, true, limit);
  return streams.list(prefix, *options.after, false, limit);
}

}  // namespace

void require_indexes(EventIndexOps& indexes, const EventFilter& filter) {
  if (filter.words && !indexes.has(EventIndex::text)) {
    throw Error(ErrorCode::not_found,
                "the store has no text index, which word filters and search read: add it with "
                "Events::add_index(EventIndex::text) (strata events index add text)");
  }
}

// A category's streams are its own name and the names starting with it and '-'. Names between
// the two ("c" < "c!" < "c-a") belong to other categories, so they are read apart.
std::vector<StreamSummary> list_streams(StreamOps& streams, const StreamListOptions& options) {
  if (!options.category) return list_with_prefix(streams, options.prefix, options, options.limit);
  const std::string& category = *options.category;
  std::vector<StreamSummary> page;
  if (!options.after || *options.after < category) {
    page = streams.list(category, category, true, 1);
    if (!page.empty() && page.front().name != category) page.clear();
  }
  if (page.size() == options.limit) return page;
  std::vector<StreamSummary> rest =
      list_with_prefix(streams, category + "-", options, options.limit - page.size());
  page.insert(page.end(), std::make_move_iterator(rest.begin()),
              std::make_move_iterator(rest.end()));
  return page;
}

void check_issued(EventOps& events, Position position) {
  if (position == Position::start()) return;
  constexpr auto kLargest = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (position.commit() <= kLargest && position.sequence() <= kLargest && events.issued(position)) {
    return;
  }
  throw Error(ErrorCode::invalid_argument,
              "position " + position.to_string() +
                  " was not handed out by this store: it is beyond the head of its feed (from "
                  "another store, or made up)");
}

}  // namespace detail

using detail::Call;
using detail::Session;

AppendResult Events::append(std::string_view stream, const std::vector<EventData>& events,
                            ExpectedVersion expected) const {
  detail::validate_stream_name(stream);
  if (events.empty()) {
    return detail::run_on_session(scope_, "events.append", Call::read, [&](Session& session) {
      return detail::append_nothing(session.events(), std::string(stream), expected);
    });
  }
  const detail::AppendBatch batch{std::string(stream), expected, detail::prepare_events(events),
                                  detail::stable_hash64(stream)};
  // The batch's event ids are fixed: sent again, it returns the first result.
  return detail::run_on_session(
      scope_, "events.append", Call::idempotent_write,
      [&](Session& session) { return detail::append_batch(session.events(), batch); });
}

AppendResult Events::append(std::string_view stream, const EventData& event,
                            ExpectedVersion expected) const {
  return append(stream, std::vector<EventData>{event}, expected);
}

std::vector<RecordedEvent> Events::read_stream(std::string_view stream,
                                               const StreamReadOptions& options) const {
  detail::validate_stream_name(stream);
  const bool forward = options.direction == Direction::forward;
  const std::int64_t from = options.from.value_or(forward ? 1 : INT64_MAX);
  detail::validate_count("read limit", options.limit);
  if (options.limit == 0) return {};
  return detail::run_on_session(scope_, "events.read_stream", Call::read, [&](Session& session) {
    return session.events().read_stream(stream, from, options.direction, options.limit,
                                        options.as_of);
  });
}

std::vector<RecordedEvent> Events::read_category(std::string_view category, Position after,
                                                 std::size_t limit,
                                                 const EventFilter& filter) const {
  detail::validate_category(category);
  AllReadOptions options;
  options.after = after;
  options.limit = limit;
  options.category = std::string(category);
  options.filter = filter;
  return read_all(options);
}

std::vector<RecordedEvent> Events::read_all(const AllReadOptions& options) const {
  detail::validate_read_filter(options);
  detail::validate_count("read limit", options.limit);
  if (options.limit == 0) return {};
  return detail::run_on_session(scope_, "events.read_all", Call::read, [&](Session& session) {
    // A backward read's start is checked first: from beyond the head it would read from the head.
    if (options.before) detail::check_issued(session.events(), *options.before);
    detail::require_indexes(session.indexes(), options.filter);
    auto events = session.events().read_all(options);
    // Only an empty page can be a reader beyond the head: it pays the check.
    if (events.empty()) detail::check_issued(session.events(), options.after);
    return events;
  });
}

std::uint64_t Events::count(const AllReadOptions& options) const {
  detail::validate_read_filter(options);
  return detail::run_on_session(scope_, "events.count", Call::read, [&](Session& session) {
    if (options.before) detail::check_issued(session.events(), *options.before);
    detail::check_issued(session.events(), options.after);
    detail::require_indexes(session.indexes(), options.filter);
    return session.events().count(options);
  });
}

StreamInfo Events::stream_info(std::string_view stream) const {
  detail::validate_stream_name(stream);
  return detail::run_on_session(scope_, "events.stream_info", Call::read, [&](Session& session) {
    return session.events().stream_info(stream);
  });
}

std::vector<RecordedEvent> Events::search(std::string_view words, Position after,
                                          std::size_t limit) const {
  AllReadOptions options;
  options.after = after;
  options.limit = limit;
  options.filter.words = std::string(words);
  return read_all(options);
}

bool Events::add_index(EventIndex index) const {
  detail::validate_event_index(index);
  detail::refuse_in_transaction(scope_, "adding an event index");
  return detail::run_on_session(scope_, "events.add_index", Call::idempotent_write,
                                [&](Session& session) { return session.indexes().add(index); });
}

void Events::drop_index(EventIndex index) const {
  detail::validate_event_index(index);
  detail::refuse_in_transaction(scope_, "dropping an event index");
  detail::run_on_session(scope_, "events.drop_index", Call::idempotent_write,
                         [&](Session& session) {
                           session.indexes().drop(index);
                           return true;
                         });
}

std::vector<EventIndex> Events::indexes() const {
  return detail::run_on_session(scope_, "events.indexes", Call::read, [&](Session& session) {
    std::vector<EventIndex> found;
    for (const EventIndex index : {EventIndex::metadata, EventIndex::data, EventIndex::text}) {
      if (session.indexes().has(index)) found.push_back(index);
    }
    return found;
  });
}

std::vector<StreamSummary> Events::list_streams(const StreamListOptions& options) const {
  detail::validate_stream_listing(options);
  return detail::run_on_session(scope_, "events.list_streams", Call::read, [&](Session& session) {
    return detail::list_streams(session.streams(), options);
  });
}

std::size_t Events::delete_stream(std::string_view stream) const {
  return truncate_stream(stream, INT64_MAX);
}

std::size_t Events::tombstone_stream(std::string_view stream) const {
  detail::validate_stream_name(stream);
  return *detail::run_on_session(
      scope_, "events.tombstone_stream", Call::write,
      [&](Session& session) { return session.streams().remove(stream, INT64_MAX, true); });
}

std::size_t Events::truncate_stream(std::string_view stream, std::int64_t before_version) const {
  detail::validate_stream_name(stream);
  if (before_version < 1) {
    throw Error(
        ErrorCode::invalid_argument,
        "truncate before version " + std::to_string(before_version) + ": must be at least 1");
  }
  const auto removed = detail::run_on_session(
      scope_, "events.truncate_stream", Call::write,
      [&](Session& session) { return session.streams().remove(stream, before_version, false); });
  if (!removed) detail::throw_tombstoned(std::string(stream));
  return *removed;
}

void Events::set_stream_settings(std::string_view stream, const StreamSettings& settings) const {
  detail::validate_stream_name(stream);
  if (settings.max_age) detail::validate_duration("stream max_age", *settings.max_age);
  if (settings.max_count) {
    detail::validate_count("stream max_count", static_cast<std::uint64_t>(*settings.max_count), 1);
  }
  detail::run_on_session(scope_, "events.set_stream_settings", Call::write, [&](Session& session) {
    session.streams().set_settings(stream, settings);
    return true;
  });
}

StreamSettings Events::stream_settings(std::string_view stream) const {
  detail::validate_stream_name(stream);
  return detail::run_on_session(
      scope_, "events.stream_settings", Call::read,
      [&](Session& session) { return session.streams().settings(stream); });
}

std::size_t Events::enforce_retention() const {
  return detail::run_on_session(
      scope_, "events.enforce_retention", Call::write,
      [&](Session& session) { return session.streams().enforce_retention(); });
}

}  // namespace strata
