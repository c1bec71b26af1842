// What a backend does for the stream lifecycle: deletes, tombstones, truncation and retention.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

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
  // Up to `limit` streams whose names start with `prefix`, from `from` (or after it, when
  // `inclusive` is false) in name order.
  virtual std::vector<StreamSummary> list(std::string_view prefix, std::string_view from,
                                          bool inclusive, std::size_t limit) = 0;
  virtual void set_settings(std::string_view stream, const StreamSettings& settings) = 0;
  virtual StreamSettings settings(std::string_view stream) = 0;
  // Removes every event that its stream's settings hide from reads; returns how many.
  virtual std::size_t enforce_retention() = 0;
};

// Events::list_streams on `streams`, for every backend: a category as the two prefix listings it
// is made of. `options` are valid.
std::vector<StreamSummary> list_streams(StreamOps& streams, const StreamListOptions& options);

}  // namespace strata::detail
