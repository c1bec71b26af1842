// Stream lifecycle on PostgreSQL: deletes, tombstones, truncation and retention, kept in the
// streams table beside the events.
#pragma once

#include <string>

#include "core/backend.h"

namespace strata::detail {

struct PgContext;

struct PgStreamSql {
  explicit PgStreamSql(const std::string& quoted_schema);
  std::string mark_removed;
  std::string remove_events;
  std::string set_settings;
  std::string settings;
  std::string enforce_retention;
};

class PgStreams final : public StreamOps {
 public:
  explicit PgStreams(PgContext& context) : context_(context) {}

  std::optional<std::size_t> remove(std::string_view stream, std::int64_t before,
                                    bool tombstone) override;
  void set_settings(std::string_view stream, const StreamSettings& settings) override;
  StreamSettings settings(std::string_view stream) override;
  std::size_t enforce_retention() override;

 private:
  PgContext& context_;
};

}  // namespace strata::detail
