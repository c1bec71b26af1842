#include "postgres/pg_backend.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/ids.h"
#include "core/pool.h"
#include "core/queue_rules.h"
#include "core/work_signal.h"
#include "postgres/event_notifier.h"
#include "postgres/pg_locks.h"
#include "postgres/pg_sql.h"
#include "postgres/pq/pq.h"
#include "postgres/queue_upkeep.h"
#include "postgres/schema.h"
#include "postgres/session_context.h"
#include "strata/error.h"

namespace strata::detail {
namespace {

using pq::Command;
using pq::Connection;
using pq::Params;
using pq::PqError;
using pq::Result;

// Larger batches go by COPY: two more round trips, but the fastest way rows reach the server.
constexpr std::size_t kMaxRowsPerStatement = 64;
// A refusal that no longer holds when checked is tried again, this many times in all.
constexpr int kAppendAttempts = 5;

constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kUndefinedTable = "42P01";
constexpr std::string_view kUndefinedSchema = "3F000";

RecordedEvent read_event(const Result& rows, int row) {
  RecordedEvent event;
  event.position = Position(rows.unsigned_integer(row, 0), rows.unsigned_integer(row, 1));
  event.stream = rows.string(row, 2);
  event.version = rows.integer(row, 3);
  event.id = rows.string(row, 4);
  event.type = rows.string(row, 5);
  event.data = rows.string(row, 6);
  event.metadata = rows.optional_string(row, 7);
  event.created_at = rows.integer(row, 8);
  return event;
}

std::vector<RecordedEvent> read_events(const Result& rows) {
  std::vector<RecordedEvent> events;
  events.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) events.push_back(read_event(rows, row));
  return events;
}

KvEntry read_entry(const Result& rows, int row) {
  KvEntry entry;
  entry.key = pq::from_hex(rows.text(row, 0));
  entry.value = pq::from_hex(rows.text(row, 1));
  entry.version = rows.integer(row, 2);
  entry.metadata = rows.optional_string(row, 3);
  if (!rows.is_null(row, 4)) entry.expires_at = rows.integer(row, 4);
  return entry;
}

WorkflowCheckpoint read_workflow(const Result& rows, int row) {
  return WorkflowCheckpoint{rows.string(row, 0), rows.integer(row, 1), rows.string(row, 2),
                            rows.integer(row, 3)};
}

std::vector<KvEntry> read_entries(const Result& rows) {
  std::vector<KvEntry> entries;
  entries.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) entries.push_back(read_entry(rows, row));
  return entries;
}

int expectation_code(ExpectedVersion expected) {
  switch (expected.kind()) {
    case ExpectedVersion::Kind::any:
      return 0;
    case ExpectedVersion::Kind::no_stream:
      return 1;
    case ExpectedVersion::Kind::stream_exists:
      return 2;
    case ExpectedVersion::Kind::exact:
      return 3;
  }
  return 0;
}

// $1 stream, $2 expectation, $3 expected version: shared by both append statements.
Params check_params(const AppendBatch& batch) {
  Params params;
  params.add(batch.stream)
      .add(std::int64_t{expectation_code(batch.expected)})
      .add(batch.expected.version());
  return params;
}

// Formats timestamps, reusing the last text: a batch's events share one time.
class TimestampText {
 public:
  const std::string& of(Timestamp micros) {
    if (text_.empty() || micros != micros_) {
      micros_ = micros;
      text_ = format_timestamp(micros);
    }
    return text_;
  }

 private:
  Timestamp micros_ = 0;
  std::string text_;
};

// $4…$8: the one event, as values.
Params append_one_params(const AppendBatch& batch) {
  const PendingEvent& event = batch.events.front();
  Params params = check_params(batch);
  params.add(event.id).add(event.type).add(event.data);
  params.add_nullable(event.metadata);
  params.add(format_timestamp(event.created_at));
  return params;
}

// $4…$8: the events as arrays, one element per event, for unnest().
Params append_many_params(const AppendBatch& batch) {
  Params params = check_params(batch);
  TimestampText created_at;
  std::array<std::string, 5> arrays;
  for (auto& array : arrays) array = "{";
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    const PendingEvent& event = batch.events[i];
    if (i > 0) {
      for (auto& array : arrays) array += ',';
    }
    pq::append_array_element(arrays[0], event.id);
    pq::append_array_element(arrays[1], event.type);
    pq::append_array_element(arrays[2], event.data);
    pq::append_array_element(arrays[3], event.metadata);
    pq::append_array_element(arrays[4], created_at.of(event.created_at));
  }
  for (auto& array : arrays) params.add(array += '}');
  return params;
}

std::string copy_rows(const AppendBatch& batch, std::int64_t first_version) {
  std::string rows;
  std::size_t bytes = 0;
  for (const PendingEvent& event : batch.events) {
    bytes += batch.stream.size() + event.data.size() + 128;
  }
  rows.reserve(bytes);
  TimestampText created_at;
  std::int64_t version = first_version;
  for (const PendingEvent& event : batch.events) {
    pq::append_copy_field(rows, batch.stream);
    rows += '\t';
    rows += std::to_string(version++);
    rows += '\t';
    rows += event.id;
    rows += '\t';
    pq::append_copy_field(rows, event.type);
    rows += '\t';
    pq::append_copy_field(rows, event.data);
    rows += '\t';
    pq::append_copy_nullable(rows, event.metadata);
    rows += '\t';
    rows += created_at.of(event.created_at);
    rows += '\n';
  }
  return rows;
}

// Why an append was refused, from a check_stream row: a tombstone, the expectation, or else the
// all-events order; nullopt when all hold (the stream moved on between the append and the check).
std::optional<AppendAttempt> refusal(const Result& checked) {
  AppendAttempt attempt;
  attempt.current_version = checked.integer(0, 0);
  if (checked.text(0, 3) != "t") {
    attempt.outcome = AppendAttempt::Outcome::stream_deleted;
  } else if (checked.text(0, 1) != "t") {
    attempt.outcome = AppendAttempt::Outcome::version_mismatch;
  } else if (checked.text(0, 2) != "t") {
    attempt.outcome = AppendAttempt::Outcome::order_conflict;
  } else {
    return std::nullopt;
  }
  return attempt;
}

