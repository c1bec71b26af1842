// Event streams on SQLite: one writer at a time, so an append checks the stream and inserts in
// one transaction, and the all-events order is the rowid's.
#include "core/ids.h"
#include "sqlite/sqlite_event_sql.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;
using sqlite::SqliteError;

const std::string kSelectEvents =
    "SELECT position, stream, version, id, type, data, metadata, created_at FROM strata_events e ";

// Rows of kSelectEvents.
std::vector<RecordedEvent> read_events(Query& query) {
  const int position = query.column("position");
  const int stream = query.column("stream");
  const int version = query.column("version");
  const int id = query.column("id");
  const int type = query.column("type");
  const int data = query.column("data");
  const int metadata = query.column("metadata");
  const int created_at = query.column("created_at");
  std::vector<RecordedEvent> events;
  while (query.step()) {
    RecordedEvent& event = events.emplace_back();
    event.position = Position(0, static_cast<std::uint64_t>(query.integer(position)));
    event.stream = query.text(stream);
    event.version = query.integer(version);
    event.id = query.text(id);
    event.type = query.text(type);
    event.data = query.text(data);
    event.metadata = query.optional_text(metadata);
    event.created_at = query.integer(created_at);
  }
  return events;
}

// ?1 stream.
constexpr const char* kStreamState =
    "SELECT max(coalesce((SELECT max(version) FROM strata_events WHERE stream = ?1), 0), "
    "coalesce(truncate_before - 1, 0)) AS version, coalesce(deleted, 0) AS deleted "
    "FROM (SELECT 1) LEFT JOIN strata_streams ON name = ?1";

// ?1 stream, ?2 version, ?3 id, ?4 type, ?5 data, ?6 metadata, ?7 created at.
constexpr const char* kInsert =
    "INSERT INTO strata_events (stream, version, id, type, data, metadata, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// ?1 id.
const std::string kById = kSelectEvents + "WHERE id = ?1";
// ?1 stream, ?2 first version, ?3 limit, ?4 now.
const std::string kReadStreamForward = kSelectEvents + "WHERE stream = ?1 AND " +
                                       retained_event_sql(4) +
                                       " AND version >= ?2 ORDER BY version LIMIT ?3";
const std::string kReadStreamBackward = kSelectEvents + "WHERE stream = ?1 AND " +
                                        retained_event_sql(4) +
                                        " AND version <= ?2 ORDER BY version DESC LIMIT ?3";

// ?1 position to read after, ?2 limit, ?3 category, ?4 type, ?5 now, ?6 stream: the filters
// given are bound.
std::string read_all_sql(const AllReadOptions& options) {
  std::string sql = kSelectEvents + "WHERE position > ?1 AND " + retained_event_sql(5);
  if (options.category)
    sql += " AND (stream = ?3 OR substr(stream, 1, length(?3) + 1) = ?3 || '-')";
  if (options.event_type) sql += " AND type = ?4";
  if (options.stream) sql += " AND stream = ?6";
  return sql + " ORDER BY position LIMIT ?2";
}

// ?1 stream, ?2 now.
const std::string kReadable =
    "SELECT EXISTS (SELECT 1 FROM strata_events e WHERE stream = ?1 AND " + retained_event_sql(2) +
    ") AS readable";

bool is_unique_violation(const SqliteError& error) {
  return error.extended_code() == SQLITE_CONSTRAINT_UNIQUE ||
         error.extended_code() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

class SqliteEvents final : public EventOps {
 public:
  explicit SqliteEvents(SqliteContext& context) : context_(context) {}

  AppendAttempt try_append(const AppendBatch& batch) override {
    AtomicScope atomic(context_);
    AppendAttempt attempt;
    const StreamState state = read_stream_state(context_.db, batch.stream);
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
      Query query = context_.db.query(kById);
      query.bind(1, id);
      for (RecordedEvent& event : read_events(query)) events.push_back(std::move(event));
    }
    return events;
  }

  std::vector<RecordedEvent> read_stream(std::string_view stream, std::int64_t from,
                                         Direction direction, std::size_t limit) override {
    Query query = context_.db.query(direction == Direction::forward ? kReadStreamForward
                                                                    : kReadStreamBackward);
    query.bind(1, stream).bind(2, from).bind(3, static_cast<std::int64_t>(limit));
    query.bind(4, now_micros());
    return read_events(query);
  }

  std::vector<RecordedEvent> read_all(const AllReadOptions& options) override {
    Query query = context_.db.query(read_all_sql(options));
    query.bind(1, static_cast<std::int64_t>(options.after.sequence()))
        .bind(2, static_cast<std::int64_t>(options.limit));
    if (options.category) query.bind(3, *options.category);
    if (options.event_type) query.bind(4, *options.event_type);
    query.bind(5, now_micros());
    if (options.stream) query.bind(6, *options.stream);
    return read_events(query);
  }

  StreamInfo stream_info(std::string_view stream) override {
    const StreamState state = read_stream_state(context_.db, stream);
    Query readable = context_.db.query(kReadable);
    readable.bind(1, stream).bind(2, now_micros());
    readable.step();
    return StreamInfo{readable.integer(readable.column("readable")) != 0, state.version,
                      state.deleted};
  }

 private:
  void insert_events(const AppendBatch& batch, std::int64_t current_version) {
    Query insert = context_.db.query(kInsert);
    std::int64_t version = current_version;
    for (const PendingEvent& event : batch.events) {
      insert.bind(1, batch.stream)
          .bind(2, ++version)
          .bind(3, event.id)
          .bind(4, event.type)
          .bind(5, event.data)
          .bind_optional(6, event.metadata)
          .bind(7, event.created_at);
      insert.run();
      insert.reset();
    }
  }

  SqliteContext& context_;
};

}  // namespace

StreamState read_stream_state(sqlite::Database& db, std::string_view stream) {
  Query query = db.query(kStreamState);
  query.bind(1, stream);
  query.step();
  return StreamState{query.integer(query.column("version")),
                     query.integer(query.column("deleted")) != 0};
}

std::string retained_event_sql(int now_parameter) {
  const std::string now = "?" + std::to_string(now_parameter);
  // The first test is uncorrelated, so SQLite runs it once per statement: stores without
  // settings pay nothing per row.
  return "(NOT EXISTS (SELECT 1 FROM strata_streams "
         "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) OR "
         "NOT EXISTS (SELECT 1 FROM strata_streams s WHERE s.name = e.stream AND ("
         "(s.max_age_ms IS NOT NULL AND e.created_at <= " +
         now +
         " - s.max_age_ms * 1000) OR (s.max_count IS NOT NULL AND e.version <= "
         "(SELECT max(m.version) FROM strata_events m WHERE m.stream = e.stream) - "
         "s.max_count))))";
}

std::unique_ptr<EventOps> sqlite_events(SqliteContext& context) {
  return std::make_unique<SqliteEvents>(context);
}

}  // namespace strata::detail
