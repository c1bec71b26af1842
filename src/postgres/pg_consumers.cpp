// Durable consumers' checkpoints on PostgreSQL: one row per name and group member, moved by
// compare-and-set.
#include "postgres/pg_rooms.h"

namespace strata::detail {
namespace {

using pq::Params;
using pq::Result;

// $1 name, $2 member.
constexpr Statement kCheckpoint{
    "SELECT position FROM {schema}.consumers WHERE name = $1::text AND member = $2::bigint"};
// $1 name, $2 member, $3 the position expected (NULL: any), $4 the new one. Returns a row when
// it moved.
constexpr Statement kMove{
    "INSERT INTO {schema}.consumers AS c (name, member, position, updated_at) "
    "VALUES ($1::text, $2::bigint, $4::text, statement_timestamp()) "
    "ON CONFLICT (name, member) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at WHERE $3::text IS NULL OR c.position = $3::text "
    "RETURNING true"};

class PgConsumers final : public ConsumerOps {
 public:
  explicit PgConsumers(PgContext& context) : context_(context) {}

  std::optional<Position> checkpoint(std::string_view name, std::int64_t member) override {
    const Result rows = context_.query(kCheckpoint, Params().add(name).add(member));
    if (rows.rows() == 0) return std::nullopt;
    return Position::parse(rows.text(0, rows.column("position")));
  }

  bool advance(std::string_view name, std::int64_t member, Position from, Position to) override {
    Params params;
    params.add(name).add(member).add(from.to_string()).add(to.to_string());
    return context_.query(kMove, params).rows() > 0;
  }

  void reset(std::string_view name, std::int64_t member, Position to) override {
    Params params;
    params.add(name).add(member).add_null().add(to.to_string());
    context_.query(kMove, params);
  }

 private:
  PgContext& context_;
};

}  // namespace

std::unique_ptr<ConsumerOps> pg_consumers(PgContext& context) {
  return std::make_unique<PgConsumers>(context);
}

}  // namespace strata::detail
