// Snapshots: a stream's state as of a version (an aggregate's, a projection's), so that loading
// it does not replay every event.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/event.h"
#include "strata/export.h"
#include "strata/limits.h"
#include "strata/scope.h"

namespace strata {

struct Snapshot {
  std::string stream;
  std::int64_t version = 0;  // The stream version the state reflects.
  std::string state;         // JSON text, byte for byte as saved.
  Timestamp created_at = 0;  // The database's clock (PostgreSQL) or this machine's (SQLite).

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Which snapshots prune() keeps. A snapshot goes when it is beyond the newest `keep_last` of its
// stream or older than `max_age`; an empty retention deletes nothing.
struct SnapshotRetention {
  std::optional<std::size_t> keep_last;
  std::optional<std::chrono::milliseconds> max_age;
};

// A handle on snapshots, from Store::snapshots() or Transaction::snapshots(); calls behave as
// Events' do (their own unit of work, or the transaction's). Stream names follow the event
// rules; states are valid JSON of at most kMaxValueBytes; versions are at least 1. Bad input
// throws invalid_argument and writes nothing.
class STRATA_EXPORT Snapshots {
 public:
  // Saves `state` as `stream`'s snapshot at `version`, replacing one saved at that version.
  Snapshot save(std::string_view stream, std::int64_t version, std::string_view state) const;
  // The newest snapshot at or below `version` (the newest of all when absent); nullopt if none.
  std::optional<Snapshot> load(std::string_view stream,
                               std::optional<std::int64_t> version = std::nullopt) const;
  // Every snapshot of `stream`, oldest version first.
  std::vector<Snapshot> list(std::string_view stream) const;
  // Applies `retention` to one stream's snapshots; returns how many were deleted.
  std::size_t prune(std::string_view stream, const SnapshotRetention& retention) const;
  // Applies `retention` to every stream's snapshots; returns how many were deleted.
  std::size_t prune_all(const SnapshotRetention& retention) const;

 private:
  friend class Store;
  friend class Transaction;
  explicit Snapshots(detail::Scope scope) : scope_(std::move(scope)) {}
  detail::Scope scope_;
};

}  // namespace strata
