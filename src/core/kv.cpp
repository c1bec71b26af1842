#include "strata/kv.h"

#include <unordered_set>

#include "core/backend.h"
#include "core/session_runner.h"
#include "core/validate.h"

namespace strata {
namespace detail {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(std::string_view bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    hex += kHex[static_cast<unsigned char>(c) >> 4];
    hex += kHex[static_cast<unsigned char>(c) & 0xF];
  }
  return hex;
}

// The key a cursor names. Throws invalid_argument for text that is not a cursor.
std::string key_of_cursor(const std::string& cursor) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw Error(ErrorCode::invalid_argument, "invalid scan cursor '" + cursor + "'");
  };
  if (cursor.empty() || cursor.size() % 2 != 0) {
    throw Error(ErrorCode::invalid_argument, "invalid scan cursor '" + cursor + "'");
  }
  std::string key;
  for (std::size_t i = 0; i < cursor.size(); i += 2) {
    key += static_cast<char>(nibble(cursor[i]) * 16 + nibble(cursor[i + 1]));
  }
  return key;
}

// The keys starting with `prefix`: from the prefix itself up to, not including, the first key
// past every extension of it (drop trailing 0xFF bytes, then add one to the last byte). An
// empty prefix, or one of 0xFF bytes only, has no upper bound (tested by
// KvTest.PrefixScansAndCountsIncludingFFBytes).
KeyRange prefix_range(std::string_view prefix) {
  KeyRange range{std::string(prefix), std::nullopt};
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
  if (!upper.empty()) {
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    range.to = std::move(upper);
  }
  return range;
}

[[noreturn]] void throw_conflict(std::string_view key, const std::string& expected,
                                 std::int64_t current) {
  throw KeyVersionConflict(std::string(key), expected, current);
}

std::string expected_text(const KvWrite& write) {
  return write.condition == KvWrite::Condition::absent ? "absent"
                                                       : std::to_string(write.if_version);
}

}  // namespace
}  // namespace detail

using detail::Call;
using detail::Session;

namespace {

// Shows a key in messages: as text when printable, else as hex.
std::string shown_key(std::string_view key) {
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) return "0x" + detail::to_hex(key.substr(0, 64));
  }
  return "'" + std::string(key.substr(0, 128)) + "'";
}

}  // namespace

KeyVersionConflict::KeyVersionConflict(std::string key, std::string expected, std::int64_t current)
    : Error(ErrorCode::wrong_expected_version, "version conflict on key " + shown_key(key) +
                                                   ": expected " + expected + ", current version " +
                                                   std::to_string(current)),
      current_(current) {}

KeyValue::KeyValue(detail::Scope scope, std::string name)
    : scope_(std::move(scope)), namespace_(std::move(name)) {
  detail::validate_namespace(namespace_);
}

std::optional<KvEntry> KeyValue::get(std::string_view key) const {
  detail::validate_key(key);
  return detail::run_on_session(scope_, "kv.get", Call::read, [&](Session& session) {
    return session.kv().get(namespace_, key);
  });
}

bool KeyValue::contains(std::string_view key) const {
  return get(key).has_value();
}

std::int64_t KeyValue::put(const KvPut& put) const {
  const detail::KvWrite write = detail::prepare_write(put);
  const detail::KvOutcome outcome =
      detail::run_on_session(scope_, "kv.put", Call::write,
                             [&](Session& session) { return session.kv().put(namespace_, write); });
  if (!outcome.done) detail::throw_conflict(put.key, detail::expected_text(write), outcome.version);
  return outcome.version;
}

std::int64_t KeyValue::put(std::string_view key, std::string_view value) const {
  KvPut write;
  write.key = std::string(key);
  write.value = std::string(value);
  return put(write);
}

std::vector<std::int64_t> KeyValue::put_many(const std::vector<KvPut>& puts) const {
  std::vector<detail::KvWrite> writes;
  writes.reserve(puts.size());
  std::unordered_set<std::string_view> keys;
  for (const KvPut& put : puts) {
    writes.push_back(detail::prepare_write(put));
    if (writes.back().condition != detail::KvWrite::Condition::none) {
      throw Error(ErrorCode::invalid_argument,
                  "put_many takes no conditions (key " + shown_key(put.key) + ")");
    }
    if (!keys.insert(put.key).second) {
      throw Error(ErrorCode::invalid_argument,
                  "key " + shown_key(put.key) + " appears twice in put_many");
    }
  }
  if (writes.empty()) return {};
  return detail::run_on_session(scope_, "kv.put_many", Call::write, [&](Session& session) {
    return session.kv().put_many(namespace_, writes);
  });
}

