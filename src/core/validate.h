// Input rules shared by every backend. Each check throws Error(invalid_argument) naming what is
// wrong, before anything is written.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ops/events.h"
#include "core/ops/kv.h"
#include "strata/event.h"

namespace strata::detail {

// From `minimum` to kMaxDuration; messages call it `what`.
void validate_duration(std::string_view what, std::chrono::milliseconds duration,
                       std::chrono::milliseconds minimum = std::chrono::milliseconds(1));

// From `minimum` to kMaxCount; messages call it `what` (and show a wrapped negative count as
// negative).
void validate_count(std::string_view what, std::uint64_t count, std::uint64_t minimum = 0);

// The words of a full-text search, lower-cased: runs of ASCII letters and digits and of
// non-ASCII bytes. Throws invalid_argument when `words` is not UTF-8 or has none.
std::vector<std::string> search_terms(std::string_view words);

// UTF-8 of at most max_bytes (control characters allowed); messages call it `what`.
void validate_text(std::string_view what, std::string_view text, std::size_t max_bytes);

// Valid JSON whose numbers every backend's JSON index holds; messages call it `what`.
void validate_queryable_json(std::string_view what, std::string_view json);

// 1..max_bytes of UTF-8 without control characters; messages call it `what`.
void validate_name(std::string_view what, std::string_view name, std::size_t max_bytes);

// 1..kMaxStreamNameBytes of UTF-8 without control characters.
void validate_stream_name(std::string_view stream);
// A category is a stream-name prefix without '-'.
void validate_category(std::string_view category);

// The most streams one list_streams page holds.
inline constexpr std::size_t kMaxStreamListing = 10'000;
// A prefix or a category (not both), a cursor that is a name, a limit of 1..kMaxStreamListing.
void validate_stream_listing(const StreamListOptions& options);

// One of EventIndex's values.
void validate_event_index(EventIndex index);

// A read_all filter: a valid category or stream, not both, and a valid event filter (event types
// that are names, at most kMaxFilterTypes of them; `until` not before `since`; queryable JSON
// patterns).
void validate_read_filter(const AllReadOptions& options);

// 1..kMaxNamespaceBytes of UTF-8 without control characters.
void validate_namespace(std::string_view name);
// 1..kMaxQueueNameBytes of UTF-8 without control characters.
void validate_queue_name(std::string_view name);
// 1..kMaxWorkflowNameBytes of UTF-8 without control characters.
void validate_workflow_name(std::string_view name);
// 1..kMaxLockKeyBytes of UTF-8 without control characters.
void validate_lock_key(std::string_view key);
// A JSON state (a workflow's, a snapshot's) of at most kMaxValueBytes; messages call it `what`.
void validate_json_state(std::string_view what, std::string_view state);
// Validates a key-value write: sizes, metadata JSON (without \u0000, which PostgreSQL's jsonb
// cannot hold), TTL and conditions.
KvWrite prepare_write(const KvPut& put);
void validate_key(std::string_view key);

// Validates every event and fixes its id (canonical, or a new UUIDv7) and creation time.
// Throws invalid_argument naming the event's index and the fault; also for ids repeated in
// the batch.
std::vector<PendingEvent> prepare_events(const std::vector<EventData>& events);

}  // namespace strata::detail