class PgSession final : public Session {
 public:
  PgSession(Connection& connection, const PgSql& sql, bool in_transaction,
            const std::string& queue_channel, QueueUpkeep& upkeep, EventNotifier& notifier)
      : connection_(connection),
        sql_(sql),
        in_transaction_(in_transaction),
        queue_channel_(queue_channel),
        notifier_(notifier),
        upkeep_(upkeep) {}

  bool wrote() const { return context_.wrote; }
  // Whether this session appended events, to notify subscribers once they commit.
  bool appended_events() const { return appended_; }

  LockOps& locks() override { return locks_; }
  SnapshotOps& snapshots() override { return snapshots_; }
  StreamOps& streams() override { return streams_; }
  ConsumerOps& consumers() override { return consumers_; }

  AppendAttempt try_append(const AppendBatch& batch) override {
    context_.wrote = true;
    try {
      for (int attempt = 1;; ++attempt) {
        auto done = batch.events.size() <= kMaxRowsPerStatement ? append_by_statement(batch)
                                                                : append_by_copy(batch);
        if (done) {
          if (done->outcome == AppendAttempt::Outcome::appended) appended();
          return *done;
        }
        if (attempt == kAppendAttempts) give_up(batch);
      }
    } catch (const PqError& error) {
      if (error.sqlstate() != kUniqueViolation) throw;
      context_.roll_back_quietly(sql_.rollback_savepoint);
      AppendAttempt attempt;
      attempt.outcome = AppendAttempt::Outcome::duplicate_id;
      attempt.current_version = stream_info(batch.stream).version;
      return attempt;
    }
  }

  std::vector<RecordedEvent> events_by_id(const std::vector<std::string>& ids) override {
    std::string array = "{";
    for (const std::string& id : ids) {
      if (array.size() > 1) array += ',';
      array += id;
    }
    array += '}';
    return read_events(connection_.query(sql_.events_by_id, Params().add(array)));
  }

