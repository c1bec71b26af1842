// Event streams on SQLite: one writer at a time, so an append checks the stream and inserts in
// one transaction, and the all-events order is the rowid's.
#include <array>
#include <variant>

#include "core/ids.h"
#include "core/validate.h"
#include "sqlite/sqlite_event_sql.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;
using sqlite::SqliteError;

constexpr std::string_view kEventColumns =
    "position, stream, version, id, type, data, metadata, created_at ";
constexpr std::string_view kFromEvents = "FROM strata_events e ";

// Where a statement's kEventColumns are (selected from kFromEvents).
struct EventColumns {
  explicit EventColumns(const Query& query)
      : position(query.column("position")),
        stream(query.column("stream")),
        version(query.column("version")),
        id(query.column("id")),
        type(query.column("type")),
        data(query.column("data")),
        metadata(query.column("metadata")),
        created_at(query.column("created_at")) {}

  // The event in the query's current row.
  RecordedEvent read(const Query& query) const {
    RecordedEvent event;
    event.position = Position(0, static_cast<std::uint64_t>(query.integer(position)));
    event.stream = query.text(stream);
    event.version = query.integer(version);
    event.id = query.text(id);
    event.type = query.text(type);
    event.data = query.text(data);
    event.metadata = query.optional_text(metadata);
    event.created_at = query.integer(created_at);
    return event;
  }

  int position, stream, version, id, type, data, metadata, created_at;
};

// Every row of a statement selecting kEventColumns.
std::vector<RecordedEvent> read_events(Query& query) {
  const EventColumns columns(query);
  std::vector<RecordedEvent> events;
  while (query.step()) events.push_back(columns.read(query));
  return events;
}

// ?1 stream.
constexpr Statement kStreamState{
    "SELECT max(coalesce((SELECT max(version) FROM strata_events WHERE stream = ?1), 0), "
    "coalesce(truncate_before - 1, 0)) AS version, coalesce(deleted, 0) AS deleted "
    "FROM (SELECT 1) LEFT JOIN strata_streams ON name = ?1"};

// ?1 stream, ?2 version, ?3 id, ?4 type, ?5 data, ?6 metadata, ?7 created at, ?8 checksum.
constexpr Statement kInsert{
    "INSERT INTO strata_events (stream, version, id, type, data, metadata, created_at, checksum) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};

// ?1 id.
constexpr Statement kById{"SELECT ", kEventColumns, kFromEvents, "WHERE id = ?1"};

// ?1 stream, ?2 first version, ?3 limit, ?4 now, ?5 the time read as of (NULL: now).
constexpr std::string_view kAsOf5 = " AND created_at <= coalesce(?5, 9223372036854775807)";
constexpr Statement kReadStreamForward{"SELECT ",
                                       kEventColumns,
                                       kFromEvents,
                                       "WHERE stream = ?1 AND ",
                                       kRetainedBefore,
                                       "?4",
                                       kRetainedAfter,
                                       kAsOf5,
                                       " AND version >= ?2 ORDER BY version LIMIT ?3"};
constexpr Statement kReadStreamBackward{"SELECT ",
                                        kEventColumns,
                                        kFromEvents,
                                        "WHERE stream = ?1 AND ",
                                        kRetainedBefore,
                                        "?4",
                                        kRetainedAfter,
                                        kAsOf5,
                                        " AND version <= ?2 ORDER BY version DESC LIMIT ?3"};

// A read (or a count) of the all-events order, its text built for the filters it has (each
// names its parameter by number); a connection prepares each text once.
class AllReadStatement {
 public:
  enum class Shape { events, count };

  AllReadStatement(const AllReadOptions& options, Shape shape) {
    sql_ = "SELECT ";
    sql_.append(shape == Shape::events ? kEventColumns : "count(*) AS count ").append(kFromEvents);
    sql_ += "WHERE position > " + parameter(options.after.sequence());
    if (options.before) sql_ += " AND position < " + parameter(options.before->sequence());
    sql_.append(" AND ").append(kRetainedBefore).append(parameter(now_micros()));
    sql_.append(kRetainedAfter);
    // The expression of the index strata_events_category.
    if (options.category) {
      sql_ +=
          " AND substr(stream, 1, instr(stream || '-', '-') - 1) = " + parameter(*options.category);
    }
    if (options.stream) sql_ += " AND stream = " + parameter(*options.stream);
    add_filter(options.filter);
    if (shape == Shape::count) return;
    sql_ +=
        options.direction == Direction::forward ? " ORDER BY position" : " ORDER BY position DESC";
    sql_ += " LIMIT " + parameter(options.limit);
  }

  const std::string& sql() const { return sql_; }
  // Binds the parameters the text numbers to a use of it.
  void bind(Query& query) const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (const auto* number = std::get_if<std::int64_t>(&params_[i])) {
        query.bind(index, *number);
      } else {
        query.bind(index, std::get<std::string>(params_[i]));
      }
    }
  }

 private:
  void add_filter(const EventFilter& filter) {
    if (!filter.types.empty()) {
      sql_ += " AND type IN (";
      for (std::size_t i = 0; i < filter.types.size(); ++i) {
        sql_ += (i == 0 ? "" : ", ") + parameter(filter.types[i]);
      }
      sql_ += ')';
    }
    if (filter.since) sql_ += " AND created_at >= " + parameter(*filter.since);
    if (filter.until) sql_ += " AND created_at < " + parameter(*filter.until);
    if (filter.metadata) {
      sql_ += " AND strata_json_contains(metadata, " + parameter(*filter.metadata) + ")";
    }
    if (filter.data) sql_ += " AND strata_json_contains(data, " + parameter(*filter.data) + ")";
    // Only comparable data (JSON contains itself exactly when it is), as on PostgreSQL.
    if (filter.words) {
      sql_ +=
          " AND position IN (SELECT rowid FROM strata_events_text WHERE strata_events_text "
          "MATCH " +
          parameter(fts_match(search_terms(*filter.words))) +
          ") AND strata_json_contains(data, data)";
    }
  }

  // Binds `value` as the next parameter; returns its placeholder.
  std::string parameter(std::int64_t value) { return bind_next(value); }
  std::string parameter(std::uint64_t value) { return bind_next(static_cast<std::int64_t>(value)); }
  std::string parameter(std::string_view text) { return bind_next(std::string(text)); }
  std::string bind_next(std::variant<std::int64_t, std::string> value) {
    params_.push_back(std::move(value));
    return "?" + std::to_string(params_.size());
  }

  std::string sql_;
  std::vector<std::variant<std::int64_t, std::string>> params_;
};

