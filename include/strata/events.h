// Events: append to and read event streams. Obtained from Store::events() or Transaction::events().
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "strata/event.h"
#include "strata/export.h"
#include "strata/scope.h"

namespace strata {

// A handle on the Store's event streams. From Store::events() each call is its own atomic unit of
// work on a pooled connection; from Transaction::events() calls join that transaction.
// Thread-safety: a Store's handle may be used from many threads; a Transaction's only from the
// thread running the transaction.
class STRATA_EXPORT Events {
 public:
  // Appends `events` atomically to `stream` if `expected` holds, giving them the next versions.
  // Returns the stream's new version and the last event's position (for an empty batch: the
  // current version and the position of the stream's last event). Idempotent: appending events
  // with the same ids to the same stream again at the same expected version returns the first
  // result and writes nothing.
  // Throws: invalid_argument (bad name, type, JSON, id or size; nothing written),
  // WrongExpectedVersion, already_exists (an id is stored with other content), conflict,
  // unavailable, timeout, unknown_outcome.
  AppendResult append(std::string_view stream, const std::vector<EventData>& events,
                      ExpectedVersion expected = ExpectedVersion::any()) const;
  AppendResult append(std::string_view stream, const EventData& event,
                      ExpectedVersion expected = ExpectedVersion::any()) const;

  // Reads skip events removed by a delete or truncate and those outside the stream's settings.

  // Up to `options.limit` events of one stream in version order; empty when the stream does not
  // exist or `from` lies past its end. Throws invalid_argument for a bad name.
  std::vector<RecordedEvent> read_stream(std::string_view stream,
                                         const StreamReadOptions& options = {}) const;

  // Up to `limit` events of the streams whose name up to the first '-' is `category` that pass
  // `filter`, in the all-events order, strictly after `after`.
  std::vector<RecordedEvent> read_category(std::string_view category,
                                           Position after = Position::start(),
                                           std::size_t limit = 1000,
                                           const EventFilter& filter = {}) const;

  // Up to `options.limit` events that pass the options' filters, in the all-events order (or its
  // reverse, reading backward): total, the same for every reader, and never extended behind a
  // position already returned, so a reader paging with the last position it saw never skips nor
  // repeats an event. Throws invalid_argument for a bad filter (naming it) or for a position this
  // Store did not hand out (beyond its head, or another's).
  std::vector<RecordedEvent> read_all(const AllReadOptions& options = {}) const;
  // How many events read_all(options) would return without its limit (by stream, category,
  // types or any other of its filters), in one statement. Throws what read_all throws.
  std::uint64_t count(const AllReadOptions& options = {}) const;

  // Up to `limit` events after `after`, in the all-events order, whose data's string values hold
  // every word of `words`: read_all with EventFilter::words. Throws not_found without the text
  // index (add_index(EventIndex::text)), invalid_argument when `words` has no word.
  std::vector<RecordedEvent> search(std::string_view words, Position after = Position::start(),
                                    std::size_t limit = 100) const;

  // Builds `index` unless the store has it, while appends and reads go on (PostgreSQL: CREATE
  // INDEX CONCURRENTLY, which waits for transactions already running; one that a crash left
  // half-built is rebuilt). Returns false, doing nothing, when the backend keeps no such index
  // (SQLite for the JSON filters, which read every event of their range there). Safe to call
  // from many processes at once. Throws invalid_argument inside a transaction.
  bool add_index(EventIndex index) const;
  // Drops `index` when the store has it (the same way, concurrently). Throws what add_index does.
  void drop_index(EventIndex index) const;
  // The opt-in indexes the store has, whole.
  std::vector<EventIndex> indexes() const;

  // Checks every stored event, whatever reads would hide: that each stream's versions run
  // without a gap or repeat from its truncation point, that positions rise with versions, that
  // no id is stored twice and that each event's content matches the checksum taken when it was
  // appended. Calls `report` with each problem as it is found; reads in pages, each a call of its
  // own, so writers carry on meanwhile. Throws what reads throw.
  VerifySummary verify(const std::function<void(const EventProblem&)>& report) const;

  // Whether `stream` has events, its current version, and whether it is deleted.
  StreamInfo stream_info(std::string_view stream) const;

  // Up to `options.limit` streams that have events or were deleted, truncated or given settings,
  // in name order (bytewise on SQLite; the database's collation on PostgreSQL), a few index
  // probes per stream. Throws invalid_argument for a bad prefix, category, cursor or limit, for
  // both a prefix and a category, and on PostgreSQL for a prefix or category when the database
  // does not order text bytewise (collation C or C.UTF-8).
  std::vector<StreamSummary> list_streams(const StreamListOptions& options = {}) const;

  // Stream lifecycle. Each takes the stream's append lock, so it lands between appends.

  // Soft delete: removes the stream's events; it then reads as empty. Appending reopens it, and
  // versions go on after the last one (so ExpectedVersion::no_stream no longer holds). Returns
  // how many events were removed. Throws stream_deleted when it is tombstoned.
  std::size_t delete_stream(std::string_view stream) const;
  // Hard delete: removes the stream's events and leaves a tombstone; every later append throws
  // Error(stream_deleted). Returns how many events were removed; a no-op when already tombstoned.
  std::size_t tombstone_stream(std::string_view stream) const;
  // Removes the events below `before_version` (at most every event); versions go on. Returns how
  // many were removed. Throws stream_deleted when it is tombstoned.
  std::size_t truncate_stream(std::string_view stream, std::int64_t before_version) const;
  // Sets `stream`'s retention limits (replacing earlier ones; empty settings lift them).
  void set_stream_settings(std::string_view stream, const StreamSettings& settings) const;
  StreamSettings stream_settings(std::string_view stream) const;
  // Removes, from every stream, the events its settings no longer let reads see; returns how
  // many. Run it now and then (`strata stream enforce`); versions go on as after a truncate.
  std::size_t enforce_retention() const;

 private:
  friend class Store;
  friend class Transaction;
  explicit Events(detail::Scope scope) : scope_(std::move(scope)) {}

  detail::Scope scope_;
};

}  // namespace strata