  std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                         Direction direction, std::size_t limit) override {
    const std::string& sql =
        direction == Direction::forward ? sql_.read_stream_forward : sql_.read_stream_backward;
    Params params;
    params.add(stream).add(from).add(static_cast<std::int64_t>(limit));
    return read_events(connection_.query(sql, params));
  }

  std::vector<RecordedEvent> read_all(const AllReadOptions& options) override {
    Params params;
    params.add(std::to_string(options.after.commit()))
        .add(static_cast<std::int64_t>(options.after.sequence()))
        .add(static_cast<std::int64_t>(options.limit));
    if (options.category) params.add(*options.category);
    if (options.event_type) params.add(*options.event_type);
    if (options.stream) params.add(*options.stream);
    return read_events(
        connection_.query(sql_.read_all(options.category.has_value(),
                                        options.event_type.has_value(), options.stream.has_value()),
                          params));
  }

  std::optional<KvEntry> kv_get(std::string_view ns, std::string_view key) override {
    const Result rows =
        connection_.query(sql_.kv_get, Params().add(ns).add(pq::bytea_literal(key)));
    if (rows.rows() == 0) return std::nullopt;
    return read_entry(rows, 0);
  }

  KvOutcome kv_put(std::string_view ns, const KvWrite& write) override {
    context_.wrote = true;
    Params params = write_params(ns, write);
    const std::string* sql = &sql_.kv_upsert;
    if (write.condition == KvWrite::Condition::absent) sql = &sql_.kv_insert_if_absent;
    if (write.condition == KvWrite::Condition::version) {
      sql = &sql_.kv_update_at_version;
      params.add(write.if_version);  // $7
    }
    const Result written = connection_.query(*sql, params);
    if (written.rows() == 1) return KvOutcome{true, written.integer(0, 0)};
    return KvOutcome{false, live_version(ns, write.key)};
  }

  std::vector<std::int64_t> kv_put_many(std::string_view ns,
                                        const std::vector<KvWrite>& writes) override {
    context_.wrote = true;
    if (writes.size() > kMaxRowsPerStatement && copy_fresh(ns, writes)) {
      return std::vector<std::int64_t>(writes.size(), 1);
    }
    return upsert_many(ns, writes);
  }

  // The fast path of a large batch without TTLs: COPY, as when every key is new. False, with
  // nothing left written, when a key already exists (live or expired).
  bool copy_fresh(std::string_view ns, const std::vector<KvWrite>& writes) {
    // In key order, as every multi-key writer takes its rows (see kv_lock_namespace).
    std::vector<const KvWrite*> ordered;
    for (const KvWrite& write : writes) ordered.push_back(&write);
    std::sort(ordered.begin(), ordered.end(),
              [](const KvWrite* a, const KvWrite* b) { return a->key < b->key; });
    std::string rows;
    for (const KvWrite* each : ordered) {
      const KvWrite& write = *each;
      if (write.ttl_micros) return false;  // Expiry is computed on the server's clock.
      pq::append_copy_field(rows, ns);
      rows +=
          "\t\\" + pq::bytea_literal(write.key) + "\t\\" + pq::bytea_literal(write.value) + '\t';
      pq::append_copy_nullable(
          rows, write.value_is_json ? std::optional<std::string_view>(write.value) : std::nullopt);
      rows += "\t1\t";
      pq::append_copy_nullable(rows, write.metadata);
      rows += "\t\\N\n";
    }
    try {
      context_.atomically([&] {
        connection_.copy_in(sql_.kv_copy, rows);
        return true;
      });
      return true;
    } catch (const PqError& error) {
      if (error.sqlstate() != kUniqueViolation) throw;
      return false;
    }
  }

  std::vector<std::int64_t> upsert_many(std::string_view ns, const std::vector<KvWrite>& writes) {
    std::array<std::string, 5> arrays;
    for (auto& array : arrays) array = "{";
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (i > 0) {
        for (auto& array : arrays) array += ',';
      }
      const KvWrite& write = writes[i];
      pq::append_array_element(arrays[0], pq::bytea_literal(write.key));
      pq::append_array_element(arrays[1], pq::bytea_literal(write.value));
      pq::append_array_element(arrays[2], write.metadata);
      const std::string ttl = write.ttl_micros ? std::to_string(*write.ttl_micros) : "";
      pq::append_array_element(
          arrays[3], write.ttl_micros ? std::optional<std::string_view>(ttl) : std::nullopt);
      arrays[4] += write.value_is_json ? 't' : 'f';
    }
    Params params;
    params.add(ns);
    for (auto& array : arrays) params.add(array += '}');
    const Result written = connection_.query(sql_.kv_upsert_many, params);
    std::unordered_map<std::string, std::int64_t> version_of;
    for (int row = 0; row < written.rows(); ++row) {
      version_of.emplace(pq::from_hex(written.text(row, 0)), written.integer(row, 1));
    }
    std::vector<std::int64_t> versions;
    versions.reserve(writes.size());
    for (const KvWrite& write : writes) versions.push_back(version_of.at(std::string(write.key)));
    return versions;
  }

  KvOutcome kv_erase(std::string_view ns, std::string_view key,
                     std::optional<std::int64_t> if_version) override {
    context_.wrote = true;
    Params params;
    params.add(ns).add(pq::bytea_literal(key));
    if (if_version) params.add(*if_version);
    const Result erased =
        connection_.query(if_version ? sql_.kv_erase_at_version : sql_.kv_erase, params);
    if (erased.rows() == 1) return KvOutcome{erased.text(0, 0) == "t", 0};
    return KvOutcome{false, if_version ? live_version(ns, key) : 0};
  }

  std::size_t kv_erase_many(std::string_view ns, const std::vector<std::string>& keys) override {
    context_.wrote = true;
    std::string array = "{";
    for (const std::string& key : keys) {
      if (array.size() > 1) array += ',';
      pq::append_array_element(array, pq::bytea_literal(key));
    }
    const Result erased = connection_.query(sql_.kv_erase_many, Params().add(ns).add(array + "}"));
    std::size_t live = 0;
    for (int row = 0; row < erased.rows(); ++row) live += erased.text(row, 0) == "t" ? 1 : 0;
    return live;
  }

  std::size_t kv_count(std::string_view ns, const KeyRange& range) override {
    const Result counted = connection_.query(sql_.kv_count, range_params(ns, range));
    return static_cast<std::size_t>(counted.integer(0, 0));
  }

  std::vector<KvEntry> kv_scan(std::string_view ns, const KeyRange& range,
                               std::size_t limit) override {
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit));
    return read_entries(connection_.query(sql_.kv_scan, params));
  }

  std::vector<KvEntry> kv_find(std::string_view ns, JsonField field, std::string_view pattern,
                               const KeyRange& range, std::size_t limit) override {
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit)).add(pattern);
    return read_entries(connection_.query(
        field == JsonField::value ? sql_.kv_find_value : sql_.kv_find_metadata, params));
  }

  std::vector<KvEntry> kv_search(std::string_view ns, const std::vector<std::string>& words,
                                 const KeyRange& range, std::size_t limit) override {
    std::string text;
    for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
    Params params = range_params(ns, range);
    params.add(static_cast<std::int64_t>(limit)).add(text);
    return read_entries(connection_.query(sql_.kv_search, params));
  }

  void kv_clear(std::string_view ns) override {
    context_.wrote = true;
    connection_.query(sql_.kv_clear, Params().add(ns));
  }

  std::size_t kv_purge_expired(std::string_view ns, std::size_t limit) override {
    context_.wrote = true;
    const Result purged = connection_.query(sql_.kv_purge_expired,
                                            Params().add(ns).add(static_cast<std::int64_t>(limit)));
    return static_cast<std::size_t>(purged.rows());
  }

  KvCheckpoint kv_checkpoint_create(std::string_view ns) override {
    context_.wrote = true;
    return context_.atomically([&] {
      const Result header = connection_.query(sql_.kv_checkpoint_header, Params().add(ns));
      const std::int64_t id = header.integer(0, 0);
      connection_.query(sql_.kv_checkpoint_copy, Params().add(id).add(ns));
      const Result totals = connection_.query(sql_.kv_checkpoint_totals, Params().add(id));
      return KvCheckpoint{id, header.integer(0, 1), totals.integer(0, 0), totals.integer(0, 1)};
    });
  }

  std::vector<KvCheckpoint> kv_checkpoint_list(std::string_view ns) override {
    const Result rows = connection_.query(sql_.kv_checkpoint_list, Params().add(ns));
    std::vector<KvCheckpoint> checkpoints;
    for (int row = 0; row < rows.rows(); ++row) {
      checkpoints.push_back(KvCheckpoint{rows.integer(row, 0), rows.integer(row, 1),
                                         rows.integer(row, 2), rows.integer(row, 3)});
    }
    return checkpoints;
  }

  bool kv_checkpoint_restore(std::string_view ns, std::int64_t id) override {
    context_.wrote = true;
    return context_.atomically([&] {
      if (connection_.query(sql_.kv_checkpoint_exists, Params().add(id).add(ns)).rows() == 0) {
        return false;
      }
      connection_.query(sql_.kv_lock_namespace, Params().add(ns));
      connection_.query(sql_.kv_clear, Params().add(ns));
      connection_.query(sql_.kv_checkpoint_restore, Params().add(ns).add(id));
      return true;
    });
  }

  bool kv_checkpoint_delete(std::string_view ns, std::int64_t id) override {
    context_.wrote = true;
    return connection_.query(sql_.kv_checkpoint_delete, Params().add(id).add(ns)).rows() > 0;
  }

  WorkflowCheckpoint workflow_save(std::string_view workflow, std::string_view state) override {
    context_.wrote = true;
    const Params lock =
        Params().add(advisory_lock_key(stable_hash64("workflow " + std::string(workflow))));
    const Params save = Params().add(workflow).add(state);
    const std::array<Command, 2> commands = {Command{sql_.lock_stream, lock},
                                             Command{sql_.workflow_save, save}};
    const auto results = connection_.pipeline(commands);
    return WorkflowCheckpoint{std::string(workflow), results[1].integer(0, 0), std::string(state),
                              results[1].integer(0, 1)};
  }

  std::optional<WorkflowCheckpoint> workflow_get(std::string_view workflow,
                                                 std::optional<std::int64_t> version) override {
    Params params;
    params.add(workflow);
    if (version) params.add(*version);
    const Result rows =
        connection_.query(version ? sql_.workflow_at_version : sql_.workflow_latest, params);
    if (rows.rows() == 0) return std::nullopt;
    return read_workflow(rows, 0);
  }

  std::vector<WorkflowCheckpoint> workflow_list(std::string_view workflow) override {
    const Result rows = connection_.query(sql_.workflow_list, Params().add(workflow));
    std::vector<WorkflowCheckpoint> checkpoints;
    for (int row = 0; row < rows.rows(); ++row) checkpoints.push_back(read_workflow(rows, row));
    return checkpoints;
  }

  std::size_t workflow_delete(std::string_view workflow,
                              std::optional<std::int64_t> version) override {
    context_.wrote = true;
    Params params;
    params.add(workflow);
    params.add_nullable(version);
    return static_cast<std::size_t>(connection_.query(sql_.workflow_delete, params).rows());
  }

  std::size_t workflow_prune(std::string_view workflow, std::size_t keep) override {
    context_.wrote = true;
    const Params params = Params().add(workflow).add(static_cast<std::int64_t>(keep));
    return static_cast<std::size_t>(connection_.query(sql_.workflow_prune, params).rows());
  }

  void queue_create(std::string_view queue, const QueueSettings& settings) override {
    context_.wrote = true;
    Params params;
    params.add(queue)
        .add(static_cast<std::int64_t>(settings.lease.count()))
        .add(std::int64_t{settings.max_attempts})
        .add(static_cast<std::int64_t>(settings.retry_base.count()))
        .add(static_cast<std::int64_t>(settings.retry_cap.count()));
    if (settings.expire_after) {
      params.add(static_cast<std::int64_t>(settings.expire_after->count()));
    } else {
      params.add_null();
    }
    params.add(settings.dead_letters ? "t" : "f");
    connection_.query(sql_.queue_create, params);
  }

  // One round trip and one transaction: the queue's settings (to tell an unknown queue), the
  // statements of every item, and the notification.
  std::vector<Produced> queue_produce(std::string_view queue,
                                      const std::vector<PendingMessage>& messages) override {
    context_.wrote = true;
    const bool keyless = std::none_of(messages.begin(), messages.end(),
                                      [](const PendingMessage& m) { return m.dedup_key; });
    if (keyless && messages.size() > 1) return produce_keyless(queue, messages);
    const Params q = Params().add(queue);
    std::deque<Params> params;  // The commands refer to them: they must not move.
    std::vector<Command> commands = {Command{sql_.queue_config, q}};
    std::vector<std::size_t> insert_at;
    for (const PendingMessage& message : messages) {
      const Params* key = nullptr;
      if (message.dedup_key) {
        key = &params.emplace_back(Params().add(queue).add(*message.dedup_key));
        commands.push_back(Command{sql_.queue_unkey_expired, *key});
      }
      Params& insert = params.emplace_back();
      insert.add(queue).add(pq::bytea_literal(message.payload));
      insert.add_nullable(message.headers);
      insert.add(std::int64_t{message.priority}).add(message.delay_ms);
      insert.add_nullable(message.expires_in_ms);
      insert.add_nullable(message.dedup_key);
      insert_at.push_back(commands.size());
      commands.push_back(Command{sql_.queue_insert, insert});
      // The item holding the key, read when the insert found the key taken.
      if (key) commands.push_back(Command{sql_.queue_dedup_id, *key});
    }
    // Delivered at commit; PostgreSQL folds identical notifications of one transaction into one.
    const Params notify = Params().add(queue_channel_).add(queue);
    commands.push_back(Command{sql_.notify, notify});
    const auto results = context_.atomic_pipeline(commands);
    if (results[0].rows() == 0) throw_unknown_queue(queue);
    std::vector<Produced> produced;
    for (const std::size_t at : insert_at) {
      const bool inserted = results[at].rows() == 1;
      produced.push_back(Produced{results[inserted ? at : at + 1].integer(0, 0), !inserted});
    }
    return produced;
  }

  // One round trip when items are ready. Expired leases and items are seen to at most once a
  // second per process, and whenever the claim alone comes back short.
  std::vector<LeasedMessage> queue_lease(std::string_view queue, std::size_t max_items,
                                         std::optional<std::int64_t> lease_ms,
                                         std::string_view lease) override {
    context_.wrote = true;
    const bool swept = upkeep_.sweep_due(queue);
    auto leased = claim(queue, max_items, lease_ms, lease, swept);
    if (leased.size() < max_items && !swept) {
      upkeep_.swept(queue);
      auto more = claim(queue, max_items - leased.size(), lease_ms, lease, true);
      leased.insert(leased.end(), more.begin(), more.end());
    }
    upkeep_.churned(leased.size());
    std::sort(leased.begin(), leased.end(), [](const auto& a, const auto& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
    });
    return leased;
  }

  bool queue_extend(std::string_view queue, const LeaseToken& token,
                    std::optional<std::int64_t> lease_ms) override {
    context_.wrote = true;
    Params params = held_params(queue, token);
    params.add_nullable(lease_ms);
    if (connection_.query(sql_.queue_extend, params).rows() == 1) return true;
    queue_config(queue);  // Throws for an unknown queue; else the token was stale.
    return false;
  }

  std::size_t queue_complete(std::string_view queue,
                             const std::vector<LeaseToken>& tokens) override {
    context_.wrote = true;
    std::string items = "{";
    std::string leases = "{";
    for (const LeaseToken& token : tokens) {
      if (items.size() > 1) items += ',', leases += ',';
      items += std::to_string(token.item);
      leases += token.lease;  // Hex digits only: nothing to quote.
    }
    const Params params = Params().add(queue).add(items + "}").add(leases + "}");
    const auto completed =
        static_cast<std::size_t>(connection_.query(sql_.queue_complete, params).rows());
    // Only a call that completed nothing pays a round trip to tell an unknown queue apart.
    if (completed == 0) queue_config(queue);
    return completed;
  }

  bool queue_retry(std::string_view queue, const LeaseToken& token,
                   std::optional<std::int64_t> delay_ms, double jitter) override {
    context_.wrote = true;
    const bool held = context_.atomically([&] {
      const Result rows = connection_.query(sql_.queue_held_attempts, held_params(queue, token));
      if (rows.rows() == 0) return false;
      const std::int64_t attempts = rows.integer(0, 0);
      const QueueConfig config = read_queue_config(rows, 1);
      if (attempts >= config.max_attempts) {
        return bury_held(queue, token, "retried after its last attempt");
      }
      const std::int64_t delay = delay_ms.value_or(backoff_ms(config, attempts, jitter));
      connection_.query(sql_.queue_give_back, held_params(queue, token).add(delay));
      return true;
    });
    if (!held) queue_config(queue);  // Throws for an unknown queue; else the token was stale.
    return held;
  }

  bool queue_fail(std::string_view queue, const LeaseToken& token,
                  std::string_view reason) override {
    context_.wrote = true;
    if (bury_held(queue, token, reason)) return true;
    queue_config(queue);  // Throws for an unknown queue; else the token was stale.
    return false;
  }

  std::vector<std::string> queue_names() override {
    const Result rows = connection_.query(sql_.queue_names, Params());
    std::vector<std::string> names;
    for (int row = 0; row < rows.rows(); ++row) names.push_back(rows.string(row, 0));
    return names;
  }

  QueueStats queue_stats(std::string_view queue) override {
    const QueueConfig config = queue_config(queue);
    const Result rows = connection_.query(sql_.queue_stats, Params().add(queue));
    QueueStats stats{rows.integer(0, 0), rows.integer(0, 1), rows.integer(0, 2),
                     rows.integer(0, 4), std::nullopt,       config.paused};
    if (!rows.is_null(0, 3)) stats.oldest_ready_age_seconds = std::stod(rows.string(0, 3));
    return stats;
  }

  void queue_set_paused(std::string_view queue, bool paused) override {
    context_.wrote = true;
    if (connection_.query(sql_.queue_set_paused, Params().add(queue).add(paused ? "t" : "f"))
            .rows() == 0) {
      throw_unknown_queue(queue);
    }
  }

  std::size_t queue_purge(std::string_view queue) override {
    context_.wrote = true;
    queue_config(queue);
    return static_cast<std::size_t>(
        connection_.query(sql_.queue_purge, Params().add(queue)).rows());
  }

  std::vector<DeadLetter> queue_dead_letters(std::string_view queue, std::int64_t after_id,
                                             std::size_t limit) override {
    queue_config(queue);
    const Result rows =
        connection_.query(sql_.queue_dead_letters,
                          Params().add(queue).add(after_id).add(static_cast<std::int64_t>(limit)));
    std::vector<DeadLetter> dead;
    for (int row = 0; row < rows.rows(); ++row) {
      dead.push_back(DeadLetter{rows.integer(row, 0), pq::from_hex(rows.text(row, 1)),
                                rows.optional_string(row, 2), rows.optional_string(row, 3),
                                static_cast<int>(rows.integer(row, 4)), rows.string(row, 5),
                                rows.string(row, 6), rows.integer(row, 7)});
    }
    return dead;
  }

  std::size_t queue_requeue(std::string_view queue,
                            const std::optional<std::vector<std::int64_t>>& ids) override {
    context_.wrote = true;
    const QueueConfig config = queue_config(queue);
    Params params;
    params.add(queue);
    if (ids) {
      std::string array = "{";
      for (const std::int64_t id : *ids) {
        if (array.size() > 1) array += ',';
        array += std::to_string(id);
      }
      params.add(array + "}");
    } else {
      params.add_null();
    }
    params.add_nullable(config.expire_ms);
    return static_cast<std::size_t>(connection_.query(sql_.queue_requeue, params).rows());
  }

  std::size_t queue_purge_dead(std::string_view queue) override {
    context_.wrote = true;
    queue_config(queue);
    return static_cast<std::size_t>(
        connection_.query(sql_.queue_purge_dead, Params().add(queue)).rows());
  }

  StreamInfo stream_info(std::string_view stream) override {
    const Result result = connection_.query(sql_.stream_info, Params().add(stream));
    return StreamInfo{result.text(0, 1) == "t", result.integer(0, 0), result.text(0, 2) == "t"};
  }

 private:
  // Outside a transaction the append has committed: subscribers may hear of it now.
  void appended() {
    appended_ = true;
    if (!in_transaction_) notifier_.appended();
  }

  // One round trip: lock the stream, then insert the events if the expectation holds, in one
  // statement. Only a refused append pays a second round trip, to learn why.
  std::optional<AppendAttempt> append_by_statement(const AppendBatch& batch) {
    const bool one = batch.events.size() == 1;
    const Params lock = Params().add(advisory_lock_key(batch.stream_key));
    const Params append = one ? append_one_params(batch) : append_many_params(batch);
    const Params none;
    std::vector<Command> commands;
    if (in_transaction_) commands.push_back(Command{sql_.savepoint, none});
    commands.push_back(Command{sql_.lock_stream, lock});
    commands.push_back(Command{one ? sql_.append_one : sql_.append_many, append});
    if (in_transaction_) commands.push_back(Command{sql_.release_savepoint, none});
    const auto results = connection_.pipeline(commands);
    const Result& written = results[in_transaction_ ? 2 : 1];
    if (written.rows() == 0)
      return refusal(connection_.query(sql_.check_stream, check_params(batch)));
    AppendAttempt attempt;
    attempt.result.version = 0;
    for (int row = 0; row < written.rows(); ++row) {
      if (written.integer(row, 0) < attempt.result.version) continue;
      attempt.result = AppendResult{
          written.integer(row, 0),
          Position(written.unsigned_integer(row, 2), written.unsigned_integer(row, 1))};
    }
    attempt.current_version =
        attempt.result.version - static_cast<std::int64_t>(batch.events.size());
    return attempt;
  }

  // After kAppendAttempts refusals that no longer held when checked: a stream this busy is a
  // conflict the caller may retry.
  [[noreturn]] static void give_up(const AppendBatch& batch) {
    throw Error(ErrorCode::conflict,
                "stream '" + batch.stream + "' kept changing under the append; retry");
  }

  // Three round trips: lock the stream and check the expectation; COPY the events; read the last
  // position and commit.
  std::optional<AppendAttempt> append_by_copy(const AppendBatch& batch) {
    const Params lock = Params().add(advisory_lock_key(batch.stream_key));
    const Params check = check_params(batch);
    const Params none;
    const std::array<Command, 3> begin = {
        Command{in_transaction_ ? sql_.savepoint : sql_.begin, none},
        Command{sql_.lock_stream, lock}, Command{sql_.check_stream, check}};
    try {
      const auto results = connection_.pipeline(begin);
      const Result& checked = results[2];
      if (auto refused = refusal(checked)) {
        context_.roll_back_quietly(sql_.rollback_savepoint);
        return refused;
      }
      const std::int64_t current = checked.integer(0, 0);
      connection_.copy_in(sql_.copy_events, copy_rows(batch, current + 1));
      const std::array<Command, 2> end = {
          Command{sql_.last_position, none},
          Command{in_transaction_ ? sql_.release_savepoint : sql_.commit, none}};
      const auto ended = connection_.pipeline(end);
      AppendAttempt attempt;
      attempt.current_version = current;
      attempt.result =
          AppendResult{current + static_cast<std::int64_t>(batch.events.size()),
                       Position(ended[0].unsigned_integer(0, 0), ended[0].unsigned_integer(0, 1))};
      return attempt;
    } catch (const PqError& error) {
      if (error.sqlstate() != kUniqueViolation) context_.roll_back_quietly(sql_.rollback_savepoint);
      throw;
    }
  }

  // A batch without dedup keys: one INSERT of arrays, in one round trip.
  std::vector<Produced> produce_keyless(std::string_view queue,
                                        const std::vector<PendingMessage>& messages) {
    std::array<std::string, 5> arrays;
    for (auto& array : arrays) array = "{";
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const PendingMessage& message = messages[i];
      if (i > 0) {
        for (auto& array : arrays) array += ',';
      }
      pq::append_array_element(arrays[0], pq::bytea_literal(message.payload));
      pq::append_array_element(arrays[1], message.headers);
      arrays[2] += std::to_string(message.priority);
      arrays[3] += std::to_string(message.delay_ms);
      arrays[4] += message.expires_in_ms ? std::to_string(*message.expires_in_ms) : "NULL";
    }
    const Params q = Params().add(queue);
    Params insert;
    insert.add(queue);
    for (auto& array : arrays) insert.add(array += '}');
    const Params notify = Params().add(queue_channel_).add(queue);
    const std::array<Command, 3> commands = {Command{sql_.queue_config, q},
                                             Command{sql_.queue_insert_many, insert},
                                             Command{sql_.notify, notify}};
    const auto results = context_.atomic_pipeline(commands);
    if (results[0].rows() == 0) throw_unknown_queue(queue);
    std::vector<std::int64_t> ids;
    for (int row = 0; row < results[1].rows(); ++row) ids.push_back(results[1].integer(row, 0));
    std::sort(ids.begin(), ids.end());
    std::vector<Produced> produced;
    for (const std::int64_t id : ids) produced.push_back(Produced{id, false});
    return produced;
  }

  QueueConfig queue_config(std::string_view queue) {
    const Result rows = connection_.query(sql_.queue_config, Params().add(queue));
    if (rows.rows() == 0) throw_unknown_queue(queue);
    return read_queue_config(rows, 0);
  }

  // The settings in the columns of queue_config, from `column` on, of the first row.
  static QueueConfig read_queue_config(const Result& rows, int column) {
    QueueConfig config;
    config.lease_ms = rows.integer(0, column);
    config.max_attempts = rows.integer(0, column + 1);
    config.retry_base_ms = rows.integer(0, column + 2);
    config.retry_cap_ms = rows.integer(0, column + 3);
    if (!rows.is_null(0, column + 4)) config.expire_ms = rows.integer(0, column + 4);
    config.dead_letters = rows.text(0, column + 5) == "t";
    config.paused = rows.text(0, column + 6) == "t";
    return config;
  }

  static Params held_params(std::string_view queue, const LeaseToken& token) {
    return Params().add(queue).add(token.item).add(token.lease);
  }

  bool bury_held(std::string_view queue, const LeaseToken& token, std::string_view reason) {
    return connection_.query(sql_.queue_bury_held, held_params(queue, token).add(reason))
               .integer(0, 0) == 1;
  }

  // One round trip: the claim, after the sweeps when `sweep`. On its own, in the pipeline's
  // implicit transaction, committed without waiting for the disk (see queue_plan_lease_alone);
  // in the caller's transaction, in a savepoint.
  std::vector<LeasedMessage> claim(std::string_view queue, std::size_t max_items,
                                   std::optional<std::int64_t> lease_ms, std::string_view lease,
                                   bool sweep) {
    const Params none;
    const Params q = Params().add(queue);
    Params claim_params = Params().add(queue).add(static_cast<std::int64_t>(max_items));
    claim_params.add_nullable(lease_ms).add(lease);
    std::vector<Command> commands = {
        Command{in_transaction_ ? sql_.queue_plan_by_index : sql_.queue_plan_lease_alone, none}};
    const std::size_t config_at = commands.size();
    if (sweep) {
      commands.push_back(Command{sql_.queue_config, q});
      commands.push_back(Command{sql_.queue_bury_exhausted, q});
      commands.push_back(Command{sql_.queue_reclaim, q});
      commands.push_back(Command{sql_.queue_sweep, q});
    }
    const std::size_t claim_at = commands.size();
    commands.push_back(Command{sql_.queue_claim, claim_params});
    if (in_transaction_) commands.push_back(Command{sql_.queue_plan_default, none});
    const auto results = context_.atomic_pipeline(commands);
    if (sweep && results[config_at].rows() == 0) throw_unknown_queue(queue);
    const Result& rows = results[claim_at];
    std::vector<LeasedMessage> leased;
    for (int row = 0; row < rows.rows(); ++row) {
      leased.push_back(
          LeasedMessage{rows.integer(row, 0), pq::from_hex(rows.text(row, 1)),
                        rows.optional_string(row, 2), static_cast<int>(rows.integer(row, 3)),
                        static_cast<int>(rows.integer(row, 4)), "", rows.integer(row, 5)});
    }
    return leased;
  }

  std::int64_t live_version(std::string_view ns, std::string_view key) {
    const Result rows =
        connection_.query(sql_.kv_live_version, Params().add(ns).add(pq::bytea_literal(key)));
    return rows.rows() == 0 ? 0 : rows.integer(0, 0);
  }

  // $1 namespace, $2 key, $3 value, $4 metadata, $5 TTL in microseconds, $6 value is JSON.
  static Params write_params(std::string_view ns, const KvWrite& write) {
    Params params;
    params.add(ns).add(pq::bytea_literal(write.key)).add(pq::bytea_literal(write.value));
    params.add_nullable(write.metadata);
    params.add_nullable(write.ttl_micros);
    params.add(write.value_is_json ? "t" : "f");
    return params;
  }

  static Params range_params(std::string_view ns, const KeyRange& range) {
    Params params;
    params.add(ns).add(pq::bytea_literal(range.from));
    if (range.to) {
      params.add(pq::bytea_literal(*range.to));
    } else {
      params.add_null();
    }
    return params;
  }

  Connection& connection_;
  const PgSql& sql_;
  const bool in_transaction_;
  const std::string& queue_channel_;  // Where producers NOTIFY waiting leases.
  EventNotifier& notifier_;
  bool appended_ = false;
  QueueUpkeep& upkeep_;
  PgContext context_{connection_, sql_, in_transaction_};
  PgLocks locks_{context_};
  PgSnapshots snapshots_{context_};
  PgStreams streams_{context_};
  PgConsumers consumers_{context_};
};

