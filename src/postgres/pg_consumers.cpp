#include "postgres/pg_consumers.h"

#include "postgres/session_context.h"

namespace strata::detail {

using pq::Params;

PgConsumerSql::PgConsumerSql(const std::string& quoted_schema) {
  checkpoint = with_schema(
      "SELECT position FROM {schema}.consumers WHERE name = $1::text AND member = $2::bigint",
      quoted_schema);
  // $3 the position expected (NULL: any), $4 the new one.
  move = with_schema(
      "INSERT INTO {schema}.consumers AS c (name, member, position, updated_at) "
      "VALUES ($1::text, $2::bigint, $4::text, statement_timestamp()) "
      "ON CONFLICT (name, member) DO UPDATE SET position = excluded.position, "
      "updated_at = excluded.updated_at WHERE $3::text IS NULL OR c.position = $3::text "
      "RETURNING true",
      quoted_schema);
}

std::optional<Position> PgConsumers::checkpoint(std::string_view name, std::int64_t member) {
  const pq::Result rows =
      context_.connection.query(context_.sql.consumers.checkpoint, Params().add(name).add(member));
  if (rows.rows() == 0) return std::nullopt;
  return Position::parse(rows.text(0, 0));
}

bool PgConsumers::advance(std::string_view name, std::int64_t member, Position from, Position to) {
  context_.wrote = true;
  Params params;
  params.add(name).add(member).add(from.to_string()).add(to.to_string());
  return context_.connection.query(context_.sql.consumers.move, params).rows() > 0;
}

void PgConsumers::reset(std::string_view name, std::int64_t member, Position to) {
  context_.wrote = true;
  Params params;
  params.add(name).add(member).add_null().add(to.to_string());
  context_.connection.query(context_.sql.consumers.move, params);
}

}  // namespace strata::detail
