// What the events and the stream lifecycle rooms share on SQLite: a stream's state, and whether
// an event is retained.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sqlite/db.h"

namespace strata::detail {

// What appends need to know of a stream: its version (kept through deletes) and its tombstone.
struct StreamState {
  std::int64_t version = 0;
  bool deleted = false;
};
StreamState read_stream_state(sqlite::Database& db, std::string_view stream);

// SQL that holds when event `e` is retained (its stream's settings do not hide it), with the
// current time in microseconds bound at parameter `now_parameter`.
std::string retained_event_sql(int now_parameter);

}  // namespace strata::detail