Error to_error(const PqError& error, bool wrote, const PostgresSettings& settings) {
  const std::string message = "postgres: " + scrub_password(error.what(), settings.libpq_url);
  const std::string& state = error.sqlstate();
  if (error.connection_lost() && state.empty()) {
    if (wrote) {
      return Error(ErrorCode::unknown_outcome,
                   message +
                       " (the connection was lost after a write was sent; it may or may "
                       "not have been applied)");
    }
    return Error(ErrorCode::unavailable, message);
  }
  if (state == "57014") return Error(ErrorCode::timeout, message + " (statement_timeout)");
  if (state == "55P03") return Error(ErrorCode::timeout, message);
  if (state == "40001" || state == "40P01") return Error(ErrorCode::conflict, message);
  if (state.starts_with("08") || state.starts_with("57P") || state == "53300") {
    return Error(ErrorCode::unavailable, message);
  }
  if (state.starts_with("22")) return Error(ErrorCode::invalid_argument, message);
  return Error(ErrorCode::internal, message);
}

// libpq's startup options: the URL's own plus Strata's statement_timeout. Parsing the URL with
// libpq here reports a parameter it does not know, by name, before any connection is tried.
std::string connection_options(const PostgresSettings& settings) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(settings.libpq_url.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw Error(ErrorCode::invalid_argument, "invalid store URL '" + settings.redacted + "': " +
                                                 scrub_password(message, settings.libpq_url));
  }
  std::string options;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "options" && option->val != nullptr) {
      options = option->val;
    }
  }
  PQconninfoFree(parsed);
  if (settings.statement_timeout) {
    if (!options.empty()) options += ' ';
    options += "-c statement_timeout=" + std::to_string(settings.statement_timeout->count());
  }
  return options;
}