bool KeyValue::erase(std::string_view key, std::optional<std::int64_t> if_version) const {
  detail::validate_key(key);
  const detail::KvOutcome outcome = detail::run_on_session(
      scope_, "kv.erase", Call::write,
      [&](Session& session) { return session.kv().erase(namespace_, key, if_version); });
  if (if_version && !outcome.done) {
    detail::throw_conflict(key, std::to_string(*if_version), outcome.version);
  }
  return outcome.done;
}

std::size_t KeyValue::erase_many(const std::vector<std::string>& keys) const {
  for (const std::string& key : keys) detail::validate_key(key);
  if (keys.empty()) return 0;
  return detail::run_on_session(scope_, "kv.erase_many", Call::write, [&](Session& session) {
    return session.kv().erase_many(namespace_, keys);
  });
}

std::size_t KeyValue::count(std::string_view prefix) const {
  const detail::KeyRange range = detail::prefix_range(prefix);
  return detail::run_on_session(scope_, "kv.count", Call::read, [&](Session& session) {
    return session.kv().count(namespace_, range);
  });
}

namespace {

// Runs `query(session, range)` for the keys with `prefix` after `cursor`, as one page.
template <class Query>
KvPage page_of(const detail::Scope& scope, const char* operation, std::string_view prefix,
               const std::optional<std::string>& cursor, std::size_t limit, Query&& query) {
  detail::KeyRange range = detail::prefix_range(prefix);
  if (cursor) {
    // The first key after the cursor's is the cursor's key followed by a zero byte.
    std::string after = detail::key_of_cursor(*cursor) + '\0';
    if (after > range.from) range.from = std::move(after);
  }
  detail::validate_count("page limit", limit);
  KvPage page;
  if (limit == 0) return page;
  page.entries = detail::run_on_session(
      scope, operation, Call::read, [&](Session& session) { return query(session.kv(), range); });
  if (page.entries.size() == limit) page.next_cursor = detail::to_hex(page.entries.back().key);
  return page;
}

}  // namespace

KvPage KeyValue::scan(std::string_view prefix, std::optional<std::string> cursor,
                      std::size_t limit) const {
  return page_of(scope_, "kv.scan", prefix, cursor, limit,
                 [&](detail::KvOps& kv, const detail::KeyRange& range) {
                   return kv.scan(namespace_, range, limit);
                 });
}

KvPage KeyValue::find(JsonField field, std::string_view pattern, std::optional<std::string> cursor,
                      std::size_t limit) const {
  detail::validate_queryable_json("find pattern", pattern);
  return page_of(scope_, "kv.find", {}, cursor, limit,
                 [&](detail::KvOps& kv, const detail::KeyRange& range) {
                   return kv.find(namespace_, field, pattern, range, limit);
                 });
}

KvPage KeyValue::search(std::string_view words, std::optional<std::string> cursor,
                        std::size_t limit) const {
  const std::vector<std::string> terms = detail::search_terms(words);
  return page_of(scope_, "kv.search", {}, cursor, limit,
                 [&](detail::KvOps& kv, const detail::KeyRange& range) {
                   return kv.search(namespace_, terms, range, limit);
                 });
}

void KeyValue::clear() const {
  detail::run_on_session(scope_, "kv.clear", Call::write, [&](Session& session) {
    session.kv().clear(namespace_);
    return true;
  });
}

std::size_t KeyValue::purge_expired(std::size_t batch) const {
  detail::validate_count("purge batch", batch, 1);
  std::size_t purged = 0;
  while (true) {
    const std::size_t deleted = detail::run_on_session(
        scope_, "kv.purge_expired", Call::write,
        [&](Session& session) { return session.kv().purge_expired(namespace_, batch); });
    purged += deleted;
    if (deleted < batch) return purged;
  }
}

KvCheckpoint KeyValue::create_checkpoint() const {
  return detail::run_on_session(scope_, "kv.create_checkpoint", Call::write, [&](Session& session) {
    return session.kv().create_checkpoint(namespace_);
  });
}

std::vector<KvCheckpoint> KeyValue::checkpoints() const {
  return detail::run_on_session(scope_, "kv.checkpoints", Call::read, [&](Session& session) {
    return session.kv().checkpoints(namespace_);
  });
}

void KeyValue::restore_checkpoint(std::int64_t id) const {
  const bool restored = detail::run_on_session(
      scope_, "kv.restore_checkpoint", Call::write,
      [&](Session& session) { return session.kv().restore_checkpoint(namespace_, id); });
  if (!restored) {
    throw Error(ErrorCode::not_found,
                "namespace '" + namespace_ + "' has no checkpoint " + std::to_string(id));
  }
}

bool KeyValue::delete_checkpoint(std::int64_t id) const {
  return detail::run_on_session(scope_, "kv.delete_checkpoint", Call::write, [&](Session& session) {
    return session.kv().delete_checkpoint(namespace_, id);
  });
}

}  // namespace strata
