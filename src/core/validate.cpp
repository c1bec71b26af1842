#include "core/validate.h"

#include <cctype>
#include <limits>
#include <unordered_set>

#include "core/ids.h"
#include "core/json.h"
#include "core/utf8.h"
#include "strata/error.h"
#include "strata/lock.h"
#include "strata/queue.h"
#include "strata/workflow.h"

namespace strata::detail {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

// Quotes a user-supplied name for a message, cut short so a huge input cannot flood it.
std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 80;
  if (text.size() <= kShown) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kShown)) + "…' (" + std::to_string(text.size()) +
         " bytes)";
}

bool has_control_character(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  }
  return false;
}

std::string event_label(std::size_t index) {
  return "event " + std::to_string(index);
}

void validate_event_filter(const EventFilter& filter) {
  if (filter.types.size() > kMaxFilterTypes) {
    invalid("a filter of " + std::to_string(filter.types.size()) + " event types has more than " +
            std::to_string(kMaxFilterTypes));
  }
  for (const std::string& type : filter.types) {
    validate_name("filter event type", type, kMaxEventTypeBytes);
  }
  if (filter.since && filter.until && *filter.until < *filter.since) {
    invalid("filter until " + format_timestamp(*filter.until) + " is before since " +
            format_timestamp(*filter.since));
  }
  if (filter.metadata) validate_queryable_json("metadata filter", *filter.metadata);
  if (filter.data) validate_queryable_json("data filter", *filter.data);
  if (filter.words) search_terms(*filter.words);
}

}  // namespace

std::vector<std::string> search_terms(std::string_view words) {
  if (!is_valid_utf8(words)) invalid("search words are not valid UTF-8");
  std::vector<std::string> terms;
  std::string term;
  for (const char c : words) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || byte >= 0x80) {
      term += static_cast<char>(std::tolower(byte));
    } else if (!term.empty()) {
      terms.push_back(std::move(term));
      term.clear();
    }
  }
  if (!term.empty()) terms.push_back(std::move(term));
  if (terms.empty()) invalid("search needs at least one word");
  return terms;
}

void validate_duration(std::string_view what, std::chrono::milliseconds duration,
                       std::chrono::milliseconds minimum) {
  if (duration < minimum || duration > kMaxDuration) {
    invalid(std::string(what) + " of " + std::to_string(duration.count()) +
            " ms is out of range: it must be from " + std::to_string(minimum.count()) +
            " ms to 100 years (" + std::to_string(kMaxDuration.count()) + " ms)");
  }
}

void validate_count(std::string_view what, std::uint64_t count, std::uint64_t minimum) {
  if (count < minimum || count > kMaxCount) {
    // A negative count wrapped into an unsigned one is shown as the number the caller gave.
    const std::string shown_count =
        count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
            ? std::to_string(static_cast<std::int64_t>(count))
            : std::to_string(count);
    invalid(std::string(what) + " of " + shown_count + " is out of range: it must be from " +
            std::to_string(minimum) + " to " + std::to_string(kMaxCount));
  }
}

void validate_text(std::string_view what, std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    invalid(std::string(what) + " of " + std::to_string(text.size()) + " bytes is longer than " +
            std::to_string(max_bytes) + " bytes");
  }
  if (!is_valid_utf8(text)) invalid(std::string(what) + " is not valid UTF-8");
}

void validate_queryable_json(std::string_view what, std::string_view json) {
  if (!is_valid_json(json)) invalid(std::string(what) + " is not valid JSON");
  if (!is_queryable_json(json)) {
    invalid(std::string(what) +
            " has a number that not every backend can index: it may have at most " +
            std::to_string(kMaxJsonNumberDigits) + " digits, an exponent within ±" +
            std::to_string(kMaxJsonExponent) + " and a magnitude from 1e-" +
            std::to_string(kMaxJsonMagnitude) + " to 1e" + std::to_string(kMaxJsonMagnitude));
  }
}

void validate_name(std::string_view what, std::string_view name, std::size_t max_bytes) {
  if (name.empty()) invalid(std::string(what) + " must not be empty");
  if (name.size() > max_bytes) {
    invalid(std::string(what) + " " + shown(name) + " is longer than " + std::to_string(max_bytes) +
            " bytes");
  }
  if (!is_valid_utf8(name)) invalid(std::string(what) + " is not valid UTF-8");
  if (has_control_character(name)) {
    invalid(std::string(what) + " " + shown(name) + " contains a control character");
  }
}

void validate_stream_name(std::string_view stream) {
  validate_name("stream name", stream, kMaxStreamNameBytes);
}

void validate_category(std::string_view category) {
  validate_name("category", category, kMaxStreamNameBytes);
  if (category.find('-') != std::string_view::npos) {
    invalid("category " + shown(category) + " must not contain '-'");
  }
}

