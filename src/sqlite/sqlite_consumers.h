// Durable consumers' checkpoints on SQLite.
#pragma once

#include "core/backend.h"
#include "sqlite/session_context.h"

namespace strata::detail {

class SqliteConsumers final : public ConsumerOps {
 public:
  explicit SqliteConsumers(SqliteContext& context) : context_(context) {}

  std::optional<Position> checkpoint(std::string_view name, std::int64_t member) override;
  bool advance(std::string_view name, std::int64_t member, Position from, Position to) override;
  void reset(std::string_view name, std::int64_t member, Position to) override;

 private:
  SqliteContext& context_;
};

}  // namespace strata::detail
