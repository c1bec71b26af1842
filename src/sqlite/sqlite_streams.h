// Stream lifecycle on SQLite: deletes, tombstones, truncation and retention, kept in the
// strata_streams table beside the events.
#pragma once

#include <string>

#include "core/backend.h"
#include "sqlite/session_context.h"

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

class SqliteStreams final : public StreamOps {
 public:
  explicit SqliteStreams(SqliteContext& context) : context_(context) {}

  std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                    bool tombstone) override;
  void set_settings(std::string_view stream, const StreamSettings& settings) override;
  StreamSettings settings(std::string_view stream) override;
  std::size_t enforce_retention() override;

 private:
  SqliteContext& context_;
};

}  // namespace strata::detail
