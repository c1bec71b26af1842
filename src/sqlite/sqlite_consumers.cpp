// Durable consumers' checkpoints on SQLite: one row per name and group member, moved by
// compare-and-set.
#include "core/ids.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// ?1 name, ?2 member.
constexpr Statement kCheckpoint{
    "SELECT position FROM strata_consumers WHERE name = ?1 AND member = ?2"};
// ?1 name, ?2 member, ?3 the position expected (NULL: any), ?4 the new one, ?5 now. Returns a
// row when it moved.
constexpr Statement kMove{
    "INSERT INTO strata_consumers (name, member, position, updated_at) VALUES (?1, ?2, ?4, ?5) "
    "ON CONFLICT (name, member) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at WHERE ?3 IS NULL OR position = ?3 RETURNING 1"};

class SqliteConsumers final : public ConsumerOps {
 public:
  explicit SqliteConsumers(SqliteContext& context) : context_(context) {}

  std::optional<Position> checkpoint(std::string_view name, std::int64_t member) override {
    Query query = context_.query(kCheckpoint);
    query.bind(1, name).bind(2, member);
    if (!query.step()) return std::nullopt;
    return Position::parse(query.text(query.column("position")));
  }

  bool advance(std::string_view name, std::int64_t member, Position from, Position to) override {
    Query query = context_.query(kMove);
    query.bind(1, name).bind(2, member).bind(3, from.to_string()).bind(4, to.to_string());
    query.bind(5, now_micros());
    return query.step();
  }

  void reset(std::string_view name, std::int64_t member, Position to) override {
    Query query = context_.query(kMove);
    query.bind(1, name).bind(2, member).bind(4, to.to_string()).bind(5, now_micros());
    query.step();
  }

 private:
  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<ConsumerOps> sqlite_consumers(SqliteContext& context) {
  return std::make_unique<SqliteConsumers>(context);
}

}  // namespace strata::detail
