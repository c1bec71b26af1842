// The opt-in event indexes on SQLite: the text index is an FTS5 table of each event's data's
// string values, kept by triggers; SQLite has no index for JSON containment.
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// The text index: rows keyed by the event's position, added and removed with the events by
// triggers (so every process's appends keep it), filled from the events already stored. Data
// beyond kMaxQueryableValueBytes is left out, as on PostgreSQL, where a tsvector is bounded.
constexpr Statement kCreateText{R"sql(
CREATE VIRTUAL TABLE strata_events_text USING fts5 (text, tokenize = 'unicode61 remove_diacritics 0');
CREATE TRIGGER strata_events_text_insert AFTER INSERT ON strata_events
WHEN length(CAST(new.data AS BLOB)) <= 524288 BEGIN
  INSERT INTO strata_events_text (rowid, text)
  SELECT new.position, group_concat(value, ' ') FROM json_tree(new.data) WHERE type = 'text';
END;
CREATE TRIGGER strata_events_text_delete AFTER DELETE ON strata_events BEGIN
  DELETE FROM strata_events_text WHERE rowid = old.position;
END;
INSERT INTO strata_events_text (rowid, text)
SELECT e.position, (SELECT group_concat(value, ' ') FROM json_tree(e.data) WHERE type = 'text')
FROM strata_events e WHERE length(CAST(e.data AS BLOB)) <= 524288;
)sql"};
constexpr Statement kDropText{
    "DROP TRIGGER IF EXISTS strata_events_text_insert; "
    "DROP TRIGGER IF EXISTS strata_events_text_delete; DROP TABLE IF EXISTS strata_events_text"};
constexpr Statement kHasText{
    "SELECT count(*) AS found FROM sqlite_schema WHERE name = 'strata_events_text'"};

class SqliteEventIndexes final : public EventIndexOps {
 public:
  explicit SqliteEventIndexes(SqliteContext& context) : context_(context) {}

  bool add(EventIndex index) override {
    if (index != EventIndex::text) return false;
    AtomicScope atomic(context_);
    if (has(index)) return true;
    context_.db.exec(kCreateText.text());
    atomic.commit();
    return true;
  }

  void drop(EventIndex index) override {
    if (index != EventIndex::text) return;
    AtomicScope atomic(context_);
    context_.db.exec(kDropText.text());
    atomic.commit();
  }

  bool has(EventIndex index) override {
    if (index != EventIndex::text) return false;
    Query query = context_.query(kHasText);
    query.step();
    return query.integer(query.column("found")) > 0;
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<EventIndexOps> sqlite_event_indexes(SqliteContext& context) {
  return std::make_unique<SqliteEventIndexes>(context);
}

}  // namespace strata::detail
