// Event streams on PostgreSQL: appends in one round trip (COPY for large batches), reads in the
// all-events order by transaction id (see docs/ordering.md).
#include <array>

#include "core/validate.h"
#include "postgres/pg_event_sql.h"
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Command;
using pq::Params;
using pq::PqError;
using pq::Result;

constexpr int kAppendAttempts = 5;  // A refusal that no longer held when checked is tried again.

// Output columns get names of their own: ORDER BY tx_id must sort the xid8 column, not its text.
constexpr std::string_view kEventColumns =
    "e.tx_id::text AS commit_text, e.position, e.stream, e.version, e.id::text AS id_text, "
    "e.type, e.data, e.metadata, (extract(epoch FROM e.created_at) * 1000000)::bigint AS micros ";
constexpr std::string_view kFromEvents = "FROM {schema}.events e ";

// Rows of kEventColumns.
std::vector<RecordedEvent> read_events(const Result& rows) {
  const int commit = rows.column("commit_text");
  const int position = rows.column("position");
  const int stream = rows.column("stream");
  const int version = rows.column("version");
  const int id = rows.column("id_text");
  const int type = rows.column("type");
  const int data = rows.column("data");
  const int metadata = rows.column("metadata");
  const int created_at = rows.column("micros");
  std::vector<RecordedEvent> events(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    RecordedEvent& event = events[static_cast<std::size_t>(row)];
    event.position =
        Position(rows.unsigned_integer(row, commit), rows.unsigned_integer(row, position));
    event.stream = rows.string(row, stream);
    event.version = rows.integer(row, version);
    event.id = rows.string(row, id);
    event.type = rows.string(row, type);
    event.data = rows.string(row, data);
    event.metadata = rows.optional_string(row, metadata);
    event.created_at = rows.integer(row, created_at);
  }
  return events;
}

// Whether the expectation holds: $2 is 0 any, 1 no stream, 2 stream exists, 3 exact ($3).
constexpr std::string_view kVersionHolds = R"sql(
  CASE $2::int
    WHEN 0 THEN true
    WHEN 1 THEN last.version IS NULL
    WHEN 2 THEN last.version IS NOT NULL
    ELSE coalesce(last.version, 0) = $3::bigint
  END)sql";

// A transaction that already holds an xid may not append behind a later one: its events would
// sort before the stream's earlier versions in the all-events order.
constexpr std::string_view kOrderHolds =
    "coalesce(last.tx_id <= (pg_current_xact_id_if_assigned()::text::bigint + "
    "(SELECT xid_offset FROM {schema}.feed))::text::xid8, true)";

// Inserts `values` (which may use `last`) selected from the stream's state and `from`, if the
// expectation and the order hold and the stream is not tombstoned. Returns the rows written:
// none when refused.
constexpr Statement conditional_insert(std::string_view values, std::string_view from) {
  return Statement{
      "INSERT INTO {schema}.events (stream, version, id, type, data, metadata, created_at, "
      "checksum)\n"
      "SELECT ",
      values,
      kStreamStateSql,
      from,
      "\nWHERE ",
      kVersionHolds,
      " AND ",
      kOrderHolds,
      " AND NOT last.deleted\nRETURNING version, position, tx_id::text AS commit_text"};
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

// $1 stream, $2 expectation, $3 expected version: shared by every append statement.
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

// check_params, then $4 id, $5 type, $6 data, $7 metadata, $8 created at, $9 checksum.
constexpr Statement kAppendOne = conditional_insert(
    "$1::text, coalesce(last.version, 0) + 1, $4::uuid, $5::text, $6::json, $7::json, "
    "$8::timestamptz, $9::bigint",
    "");

Params append_one_params(const AppendBatch& batch) {
  const PendingEvent& event = batch.events.front();
  Params params = check_params(batch);
  params.add(event.id).add(event.type).add(event.data);
  params.add_nullable(event.metadata);
  params.add(format_timestamp(event.created_at));
  params.add(std::int64_t{event.checksum});
  return params;
}

// check_params, then $4…$9 as kAppendOne's, as arrays with one element per event.
constexpr Statement kAppendMany = conditional_insert(
    "$1::text, coalesce(last.version, 0) + e.ordinal, e.id, e.type, e.data, e.metadata, "
    "e.created_at, e.checksum",
    ",\n  unnest($4::uuid[], $5::text[], $6::json[], $7::json[], $8::timestamptz[], "
    "$9::bigint[])\n"
    "    WITH ORDINALITY AS e (id, type, data, metadata, created_at, checksum, ordinal)");

Params append_many_params(const AppendBatch& batch) {
  Params params = check_params(batch);
  TimestampText created_at;
  std::array<std::string, 6> arrays = {"{", "{", "{", "{", "{", "{"};
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
    arrays[5] += std::to_string(event.checksum);
  }
  for (auto& array : arrays) params.add(array += '}');
  return params;
}