// ?1 stream and ?2 version to read after, ?3 limit.
constexpr Statement kStoredEvents{"SELECT checksum, coalesce(s.truncate_before, 1) AS first_kept, ",
                                  kEventColumns, kFromEvents,
                                  "LEFT JOIN strata_streams s ON s.name = e.stream WHERE (stream, "
                                  "version) > (?1, ?2) ORDER BY stream, version LIMIT ?3"};

constexpr Statement kEventsSharingIds{
    "SELECT ", kEventColumns, kFromEvents,
    "WHERE id IN (SELECT id FROM strata_events GROUP BY id HAVING count(*) > 1) "
    "ORDER BY id, stream, version"};

// ?1 stream, ?2 now.
constexpr Statement kReadable{"SELECT EXISTS (SELECT 1 FROM strata_events e WHERE stream = ?1 AND ",
                              kRetainedBefore, "?2", kRetainedAfter, ") AS readable"};

// ?1 commit, ?2 sequence. One row: whether both lie within what the store has handed out
// (AUTOINCREMENT keeps the largest position ever used in sqlite_sequence).
constexpr Statement kIssued{
    "SELECT ?1 = 0 AND ?2 <= coalesce((SELECT seq FROM sqlite_sequence "
    "WHERE name = 'strata_events'), 0) AS issued"};

class SqliteEvents final : public EventOps {
 public:
  explicit SqliteEvents(SqliteContext& context) : context_(context) {}

  AppendAttempt try_append(const AppendBatch& batch) override {
    AtomicScope atomic(context_);
    AppendAttempt attempt;
    const StreamState state = read_stream_state(context_, batch.stream);
    attempt.current_version = state.version;
    if (state.deleted) {
      attempt.outcome = AppendAttempt::Outcome::stream_deleted;
      return attempt;
    }
    if (!batch.expected.holds_for(attempt.current_version)) {
      attempt.outcome = AppendAttempt::Outcome::version_mismatch;
      return attempt;
    }
    try {
      insert_events(batch, attempt.current_version);
    } catch (const SqliteError& error) {
      if (!is_unique_violation(error)) throw;
      attempt.outcome = AppendAttempt::Outcome::duplicate_id;
      return attempt;
    }
    const std::int64_t last_position = context_.db.last_insert_rowid();
    const auto version = attempt.current_version + static_cast<std::int64_t>(batch.events.size());
    atomic.commit();
    context_.appended = true;
    attempt.result = AppendResult{version, Position(0, static_cast<std::uint64_t>(last_position))};
    return attempt;
  }