class PgBackend final : public Backend {
 public:
  explicit PgBackend(const PostgresSettings& settings)
      : settings_(settings),
        sql_(quote_identifier(settings.schema)),
        connect_options_(connection_options(settings)),
        channels_{"strata_queues_" + std::to_string(stable_hash64(settings.schema)),
                  "strata_events_" + std::to_string(stable_hash64(settings.schema))},
        pool_(
            PoolSettings{settings.max_connections, settings.min_connections,
                         settings.acquire_timeout, 3, std::chrono::milliseconds(50)},
            [this] { return connect(); }, &reusable),
        upkeep_([this] { return connect(); },
                settings.queue_vacuum ? "VACUUM (INDEX_CLEANUP ON, SKIP_LOCKED) " +
                                            quote_identifier(settings.schema) + ".queue_items"
                                      : ""),
        notifier_([this] { return connect(); }, quote_identifier(channels_.events)) {}

  ~PgBackend() override {
    stopping_ = true;
    if (listener_.joinable()) listener_.join();
  }

  std::string_view name() const override { return "postgres"; }
  PoolStats pool_stats() override { return pool_.stats(); }
  int latest_schema_version() const override { return postgres_migrations().back().version; }

  // Woken by the listener on every NOTIFY of this store's channels; polls as a fallback (when
  // LISTEN cannot work, e.g. through PgBouncer in transaction mode).
  void wait_for_work(std::chrono::steady_clock::time_point until) override {
    wait_for(signals_.queues, until);
  }

