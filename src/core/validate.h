// Input rules shared by every backend. Each check throws Error(invalid_argument) naming what is
// wrong, before anything is written.
#pragma once

#include <string_view>
#include <vector>

#include "core/ops/events.h"
#include "core/ops/kv.h"
#include "strata/event.h"

namespace strata::detail {

// 1..max_bytes of UTF-8 without control characters; messages call it `what`.
void validate_name(std::string_view what, std::string_view name, std::size_t max_bytes);

// 1..kMaxStreamNameBytes of UTF-8 without control characters.
void validate_stream_name(std::string_view stream);
// A category is a stream-name prefix without '-'.
void validate_category(std::string_view category);

// A read_all filter: a valid category or stream, not both.
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