// check_params. One row: the stream's version, whether the expectation holds, whether the
// order does, whether the stream takes events (is not tombstoned).
constexpr Statement kCheckStream{"SELECT coalesce(last.version, 0) AS version, ",
                                 kVersionHolds,
                                 " AS version_holds, ",
                                 kOrderHolds,
                                 " AS order_holds, NOT last.deleted AS open",
                                 kStreamStateSql};

// Why an append was refused, from a kCheckStream row: a tombstone, the expectation, or else the
// all-events order; nullopt when all hold (the stream moved on between the append and the check).
std::optional<AppendAttempt> refusal(const Result& checked) {
  AppendAttempt attempt;
  attempt.current_version = checked.integer(0, checked.column("version"));
  if (checked.text(0, checked.column("open")) != "t") {
    attempt.outcome = AppendAttempt::Outcome::stream_deleted;
  } else if (checked.text(0, checked.column("version_holds")) != "t") {
    attempt.outcome = AppendAttempt::Outcome::version_mismatch;
  } else if (checked.text(0, checked.column("order_holds")) != "t") {
    attempt.outcome = AppendAttempt::Outcome::order_conflict;
  } else {
    return std::nullopt;
  }
  return attempt;
}

constexpr Statement kCopyEvents{
    "COPY {schema}.events (stream, version, id, type, data, metadata, created_at, checksum) "
    "FROM STDIN"};

// Rows for kCopyEvents, versions from `first_version` on.
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
    rows += '\t';
    rows += std::to_string(event.checksum);
    rows += '\n';
  }
  return rows;
}

// The position of the transaction's last event: its commit id, the transaction id plus the
// feed's offset (as the events table's default for tx_id adds it).
constexpr Statement kLastPosition{
    "SELECT tx_id::text AS commit_text, position FROM {schema}.events WHERE tx_id = "
    "(pg_current_xact_id()::text::bigint + (SELECT xid_offset FROM {schema}.feed))::text::xid8 "
    "ORDER BY position DESC LIMIT 1"};

// $1 the ids, as a uuid array.
constexpr Statement kEventsById{"SELECT ", kEventColumns, kFromEvents,
                                "WHERE e.id = ANY($1::uuid[])"};

// $1 stream, $2 first version, $3 limit, $4 the time read as of (NULL: now).
constexpr std::string_view kAsOf4 =
    " AND e.created_at <= coalesce($4::timestamptz, 'infinity') AND ";
constexpr Statement kReadStreamForward{"SELECT ",
                                       kEventColumns,
                                       kFromEvents,
                                       "WHERE e.stream = $1::text AND e.version >= $2::bigint",
                                       kAsOf4,
                                       kRetainedSql,
                                       " ORDER BY e.version LIMIT $3::bigint"};
constexpr Statement kReadStreamBackward{"SELECT ",
                                        kEventColumns,
                                        kFromEvents,
                                        "WHERE e.stream = $1::text AND e.version <= $2::bigint",
                                        kAsOf4,
                                        kRetainedSql,
                                        " ORDER BY e.version DESC LIMIT $3::bigint"};

// The horizon of the all-events order, as a commit id: no event can commit below it later. A
// transaction running when the statement's snapshot was taken (in its xip) holds the horizon
// back unless pg_locks shows its id still held, by its owner (granted, exclusive: a session
// waiting for it holds a share lock on it), by a backend that holds no appender's lock: one
// that may still append, or that has ended since (its events committed, but not in this
// snapshot), holds it back. Transactions that start later get ids at or above the snapshot's
// xmax; the reader's own transaction, which no snapshot of its own lists, holds it back too.
// Backends are matched by pid: a virtual transaction id reads as x/0 while it ends. A replica's
// snapshots list no ids (and its pg_locks none of the primary's): there the horizon is xmin.
// See docs/ordering.md.
constexpr std::string_view kHorizon = R"sql(
WITH locks AS MATERIALIZED (
  SELECT locktype, pid, transactionid, classid, objsubid, database, mode, granted
  FROM pg_locks WHERE locktype IN ('transactionid', 'advisory')
), appenders AS (
  SELECT pid FROM locks
  WHERE locktype = 'advisory' AND pid IS NOT NULL AND classid = )sql";