  void wait_for_events(std::chrono::steady_clock::time_point until) override {
    wait_for(signals_.events, until);
  }

  void migrate() override {
    guarded([&](Connection& connection) {
      const auto migrations = postgres_migrations();
      if (applied_version(connection) >= migrations.back().version) return;
      for (const Migration& migration : migrations) apply(connection, migration);
    });
  }

  int schema_version() override {
    int version = 0;
    guarded([&](Connection& connection) { version = std::max(0, applied_version(connection)); });
    return version;
  }

  void run(const SessionFn& fn) override {
    bool wrote = false;
    guarded(
        [&](Connection& connection) {
          PgSession session(connection, sql_, false, channels_.queues, upkeep_, notifier_);
          try {
            fn(session);
          } catch (...) {
            wrote = session.wrote();
            throw;
          }
        },
        &wrote);
  }

  void run_transaction(const SessionFn& fn) override {
    guarded([&](Connection& connection) {
      connection.exec(sql_.begin);
      PgSession session(connection, sql_, true, channels_.queues, upkeep_, notifier_);
      try {
        fn(session);
      } catch (...) {
        rollback_quietly(connection);
        throw;
      }
      commit(connection);
      if (session.appended_events()) notifier_.appended();
    });
  }

 private:
  static bool reusable(Connection& connection) {
    if (connection.is_broken()) return false;
    if (connection.transaction_status() == PQTRANS_IDLE) return true;
    rollback_quietly(connection);
    return !connection.is_broken() && connection.transaction_status() == PQTRANS_IDLE;
  }

