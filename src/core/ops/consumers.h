// What a backend does for durable consumers: their checkpoints, one per name and group member.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "strata/position.h"

namespace strata::detail {

class ConsumerOps {
 public:
  virtual ~ConsumerOps() = default;
  // The stored checkpoint, or nullopt when the member never advanced.
  virtual std::optional<Position> checkpoint(std::string_view name, std::int64_t member) = 0;
  // Moves the checkpoint to `to` if it is at `from` (or absent); returns whether it moved.
  virtual bool advance(std::string_view name, std::int64_t member, Position from, Position to) = 0;
  virtual void reset(std::string_view name, std::int64_t member, Position to) = 0;
};

}  // namespace strata::detail