constexpr std::string_view kHorizonEnd = R"sql( AND objsubid = 2
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
), others_running AS (
  SELECT transactionid FROM locks
  WHERE locktype = 'transactionid' AND granted AND mode = 'ExclusiveLock'
    AND pid NOT IN (SELECT pid FROM appenders)
), horizon AS (
  SELECT (CASE WHEN pg_is_in_recovery()
            THEN pg_snapshot_xmin(pg_current_snapshot())::text::bigint
            ELSE least(coalesce(min(x::text::bigint),
                                pg_snapshot_xmax(pg_current_snapshot())::text::bigint),
                       pg_current_xact_id_if_assigned()::text::bigint)
          END + (SELECT xid_offset FROM {schema}.feed))::text::xid8 AS commit_id
  FROM pg_snapshot_xip(pg_current_snapshot()) AS x
  WHERE (x::text::bigint % 4294967296)::text::xid NOT IN (SELECT transactionid FROM others_running)
)
)sql";

// A read (or a count) of the all-events order, its text built for the filters it has (each
// names its parameter by number) and qualified per call. Only events below the horizon are read:
// they are final, so no event can later appear behind a position already returned. The JSON filters
// compare queryable_json's values: a stored event jsonb cannot hold is never matched, and never
// fails the read.
class AllReadStatement {
 public:
  enum class Shape { events, count };

  AllReadStatement(const AllReadOptions& options, Shape shape) {
    sql_.append(kHorizon).append(kAppenderLockClass).append(kHorizonEnd);
    sql_ += "SELECT ";
    sql_.append(shape == Shape::events ? kEventColumns : "count(*) AS count ");
    sql_ += options.filter.words ? words_source(*options.filter.words) : std::string(kFromEvents);
    sql_ += "WHERE (e.tx_id, e.position) > (" + parameter(std::to_string(options.after.commit())) +
            "::xid8, " + parameter(options.after.sequence()) + "::bigint)";
    if (options.before) {
      sql_ += " AND (e.tx_id, e.position) < (" +
              parameter(std::to_string(options.before->commit())) + "::xid8, " +
              parameter(options.before->sequence()) + "::bigint)";
    }
    sql_.append(" AND e.tx_id < (SELECT commit_id FROM horizon) AND ").append(kRetainedSql);
    // The expression of the index events_category.
    if (options.category) {
      sql_ += " AND split_part(e.stream, '-', 1) = " + parameter(*options.category) + "::text";
    }
    if (options.stream) sql_ += " AND e.stream = " + parameter(*options.stream) + "::text";
    add_filter(options.filter);
    if (shape == Shape::count) return;
    const bool forward = options.direction == Direction::forward;
    sql_ += forward ? " ORDER BY e.tx_id, e.position" : " ORDER BY e.tx_id DESC, e.position DESC";
    sql_ += " LIMIT " + parameter(options.limit) + "::bigint";
  }

  pq::Result run(PgContext& context) const {
    return context.connection.query(with_schema(sql_, context.store.quoted_schema), params_);
  }

 private:
  void add_filter(const EventFilter& filter) {
    // One type by equality: the index events_type then yields its events in order.
    if (filter.types.size() == 1) {
      sql_ += " AND e.type = " + parameter(filter.types.front()) + "::text";
    } else if (!filter.types.empty()) {
      const std::string types = pq::array_literal(
          filter.types,
          [](std::string& out, const std::string& type) { pq::append_array_element(out, type); });
      sql_ += " AND e.type = ANY(" + parameter(types) + "::text[])";
    }
    if (filter.since) {
      sql_ +=
          " AND e.created_at >= " + parameter(format_timestamp(*filter.since)) + "::timestamptz";
    }
    if (filter.until) {
      sql_ += " AND e.created_at < " + parameter(format_timestamp(*filter.until)) + "::timestamptz";
    }
    if (filter.metadata) {
      sql_ +=
          " AND {schema}.queryable_json(e.metadata) @> " + parameter(*filter.metadata) + "::jsonb";
    }
    if (filter.data) {
      sql_ += " AND {schema}.queryable_json(e.data) @> " + parameter(*filter.data) + "::jsonb";
    }
  }

  // The events whose data holds every word, by the index events_text (its expression), as `e`.
  // Fenced (OFFSET 0): beside the conditions on the order, the planner would otherwise AND the
  // order index's bitmap of the whole range to the handful of matches (70 ms on a million events).
  std::string words_source(const std::string& words) {
    const std::string terms = tsquery_text(search_terms(words));
    return "FROM (SELECT * FROM {schema}.events WHERE to_tsvector('simple', "
           "{schema}.queryable_json(CASE WHEN octet_length(data::text) <= 524288 THEN data END)) "
           "@@ plainto_tsquery('simple', " +
           parameter(terms) + "::text) OFFSET 0) e ";
  }

