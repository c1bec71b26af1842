// SQL that the events and the stream lifecycle rooms share: a stream's state, and whether an
// event is retained. Unqualified: the statements that use them say {schema}.
#pragma once

#include <string_view>

namespace strata::detail {

// FROM clause giving the stream named by $1 as `last`: its version (NULL when never written;
// kept through deletes, which leave it in streams.truncate_before), its last event's
// transaction id and whether it is tombstoned. The caller holds the stream's advisory lock, so
// the statement's snapshot shows every earlier append to the stream.
inline constexpr std::string_view kStreamStateSql = R"sql(
FROM (VALUES (1)) AS one (x)
LEFT JOIN {schema}.streams AS s ON s.name = $1::text
LEFT JOIN LATERAL (
  SELECT version, tx_id FROM {schema}.events WHERE stream = $1::text
  ORDER BY version DESC LIMIT 1
) AS latest ON true
CROSS JOIN LATERAL (
  SELECT nullif(greatest(latest.version, s.truncate_before - 1), 0) AS version, latest.tx_id,
         coalesce(s.deleted, false) AS deleted
) AS last)sql";

// Event `e` is retained: its stream's settings (max age, max count) do not hide it. The first
// test runs once per statement (an InitPlan), so stores without settings pay nothing per row.
inline constexpr std::string_view kRetainedSql =
    "(NOT EXISTS (SELECT 1 FROM {schema}.streams "
    "WHERE max_age_ms IS NOT NULL OR max_count IS NOT NULL) OR "
    "NOT EXISTS (SELECT 1 FROM {schema}.streams s WHERE s.name = e.stream AND ("
    "(s.max_age_ms IS NOT NULL AND e.created_at <= statement_timestamp() - "
    "s.max_age_ms * interval '1 millisecond') OR (s.max_count IS NOT NULL AND e.version <= "
    "(SELECT max(m.version) FROM {schema}.events m WHERE m.stream = e.stream) - s.max_count))))";

}  // namespace strata::detail
