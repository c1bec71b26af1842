// What a backend does for the stream lifecycle: deletes, tombstones, truncation and retention.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "strata/event.h"

namespace strata::detail {

// A stream's version goes on from its highest removed version, whatever is left.
class StreamOps {
 public:
  virtual ~StreamOps() = default;
  // Removes the stream's events below `before` (every event for INT64_MAX) and, with
  // `tombstone`, marks it deleted. Returns how many went; nullopt, changing nothing, when the
  // stream is tombstoned and `tombstone` is false.
  virtual std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                            bool tombstone) = 0;
  virtual void set_settings(std::string_view stream, const StreamSettings& settings) = 0;
  virtual StreamSettings settings(std::string_view stream) = 0;
  // Removes every event that its stream's settings hide from reads; returns how many.
  virtual std::size_t enforce_retention() = 0;
};

}  // namespace strata::detail
