// Durable consumers' checkpoints on PostgreSQL.
#pragma once

#include <string>

#include "core/backend.h"

namespace strata::detail {

struct PgContext;

struct PgConsumerSql {
  explicit PgConsumerSql(const std::string& quoted_schema);
  std::string checkpoint;
  std::string move;
};

class PgConsumers final : public ConsumerOps {
 public:
  explicit PgConsumers(PgContext& context) : context_(context) {}

  std::optional<Position> checkpoint(std::string_view name, std::int64_t member) override;
  bool advance(std::string_view name, std::int64_t member, Position from, Position to) override;
  void reset(std::string_view name, std::int64_t member, Position to) override;

 private:
  PgContext& context_;
};

}  // namespace strata::detail
