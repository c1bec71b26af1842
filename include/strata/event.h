// Event value types: what an append takes and what reads return.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/export.h"
#include "strata/limits.h"
#include "strata/position.h"

namespace strata {

// Size limits, checked before anything is written (Error(invalid_argument) when exceeded).
inline constexpr std::size_t kMaxStreamNameBytes = 512;
inline constexpr std::size_t kMaxEventTypeBytes = 256;
inline constexpr std::size_t kMaxEventBytes = 8 * 1024 * 1024;  // data + metadata of one event.

// Microseconds since 1970-01-01 UTC. Every stored time has exactly this precision.
using Timestamp = std::int64_t;

// RFC 3339 in UTC with six fractional digits, e.g. "2026-11-22T00:44:56.123456Z".
STRATA_EXPORT std::string format_timestamp(Timestamp micros);
// Reads an RFC 3339 time ("2026-11-22T00:44:56Z", with up to six fractional digits and an offset
// such as "+01:00" or "Z"; 'T' may be a space) or a date ("2026-11-22", its midnight UTC), from
// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. Throws Error(invalid_argument) naming
// `text` otherwise.
STRATA_EXPORT Timestamp parse_timestamp(std::string_view text);

// One event to append. `data` and `metadata` are JSON text, stored and returned byte for byte.
struct EventData {
  std::string type;                     // Required, 1..kMaxEventTypeBytes of UTF-8.
  std::string data;                     // Required JSON text.
  std::optional<std::string> metadata;  // Optional JSON text.
  std::optional<std::string> id;        // A UUID (any case); generated (UUIDv7) when absent.
};

// An event as stored.
struct RecordedEvent {
  std::string id;  // Lower-case canonical UUID.
  std::string stream;
  std::int64_t version = 0;  // 1, 2, 3… within its stream, without gaps.
  std::string type;
  std::string data;
  std::optional<std::string> metadata;
  Position position;
  Timestamp created_at = 0;

  friend bool operator==(const RecordedEvent&, const RecordedEvent&) = default;
};

// The condition an append places on the stream's version.
class STRATA_EXPORT ExpectedVersion {
 public:
  enum class Kind { any, no_stream, stream_exists, exact };

  static constexpr ExpectedVersion any() noexcept { return {Kind::any, 0}; }
  static constexpr ExpectedVersion no_stream() noexcept { return {Kind::no_stream, 0}; }
  static constexpr ExpectedVersion stream_exists() noexcept { return {Kind::stream_exists, 0}; }
  // The stream's current version must be `version` (0 means: the stream has no events).
  static constexpr ExpectedVersion exact(std::int64_t version) noexcept {
    return {Kind::exact, version};
  }

  constexpr Kind kind() const noexcept { return kind_; }
  constexpr std::int64_t version() const noexcept { return version_; }
  // Whether a stream at `current` version (0: no events) satisfies this expectation.
  constexpr bool holds_for(std::int64_t current) const noexcept {
    switch (kind_) {
      case Kind::any:
        return true;
      case Kind::no_stream:
        return current == 0;
      case Kind::stream_exists:
        return current > 0;
      case Kind::exact:
        return current == version_;
    }
    return false;
  }
  // "any", "no_stream", "stream_exists" or the number.
  std::string to_string() const;

 private:
  constexpr ExpectedVersion(Kind kind, std::int64_t version) : kind_(kind), version_(version) {}
  Kind kind_;
  std::int64_t version_;
};

// What a successful append reports: the stream's new version and the last event's position.
struct AppendResult {
  std::int64_t version = 0;
  Position position;
  friend bool operator==(const AppendResult&, const AppendResult&) = default;
};

enum class Direction { forward, backward };

struct StreamReadOptions {
  // First version to read: forward from 1 by default, backward from the last by default.
  std::optional<std::int64_t> from;
  Direction direction = Direction::forward;
  std::size_t limit = 1000;
  // Only the events created at or before this time: the stream as it stood then.
  std::optional<Timestamp> as_of;
};

inline constexpr std::size_t kMaxFilterTypes = 100;

// Which events a read returns: those for which every condition given holds (all when none is).
struct EventFilter {
  std::vector<std::string> types;       // Of one of these types (at most kMaxFilterTypes).
  std::optional<Timestamp> since;       // Created at or after this time,
  std::optional<Timestamp> until;       // and before this one (not before `since`).
  std::optional<std::string> metadata;  // Whose metadata is JSON containing this JSON,
  std::optional<std::string> data;      // and whose data is JSON containing this JSON.
  // Both by PostgreSQL's jsonb `@>` rules, as KeyValue::find matches; an event whose JSON has
  // numbers beyond what those rules compare alike on every backend (see KeyValue::find) never
  // matches.
  // And whose data's string values hold every word of this text (case-insensitive, whole words,
  // no stemming, as KeyValue::search matches; data the JSON filters never match, or beyond
  // kMaxQueryableValueBytes of strata/kv.h, never matches). Needs the text index: reads throw
  // not_found without it (Events::add_index). Each read gathers every match from the index before
  // it pages: a common word costs every read (and every poll of a subscription) its matches.
  std::optional<std::string> words;