  // Binds `value` as the next parameter; returns its placeholder.
  std::string parameter(std::string_view value) {
    params_.add(value);
    return "$" + std::to_string(params_.size());
  }
  std::string parameter(std::uint64_t value) {
    return parameter(std::string_view(std::to_string(value)));
  }

  std::string sql_;
  Params params_;
};

// $1 stream and $2 version to read after, $3 limit.
constexpr Statement kStoredEvents{
    "SELECT e.checksum, coalesce(s.truncate_before, 1) AS first_kept, ", kEventColumns, kFromEvents,
    "LEFT JOIN {schema}.streams s ON s.name = e.stream "
    "WHERE (e.stream, e.version) > ($1::text, $2::bigint) ORDER BY e.stream, e.version "
    "LIMIT $3::bigint"};

constexpr Statement kEventsSharingIds{
    "SELECT ", kEventColumns, kFromEvents,
    "WHERE e.id IN (SELECT id FROM {schema}.events GROUP BY id HAVING count(*) > 1) "
    "ORDER BY e.id, e.stream, e.version"};

// $1 stream. One row: its version, whether it has events to read, whether it is tombstoned.
constexpr Statement kStreamInfo{
    "SELECT coalesce(last.version, 0) AS version, EXISTS (SELECT 1 FROM {schema}.events e "
    "WHERE e.stream = $1::text AND ",
    kRetainedSql, ") AS readable, last.deleted AS deleted", kStreamStateSql};

// $1 commit, $2 sequence. One row: whether both lie within what the store has handed out.
constexpr Statement kIssued{
    "SELECT $1::text::numeric < pg_snapshot_xmax(pg_current_snapshot())::text::numeric + "
    "(SELECT xid_offset FROM {schema}.feed) AND $2::bigint <= "
    "coalesce(pg_sequence_last_value(pg_get_serial_sequence('{schema}.events', 'position')), 0) "
    "AS issued"};

class PgEvents final : public EventOps {
 public:
  explicit PgEvents(PgContext& context) : context_(context) {}

  AppendAttempt try_append(const AppendBatch& batch) override {
    try {
      for (int attempt = 1;; ++attempt) {
        auto done = batch.events.size() <= kMaxRowsPerStatement ? append_by_statement(batch)
                                                                : append_by_copy(batch);
        if (done) {
          if (done->outcome == AppendAttempt::Outcome::appended) context_.appended = true;
          return *done;
        }
        if (attempt == kAppendAttempts) give_up(batch);
      }
    } catch (const PqError& error) {
      // Each append path has left no trace of the attempt.
      if (error.sqlstate() != kUniqueViolation) throw;
      AppendAttempt attempt;
      attempt.outcome = AppendAttempt::Outcome::duplicate_id;
      attempt.current_version = stream_info(batch.stream).version;
      return attempt;
    }
  }

  std::vector<RecordedEvent> by_id(const std::vector<std::string>& ids) override {
    const std::string array =
        pq::array_literal(ids, [](std::string& out, const std::string& id) { out += id; });
    return read_events(context_.query(kEventsById, Params().add(array)));
  }

