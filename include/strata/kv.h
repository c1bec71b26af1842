// KeyValue: namespaced state, bytes keyed by bytes, with versions, TTLs and metadata.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/error.h"
#include "strata/event.h"
#include "strata/export.h"
#include "strata/limits.h"
#include "strata/scope.h"

namespace strata {

// Limits, checked before anything is written (Error(invalid_argument) when exceeded).
inline constexpr std::size_t kMaxNamespaceBytes = 128;
inline constexpr std::size_t kMaxKeyBytes = 1024;
inline constexpr std::size_t kMaxValueBytes = 16 * 1024 * 1024;
// A value is JSON to find() and search() when it is valid JSON of at most this many bytes whose
// numbers have at most 1000 digits, an exponent within ±1000 and (unless zero) a magnitude from
// 1e-300 to 1e300. Any other value is stored and read back as the same bytes, but no query
// matches it: indexing a value never refuses it.
inline constexpr std::size_t kMaxQueryableValueBytes = 512 * 1024;

// A live key as stored.
struct KvEntry {
  std::string key;           // Bytes.
  std::string value;         // Bytes; may be JSON.
  std::int64_t version = 0;  // 1 when created, +1 on every write; a re-created key starts at 1.
  std::optional<std::string> metadata;  // JSON text.
  std::optional<Timestamp> expires_at;  // Absent: never expires.

  friend bool operator==(const KvEntry&, const KvEntry&) = default;
};

// How to write one key.
struct KvPut {
  std::string key;
  std::string value;
  std::optional<std::chrono::milliseconds> ttl;  // Expire this long after: 1 ms to kMaxDuration.
  // JSON text, replaced on every write; its numbers within the bounds of kMaxQueryableValueBytes.
  std::optional<std::string> metadata;
  // Conditions (at most one): write only if the key is absent (or expired), or only if its
  // current version is this one.
  bool if_absent = false;
  std::optional<std::int64_t> if_version;
};

// One page of a scan, in key order (bytewise). Pass `next_cursor` back to get the next page;
// it is absent on the last page.
struct KvPage {
  std::vector<KvEntry> entries;
  std::optional<std::string> next_cursor;
};

// Which part of an entry a JSON query looks at.
enum class JsonField { value, metadata };

// A saved copy of a namespace's live keys.
struct KvCheckpoint {
  std::int64_t id = 0;
  Timestamp created_at = 0;
  std::int64_t entries = 0;  // Keys saved.
  std::int64_t bytes = 0;    // Their keys' and values' bytes.

  friend bool operator==(const KvCheckpoint&, const KvCheckpoint&) = default;
};

// Thrown when a conditional write's condition does not hold; carries the key's current version
// (0 when absent or expired). Code: wrong_expected_version.
class STRATA_EXPORT KeyVersionConflict : public Error {
 public:
  KeyVersionConflict(std::string key_for_message, std::string expected, std::int64_t current);
  std::int64_t current_version() const noexcept { return current_; }

 private:
  std::int64_t current_;
};

// A handle on one namespace of key-value state, from Store::kv() or Transaction::kv(). From the
// Store each call is its own atomic unit of work; from a Transaction calls join it.
// Thread-safety: as for Events. An expired key is invisible to every call, exactly as if absent.
class STRATA_EXPORT KeyValue {
 public:
  const std::string& name() const noexcept { return namespace_; }

  // The live entry at `key`, or nullopt.
  std::optional<KvEntry> get(std::string_view key) const;
  bool contains(std::string_view key) const;

  // Writes one key; returns its new version. Throws KeyVersionConflict when a condition fails,
  // invalid_argument for bad sizes, metadata or conditions.
  std::int64_t put(const KvPut& write) const;
  std::int64_t put(std::string_view key, std::string_view value) const;

  // Writes every key in one round trip, atomically. Conditions are not allowed here; a key may
  // appear once. Returns the new versions in order.
  std::vector<std::int64_t> put_many(const std::vector<KvPut>& writes) const;

  // Deletes `key` (at `if_version` only, when given). Returns whether a live key was deleted;
  // a missing key is no error, unless `if_version` is given (KeyVersionConflict).
  bool erase(std::string_view key, std::optional<std::int64_t> if_version = std::nullopt) const;
  // Deletes these keys in one round trip; returns how many live keys were deleted.
  std::size_t erase_many(const std::vector<std::string>& keys) const;

  // Live keys starting with `prefix` (all when empty).
  std::size_t count(std::string_view prefix = {}) const;
  // Up to `limit` live entries whose keys start with `prefix`, after `cursor` (from a previous
  // page), in key order.
  KvPage scan(std::string_view prefix = {}, std::optional<std::string> cursor = std::nullopt,
              std::size_t limit = 1000) const;
  // Deletes every key of the namespace.
  void clear() const;

  // Up to `limit` live entries, after `cursor`, in key order, whose `field` is JSON containing
  // `pattern` by PostgreSQL's jsonb `@>` rules (objects by their keys, arrays by their elements in
  // any order, numbers by value). Throws invalid_argument when `pattern` is not JSON (or has a
  // number beyond the bounds of kMaxQueryableValueBytes). Indexed on
  // PostgreSQL (GIN); a scan of the namespace on SQLite.
  KvPage find(JsonField field, std::string_view pattern,
              std::optional<std::string> cursor = std::nullopt, std::size_t limit = 1000) const;

  // Up to `limit` live entries, after `cursor`, in key order, whose value is JSON whose string
  // values hold every word of `words` (case-insensitive, whole words, no stemming). Words are runs
  // of letters and digits. Throws invalid_argument when `words` has none. Indexed on both
  // backends (PostgreSQL tsvector, SQLite FTS5).
  KvPage search(std::string_view words, std::optional<std::string> cursor = std::nullopt,
                std::size_t limit = 1000) const;

  // Deletes expired keys in batches of at most `batch` rows, each in its own short transaction,
  // until none is left; returns how many. Reads never need it: expired keys are invisible.
  std::size_t purge_expired(std::size_t batch = 1000) const;

  // Saves every live key with its value, version, metadata and expiry time, as one consistent
  // snapshot even while others write.
  KvCheckpoint create_checkpoint() const;
  // This namespace's checkpoints, oldest first.
  std::vector<KvCheckpoint> checkpoints() const;
  // Atomically replaces the namespace's keys with the checkpoint's, exactly as saved (a key whose
  // expiry time has passed since is expired). Throws not_found for an unknown id.
  void restore_checkpoint(std::int64_t id) const;
  // Deletes a checkpoint; returns whether it existed.
  bool delete_checkpoint(std::int64_t id) const;

 private:
  friend class Store;
  friend class Transaction;
  KeyValue(detail::Scope scope, std::string name);

  detail::Scope scope_;
  std::string namespace_;
};

}  // namespace strata