  friend bool operator==(const EventFilter&, const EventFilter&) = default;
};

// A read of the all-events order: the events strictly between `after` and `before`, forward from
// `after` or backward from `before` (from the newest event when absent).
struct AllReadOptions {
  Position after = Position::start();
  std::optional<Position> before;
  Direction direction = Direction::forward;
  std::size_t limit = 1000;
  std::optional<std::string> category;  // Only streams whose name up to the first '-' is this,
  std::optional<std::string> stream;    // or only this stream (not with `category`).
  EventFilter filter;
};

struct StreamInfo {
  bool exists = false;       // Whether the stream has events to read.
  std::int64_t version = 0;  // Its last version (kept through deletes); 0 when never written.
  bool deleted = false;      // Hard-deleted (tombstoned): appends throw stream_deleted.
};

// The indexes a store adds only when asked (Events::add_index), because each slows appends
// (docs/benchmarks.md measures by how much). Queries give the same results without them.
enum class EventIndex {
  metadata,  // For EventFilter::metadata: a GIN index on PostgreSQL; SQLite has none.
  data,      // For EventFilter::data: a GIN index on PostgreSQL; SQLite has none.
  text,      // For EventFilter::words and Events::search, which need it: a tsvector GIN index on
             // PostgreSQL, an FTS5 table on SQLite.
};

// "metadata", "data" or "text". Never null.
STRATA_EXPORT const char* to_string(EventIndex index) noexcept;

// One stream as Events::list_streams() shows it.
struct StreamSummary {
  std::string name;
  std::int64_t version = 0;  // Its last version (kept through deletes); 0 when never written.
  bool deleted = false;      // Hard-deleted (tombstoned).
  // When its first and last events to read were appended; absent when it has none (deleted,
  // truncated away or hidden by its settings).
  std::optional<Timestamp> first_created_at;
  std::optional<Timestamp> last_created_at;

  friend bool operator==(const StreamSummary&, const StreamSummary&) = default;
};

// Which streams Events::list_streams() shows, a page at a time.
struct StreamListOptions {
  std::string prefix;                   // Names starting with it (every name when empty).
  std::optional<std::string> category;  // Or: names whose part up to the first '-' is it.
  std::optional<std::string> after;     // Names after it: the last name of the previous page.
  std::size_t limit = 100;              // 1..10,000.
};

// How long a stream keeps its events. Reads skip events that fall outside these limits at once;
// Events::enforce_retention() then removes them.
struct StreamSettings {
  std::optional<std::chrono::milliseconds> max_age;  // By creation time; at least 1 ms.
  std::optional<std::int64_t> max_count;             // The newest this many; at least 1.

  friend bool operator==(const StreamSettings&, const StreamSettings&) = default;
};

// A fault Events::verify found among the stored events.
struct EventProblem {
  enum class Kind {
    missing_versions,   // A stream lacks versions between its truncation point and its last.
    version_order,      // A stream's version is stored twice.
    position_order,     // An event's position is not after its stream's previous event's.
    duplicate_id,       // An event id is stored more than once.
    checksum_mismatch,  // An event's content differs from the checksum taken at its append.
  };
  Kind kind = Kind::missing_versions;
  std::string stream;
  std::int64_t version = 0;  // The event it concerns (for missing versions: the first after).
  std::string message;       // What is wrong, in words.
};

// "missing_versions", "version_order", "position_order", "duplicate_id", "checksum_mismatch".
STRATA_EXPORT std::string_view to_string(EventProblem::Kind kind);

// What Events::verify looked at.
struct VerifySummary {
  std::uint64_t streams = 0;
  std::uint64_t events = 0;
  std::uint64_t without_checksum = 0;  // Appended before checksums were taken: not checked.
  std::uint64_t problems = 0;
};

}  // namespace strata