  std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                         Direction direction, std::size_t limit,
                                         std::optional<Timestamp> as_of) override {
    Params params;
    params.add(stream).add(from).add(static_cast<std::int64_t>(limit));
    params.add_nullable(as_of ? std::optional<std::string_view>(format_timestamp(*as_of))
                              : std::nullopt);
    return read_events(context_.query(
        direction == Direction::forward ? kReadStreamForward : kReadStreamBackward, params));
  }

  std::vector<RecordedEvent> read_all(const AllReadOptions& options) override {
    return read_events(AllReadStatement(options, AllReadStatement::Shape::events).run(context_));
  }

  std::uint64_t count(const AllReadOptions& options) override {
    const Result counted = AllReadStatement(options, AllReadStatement::Shape::count).run(context_);
    return counted.unsigned_integer(0, counted.column("count"));
  }

  StreamInfo stream_info(std::string_view stream) override {
    const Result rows = context_.query(kStreamInfo, Params().add(stream));
    return StreamInfo{rows.text(0, rows.column("readable")) == "t",
                      rows.integer(0, rows.column("version")),
                      rows.text(0, rows.column("deleted")) == "t"};
  }

  std::vector<StoredEvent> stored_events(std::string_view after_stream, std::int64_t after_version,
                                         std::size_t limit) override {
    const Result rows = context_.query(
        kStoredEvents,
        Params().add(after_stream).add(after_version).add(static_cast<std::int64_t>(limit)));
    std::vector<RecordedEvent> events = read_events(rows);
    const int checksum = rows.column("checksum");
    const int first_kept = rows.column("first_kept");
    std::vector<StoredEvent> stored(events.size());
    for (int row = 0; row < rows.rows(); ++row) {
      StoredEvent& each = stored[static_cast<std::size_t>(row)];
      each.event = std::move(events[static_cast<std::size_t>(row)]);
      if (!rows.is_null(row, checksum)) each.checksum = rows.integer(row, checksum);
      each.first_kept = rows.integer(row, first_kept);
    }
    return stored;
  }

  std::vector<RecordedEvent> events_sharing_ids() override {
    return read_events(context_.query(kEventsSharingIds, Params()));
  }

  bool issued(Position position) override {
    const Result rows =
        context_.query(kIssued, Params()
                                    .add(std::to_string(position.commit()))
                                    .add(static_cast<std::int64_t>(position.sequence())));
    return rows.text(0, rows.column("issued")) == "t";
  }

 private:
  // One round trip: lock the stream, then insert the events if the expectation holds, in one
  // statement. Only a refused append pays a second round trip, to learn why.
  std::optional<AppendAttempt> append_by_statement(const AppendBatch& batch) {
    const bool one = batch.events.size() == 1;
    const Params lock = Params().add(stream_lock_key(batch.stream_key));
    const Params append = one ? append_one_params(batch) : append_many_params(batch);
    const std::array<Command, 2> commands = {
        context_.command(kTakeStreamLock, lock),
        context_.command(one ? kAppendOne : kAppendMany, append)};
    const Result written = std::move(context_.atomic_pipeline(commands)[1]);
    if (written.rows() == 0) return refusal(context_.query(kCheckStream, check_params(batch)));
    const int version = written.column("version");
    const int position = written.column("position");
    const int commit = written.column("commit_text");
    AppendAttempt attempt;
    attempt.result.version = 0;
    for (int row = 0; row < written.rows(); ++row) {
      if (written.integer(row, version) < attempt.result.version) continue;
      attempt.result = AppendResult{
          written.integer(row, version),
          Position(written.unsigned_integer(row, commit), written.unsigned_integer(row, position))};
    }
    attempt.current_version =
        attempt.result.version - static_cast<std::int64_t>(batch.events.size());
    return attempt;
  }

  // Three round trips: lock the stream and check the expectation; COPY the events; read the last
  // position and commit.
  std::optional<AppendAttempt> append_by_copy(const AppendBatch& batch) {
    const Params lock = Params().add(stream_lock_key(batch.stream_key));
    const Params check = check_params(batch);
    const Params none;
    const std::array<Command, 3> begin = {context_.command(context_.atomic_start(), none),
                                          context_.command(kTakeStreamLock, lock),
                                          context_.command(kCheckStream, check)};
    try {
      const Result checked = std::move(context_.connection.pipeline(begin)[2]);
      if (auto refused = refusal(checked)) {
        context_.roll_back_quietly();
        return refused;
      }
      const std::int64_t current = checked.integer(0, checked.column("version"));
      context_.connection.copy_in(context_.sql(kCopyEvents), copy_rows(batch, current + 1));
      const std::array<Command, 2> end = {context_.command(kLastPosition, none),
                                          context_.command(context_.atomic_end(), none)};
      const Result last = std::move(context_.connection.pipeline(end)[0]);
      AppendAttempt attempt;
      attempt.current_version = current;
      attempt.result = AppendResult{current + static_cast<std::int64_t>(batch.events.size()),
                                    Position(last.unsigned_integer(0, last.column("commit_text")),
                                             last.unsigned_integer(0, last.column("position")))};
      return attempt;
    } catch (const PqError&) {
      context_.roll_back_quietly();
      throw;
    }
  }

  // After kAppendAttempts refusals that no longer held when checked: a stream this busy is a
  // conflict the caller may retry.
  [[noreturn]] static void give_up(const AppendBatch& batch) {
    throw Error(ErrorCode::conflict,
                "stream '" + batch.stream + "' kept changing under the append; retry");
  }

  PgContext& context_;
};

}  // namespace

std::unique_ptr<EventOps> pg_events(PgContext& context) {
  return std::make_unique<PgEvents>(context);
}

}  // namespace strata::detail