void validate_stream_listing(const StreamListOptions& options) {
  if (!options.prefix.empty()) validate_name("stream prefix", options.prefix, kMaxStreamNameBytes);
  if (options.category) validate_category(*options.category);
  if (options.category && !options.prefix.empty()) {
    invalid("list streams by a prefix or a category, not both");
  }
  if (options.after) validate_name("stream cursor", *options.after, kMaxStreamNameBytes);
  if (options.limit < 1 || options.limit > kMaxStreamListing) {
    invalid("stream listing limit " + std::to_string(options.limit) + " is not within 1.." +
            std::to_string(kMaxStreamListing));
  }
}

void validate_event_index(EventIndex index) {
  if (index != EventIndex::metadata && index != EventIndex::data && index != EventIndex::text) {
    invalid("event index " + std::to_string(static_cast<int>(index)) + " is none of EventIndex's");
  }
}

void validate_read_filter(const AllReadOptions& options) {
  if (options.category) validate_category(*options.category);
  if (options.stream) validate_stream_name(*options.stream);
  if (options.category && options.stream) invalid("read either a category or a stream, not both");
  validate_event_filter(options.filter);
}

void validate_namespace(std::string_view name) {
  validate_name("namespace", name, kMaxNamespaceBytes);
}

void validate_queue_name(std::string_view name) {
  validate_name("queue name", name, kMaxQueueNameBytes);
}

void validate_workflow_name(std::string_view name) {
  validate_name("workflow name", name, kMaxWorkflowNameBytes);
}

void validate_json_state(std::string_view what, std::string_view state) {
  if (!is_valid_json(state)) invalid(std::string(what) + " is not valid JSON");
  if (state.size() > kMaxValueBytes) {
    invalid(std::string(what) + " of " + std::to_string(state.size()) +
            " bytes is over the limit of " + std::to_string(kMaxValueBytes) + " bytes");
  }
}

void validate_lock_key(std::string_view key) {
  validate_name("lock key", key, kMaxLockKeyBytes);
}

void validate_key(std::string_view key) {
  if (key.empty()) invalid("key must not be empty");
  if (key.size() > kMaxKeyBytes) {
    invalid("key of " + std::to_string(key.size()) + " bytes is longer than " +
            std::to_string(kMaxKeyBytes) + " bytes");
  }
}

KvWrite prepare_write(const KvPut& put) {
  validate_key(put.key);
  if (put.value.size() > kMaxValueBytes) {
    invalid("value of " + std::to_string(put.value.size()) + " bytes is over the limit of " +
            std::to_string(kMaxValueBytes) + " bytes");
  }
  KvWrite write;
  write.key = put.key;
  write.value = put.value;
  write.value_is_json =
      put.value.size() <= kMaxQueryableValueBytes && is_comparable_json(put.value);
  if (put.metadata) {
    validate_queryable_json("metadata", *put.metadata);
    if (put.metadata->find("\\u0000") != std::string::npos) {
      invalid("metadata must not contain \\u0000");
    }
    write.metadata = *put.metadata;
  }
  if (put.ttl) {
    validate_duration("ttl", *put.ttl);
    write.ttl_micros = std::chrono::duration_cast<std::chrono::microseconds>(*put.ttl).count();
  }
  if (put.if_absent && put.if_version) invalid("a write takes if_absent or if_version, not both");
  if (put.if_version && *put.if_version < 1) {
    invalid("if_version " + std::to_string(*put.if_version) +
            " must be 1 or more (use if_absent for a key that must not exist)");
  }
  if (put.if_absent) write.condition = KvWrite::Condition::absent;
  if (put.if_version) {
    write.condition = KvWrite::Condition::version;
    write.if_version = *put.if_version;
  }
  return write;
}

std::vector<PendingEvent> prepare_events(const std::vector<EventData>& events) {
  std::vector<PendingEvent> pending;
  pending.reserve(events.size());
  std::unordered_set<std::string> ids;
  ids.reserve(events.size());
  const Timestamp now = now_micros();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventData& event = events[i];
    validate_name(event_label(i) + " type", event.type, kMaxEventTypeBytes);
    const std::size_t bytes = event.data.size() + (event.metadata ? event.metadata->size() : 0);
    if (bytes > kMaxEventBytes) {
      invalid(event_label(i) + " is " + std::to_string(bytes) + " bytes, over the limit of " +
              std::to_string(kMaxEventBytes) + " bytes (data + metadata)");
    }
    if (!is_valid_json(event.data)) invalid(event_label(i) + " data is not valid JSON");
    if (event.metadata && !is_valid_json(*event.metadata)) {
      invalid(event_label(i) + " metadata is not valid JSON");
    }
    std::string id = new_uuid_v7();
    if (event.id) {
      auto canonical = canonical_uuid(*event.id);
      if (!canonical) invalid(event_label(i) + " id " + shown(*event.id) + " is not a UUID");
      id = std::move(*canonical);
    }
    if (!ids.insert(id).second) invalid(event_label(i) + " id " + id + " repeats in the batch");
    const auto metadata =
        event.metadata ? std::optional<std::string_view>(*event.metadata) : std::nullopt;
    const std::uint32_t checksum = event_checksum(id, event.type, event.data, metadata);
    pending.push_back(PendingEvent{std::move(id), event.type, event.data, metadata, now, checksum});
  }
  return pending;
}

}  // namespace strata::detail