  static void rollback_quietly(Connection& connection) noexcept {
    if (connection.is_broken()) return;
    try {
      connection.exec("ROLLBACK");
    } catch (const PqError&) {
      // Broken now; the pool drops it.
    }
  }

  void commit(Connection& connection) {
    try {
      connection.exec("COMMIT");
    } catch (const PqError& error) {
      if (!error.connection_lost()) throw;
      throw Error(ErrorCode::unknown_outcome,
                  "postgres: the connection was lost during COMMIT; the transaction may or may "
                  "not have been applied: " +
                      scrub_password(error.what(), settings_.libpq_url));
    }
  }

  // The highest applied migration, or -1 when the migrations table does not exist yet.
  int applied_version(Connection& connection) {
    try {
      const Result result = connection.query(sql_.applied_version, Params());
      return static_cast<int>(result.integer(0, 0));
    } catch (const PqError& error) {
      if (error.sqlstate() == kUndefinedTable || error.sqlstate() == kUndefinedSchema) return -1;
      throw;
    }
  }

  // Applies `migration` unless applied, holding the migrations lock, so that processes opening
  // a fresh database together apply each migration exactly once.
  void apply(Connection& connection, const Migration& migration) {
    connection.exec("BEGIN");
    try {
      connection.query(
          sql_.lock_migrations,
          Params().add(advisory_lock_key(stable_hash64("strata migrations " + settings_.schema))));
      connection.exec(sql_.create_migrations_table);
      const Params version = Params().add(std::int64_t{migration.version});
      if (connection.query(sql_.migration_applied, version).rows() == 0) {
        connection.exec(with_schema(migration.sql, sql_.schema));
        connection.query(sql_.record_migration,
                         Params().add(std::int64_t{migration.version}).add(migration.name));
      }
      connection.exec("COMMIT");
    } catch (...) {
      rollback_quietly(connection);
      throw;
    }
  }

