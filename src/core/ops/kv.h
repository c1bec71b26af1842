// What a backend does for key-value state. Every call sees only live keys; writes are atomic (a
// savepoint inside a transaction); "now" for expiry is the database's clock (PostgreSQL) or the
// process's (SQLite).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/kv.h"

namespace strata::detail {

// A validated write of one key. Text is viewed from the caller's KvPut.
struct KvWrite {
  enum class Condition { none, absent, version };
  std::string_view key;
  std::string_view value;
  std::optional<std::int64_t> ttl_micros;
  std::optional<std::string_view> metadata;
  Condition condition = Condition::none;
  std::int64_t if_version = 0;
  bool value_is_json = false;  // Valid JSON that PostgreSQL's jsonb can hold: queries see it.
};

// What a conditional write or delete did: `done` with the key's new version (0 after a delete),
// or refused with its current version (0 when absent or expired).
struct KvOutcome {
  bool done = false;
  std::int64_t version = 0;
};

// Live keys from `from` (inclusive) up to `to` (exclusive; unbounded when absent).
struct KeyRange {
  std::string from;
  std::optional<std::string> to;
};

class KvOps {
 public:
  virtual ~KvOps() = default;
  virtual std::optional<KvEntry> get(std::string_view ns, std::string_view key) = 0;
  virtual KvOutcome put(std::string_view ns, const KvWrite& write) = 0;
  // Unconditional writes of distinct keys, in one round trip; the new versions in order.
  virtual std::vector<std::int64_t> put_many(std::string_view ns,
                                             const std::vector<KvWrite>& writes) = 0;
  // Deletes the key (only at `if_version` when given, and only if live then). Returns done when
  // a live key was deleted.
  virtual KvOutcome erase(std::string_view ns, std::string_view key,
                          std::optional<std::int64_t> if_version) = 0;
  // Deletes these keys; returns how many of them were live.
  virtual std::size_t erase_many(std::string_view ns, const std::vector<std::string>& keys) = 0;
  virtual std::size_t count(std::string_view ns, const KeyRange& range) = 0;
  virtual std::vector<KvEntry> scan(std::string_view ns, const KeyRange& range,
                                    std::size_t limit) = 0;
  virtual void clear(std::string_view ns) = 0;
  virtual std::vector<KvEntry> find(std::string_view ns, JsonField field, std::string_view pattern,
                                    const KeyRange& range, std::size_t limit) = 0;
  // Entries whose JSON value's strings hold every one of `words` (non-empty, lower-case).
  virtual std::vector<KvEntry> search(std::string_view ns, const std::vector<std::string>& words,
                                      const KeyRange& range, std::size_t limit) = 0;
  // Deletes at most `limit` expired keys; returns how many.
  virtual std::size_t purge_expired(std::string_view ns, std::size_t limit) = 0;
  virtual KvCheckpoint create_checkpoint(std::string_view ns) = 0;
  virtual std::vector<KvCheckpoint> checkpoints(std::string_view ns) = 0;
  // False when the namespace has no checkpoint `id`.
  virtual bool restore_checkpoint(std::string_view ns, std::int64_t id) = 0;
  virtual bool delete_checkpoint(std::string_view ns, std::int64_t id) = 0;
};

}  // namespace strata::detail
