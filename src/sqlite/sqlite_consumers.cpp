#include "sqlite/sqlite_consumers.h"

#include "core/ids.h"

namespace strata::detail {
namespace {

using sqlite::Query;

constexpr const char* kCheckpoint =
    "SELECT position FROM strata_consumers WHERE name = ?1 AND member = ?2";
// ?3 the position expected (NULL: any), ?4 the new one, ?5 now.
constexpr const char* kMove =
    "INSERT INTO strata_consumers (name, member, position, updated_at) VALUES (?1, ?2, ?4, ?5) "
    "ON CONFLICT (name, member) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at WHERE ?3 IS NULL OR position = ?3 RETURNING 1";

}  // namespace

std::optional<Position> SqliteConsumers::checkpoint(std::string_view name, std::int64_t member) {
  Query query = context_.db.query(kCheckpoint);
  query.bind(1, name).bind(2, member);
  if (!query.step()) return std::nullopt;
  return Position::parse(query.text(0));
}

bool SqliteConsumers::advance(std::string_view name, std::int64_t member, Position from,
                              Position to) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kMove);
  query.bind(1, name).bind(2, member).bind(3, from.to_string()).bind(4, to.to_string());
  query.bind(5, now_micros());
  return query.step();
}

void SqliteConsumers::reset(std::string_view name, std::int64_t member, Position to) {
  const auto writing = context_.writer_turn();
  Query query = context_.db.query(kMove);
  query.bind(1, name).bind(2, member).bind(4, to.to_string()).bind(5, now_micros());
  query.step();
}

}  // namespace strata::detail