  void wait_for(WorkSignal& signal, std::chrono::steady_clock::time_point until) {
    std::call_once(listener_started_, [this] { listener_ = std::thread([this] { listen(); }); });
    signal.wait_until(std::min(until, std::chrono::steady_clock::now() + kPollInterval));
  }

  // The dedicated LISTEN connection, on a thread of its own until the backend is destroyed.
  void listen() {
    while (!stopping_) {
      try {
        auto connection = connect();
        connection->exec("LISTEN " + quote_identifier(channels_.queues) + "; LISTEN " +
                         quote_identifier(channels_.events));
        // Work may have come while nobody listened.
        signals_.queues.notify();
        signals_.events.notify();
        while (!stopping_) {
          for (const std::string& channel :
               connection->wait_for_notifications(std::chrono::milliseconds(100))) {
            (channel == channels_.events ? signals_.events : signals_.queues).notify();
          }
        }
      } catch (const std::exception&) {
        // Waiters poll meanwhile; try again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  std::unique_ptr<Connection> connect() {
    std::vector<const char*> keywords = {"dbname", "fallback_application_name"};
    std::vector<const char*> values = {settings_.libpq_url.c_str(), "strata"};
    if (!connect_options_.empty()) {
      keywords.push_back("options");
      values.push_back(connect_options_.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    try {
      return std::make_unique<Connection>(keywords, values, settings_.prepared_statements);
    } catch (const PqError& error) {
      throw Error(ErrorCode::unavailable, "cannot connect to " + settings_.redacted + ": " +
                                              scrub_password(error.what(), settings_.libpq_url));
    }
  }

  template <class Fn>
  void guarded(Fn&& fn, const bool* wrote = nullptr) {
    try {
      auto connection = pool_.acquire();
      fn(*connection);
    } catch (const PqError& error) {
      if (error.connection_lost()) pool_.drop_idle();
      throw to_error(error, wrote != nullptr && *wrote, settings_);
    }
  }

  static constexpr std::chrono::milliseconds kPollInterval{1000};
  const PostgresSettings settings_;
  const PgSql sql_;
  const std::string connect_options_;
  const Channels channels_;
  Pool<Connection> pool_;
  QueueUpkeep upkeep_;
  EventNotifier notifier_;
  Signals signals_;
  std::once_flag listener_started_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
};

}  // namespace

std::shared_ptr<Backend> open_postgres_backend(const PostgresSettings& settings) {
  return std::make_shared<PgBackend>(settings);
}

}  // namespace strata::detail
