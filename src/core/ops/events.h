// What a backend does for event streams: appends and reads. Core decides what an append's
// outcome means (idempotent retry, wrong version, taken id); a backend only reports it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/event.h"

namespace strata::detail {

// An event ready to store: validated, with its id and time fixed. Its text is viewed, not
// copied, from the caller's EventData, which outlives the append.
struct PendingEvent {
  std::string id;  // Canonical lower-case UUID.
  std::string_view type;
  std::string_view data;
  std::optional<std::string_view> metadata;
  Timestamp created_at = 0;
  std::uint32_t checksum = 0;  // event_checksum of its content.
};

struct AppendBatch {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::any();
  std::vector<PendingEvent> events;  // Never empty.
  std::uint64_t stream_key = 0;      // stable_hash64(stream): the stream's lock key.
};

// What one attempt to append did. Only `appended` wrote anything.
struct AppendAttempt {
  enum class Outcome {
    appended,          // `result` holds the new version and position.
    version_mismatch,  // `expected` does not hold for `current_version`.
    duplicate_id,      // An event id is already stored (possibly an idempotent retry).
    order_conflict,    // A later transaction already appended to the stream (PostgreSQL only).
    stream_deleted,    // The stream is tombstoned.
  };
  Outcome outcome = Outcome::appended;
  AppendResult result;
  std::int64_t current_version = 0;  // The stream's version before the attempt.
};

// An event as stored, for Events::verify.
struct StoredEvent {
  RecordedEvent event;
  std::optional<std::int64_t> checksum;  // As taken at append; absent for events from before.
  std::int64_t first_kept = 1;           // Its stream's truncation point: versions below are gone.
};

class EventOps {
 public:
  virtual ~EventOps() = default;
  // Appends atomically: inside a transaction under a savepoint, else in a transaction of its own.
  // A failed attempt leaves no trace and leaves an enclosing transaction usable.
  virtual AppendAttempt try_append(const AppendBatch& batch) = 0;
  // The stored events with any of these ids (canonical UUIDs), in any order.
  virtual std::vector<RecordedEvent> by_id(const std::vector<std::string>& ids) = 0;
  // Events of `stream` from version `from` (inclusive) in `direction`, created at or before
  // `as_of` when given.
  virtual std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                                 Direction direction, std::size_t limit,
                                                 std::optional<Timestamp> as_of) = 0;
  virtual std::vector<RecordedEvent> read_all(const AllReadOptions& options) = 0;
  // How many events read_all(options) would return without its limit.
  virtual std::uint64_t count(const AllReadOptions& options) = 0;
  virtual StreamInfo stream_info(std::string_view stream) = 0;
  // Up to `limit` stored events strictly after (`after_stream`, `after_version`) in stream and
  // version order, whatever reads would hide.
  virtual std::vector<StoredEvent> stored_events(std::string_view after_stream,
                                                 std::int64_t after_version, std::size_t limit) = 0;
  // Every stored event whose id another stored event has too, by id.
  virtual std::vector<RecordedEvent> events_sharing_ids() = 0;
  // Whether this store can have handed out `position` (both parts below 2^63): not beyond the
  // furthest transaction and sequence it has issued, which never move back, even when the
  // events there are deleted.
  virtual bool issued(Position position) = 0;
};

// Throws invalid_argument unless `events` can have issued `position`: a position beyond the feed's
// head, or from another store, would otherwise silently skip every event up to it.
void check_issued(EventOps& events, Position position);

}  // namespace strata::detail
