// What the events and the stream lifecycle rooms share on SQLite: a stream's state, and whether
// an event is retained.
#pragma once

#include <cstdint>
#include <string_view>

#include "sqlite/sqlite_context.h"

namespace strata::detail {

// What appends need to know of a stream: its version (kept through deletes) and its tombstone.
struct StreamState {
  std::int64_t version = 0;
  bool deleted = false;
};
StreamState read_stream_state(SqliteContext& context, std::string_view stream);

// Whether event `e` is retained (its stream's settings do not hide it), in three parts:
// kRetainedBefore, the parameter bound to now (in microseconds), kRetainedAfter. The first test
// is uncorrelated, so SQLite runs it once per statement: stores without settings pay nothing per
// row.
inline constexpr std::string_view kRetainedBefore =
    "(NOT EXISTS (SELECT 1 FROM strata_streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) OR "
    "NOT EXISTS (SELECT 1 FROM strata_streams s WHERE s.name = e.stream AND ("
    "(s.max_age_ms IS NOT NULL AND e.created_at <= ";
inline constexpr std::string_view kRetainedAfter =
    " - s.max_age_ms * 1000) OR (s.max_count IS NOT NULL AND e.version <= "
    "(SELECT max(m.version) FROM strata_events m WHERE m.stream = e.stream) - "
    "s.max_count))))";

}  // namespace strata::detail