  std::vector<RecordedEvent> by_id(const std::vector<std::string>& ids) override {
    std::vector<RecordedEvent> events;
    for (const std::string& id : ids) {
      Query query = context_.query(kById);
      query.bind(1, id);
      for (RecordedEvent& event : read_events(query)) events.push_back(std::move(event));
    }
    return events;
  }

  std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                         Direction direction, std::size_t limit,
                                         std::optional<Timestamp> as_of) override {
    Query query =
        context_.query(direction == Direction::forward ? kReadStreamForward : kReadStreamBackward);
    query.bind(1, stream).bind(2, from).bind(3, static_cast<std::int64_t>(limit));
    query.bind(4, now_micros());
    if (as_of) query.bind(5, *as_of);
    return read_events(query);
  }

  std::vector<RecordedEvent> read_all(const AllReadOptions& options) override {
    // Positions here are 0/N: another one (PostgreSQL's) lies beyond every event, not at N.
    if (options.after.commit() != 0) return {};
    const AllReadStatement read(options, AllReadStatement::Shape::events);
    Query query = context_.db.query(read.sql());
    read.bind(query);
    return read_events(query);
  }

  std::uint64_t count(const AllReadOptions& options) override {
    if (options.after.commit() != 0) return 0;
    const AllReadStatement count(options, AllReadStatement::Shape::count);
    Query query = context_.db.query(count.sql());
    count.bind(query);
    query.step();
    return static_cast<std::uint64_t>(query.integer(query.column("count")));
  }

  StreamInfo stream_info(std::string_view stream) override {
    const StreamState state = read_stream_state(context_, stream);
    Query readable = context_.query(kReadable);
    readable.bind(1, stream).bind(2, now_micros());
    readable.step();
    return StreamInfo{readable.integer(readable.column("readable")) != 0, state.version,
                      state.deleted};
  }

  std::vector<StoredEvent> stored_events(std::string_view after_stream, std::int64_t after_version,
                                         std::size_t limit) override {
    Query query = context_.query(kStoredEvents);
    query.bind(1, after_stream).bind(2, after_version).bind(3, static_cast<std::int64_t>(limit));
    const EventColumns columns(query);
    const int checksum = query.column("checksum");
    const int first_kept = query.column("first_kept");
    std::vector<StoredEvent> stored;
    while (query.step()) {
      StoredEvent& row = stored.emplace_back();
      row.event = columns.read(query);
      if (!query.is_null(checksum)) row.checksum = query.integer(checksum);
      row.first_kept = query.integer(first_kept);
    }
    return stored;
  }

  std::vector<RecordedEvent> events_sharing_ids() override {
    Query query = context_.query(kEventsSharingIds);
    return read_events(query);
  }

  bool issued(Position position) override {
    Query query = context_.query(kIssued);
    query.bind(1, static_cast<std::int64_t>(position.commit()))
        .bind(2, static_cast<std::int64_t>(position.sequence()));
    query.step();
    return query.integer(query.column("issued")) != 0;
  }

 private:
  void insert_events(const AppendBatch& batch, std::int64_t current_version) {
    Query insert = context_.query(kInsert);
    std::int64_t version = current_version;
    for (const PendingEvent& event : batch.events) {
      insert.bind(1, batch.stream)
          .bind(2, ++version)
          .bind(3, event.id)
          .bind(4, event.type)
          .bind(5, event.data)
          .bind_optional(6, event.metadata)
          .bind(7, event.created_at)
          .bind(8, std::int64_t{event.checksum});
      insert.run();
      insert.reset();
    }
  }

  SqliteContext& context_;
};

}  // namespace

StreamState read_stream_state(SqliteContext& context, std::string_view stream) {
  Query query = context.query(kStreamState);
  query.bind(1, stream);
  query.step();
  return StreamState{query.integer(query.column("version")),
                     query.integer(query.column("deleted")) != 0};
}

std::unique_ptr<EventOps> sqlite_events(SqliteContext& context) {
  return std::make_unique<SqliteEvents>(context);
}

}  // namespace strata::detail
