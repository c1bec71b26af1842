// The rooms of a SQLite connection: one per primitive, each in the file of its name, with its
// statements, how their parameters bind and how their rows read back.
#pragma once

#include <memory>

#include "core/backend.h"
#include "sqlite/sqlite_context.h"

namespace strata::detail {

std::unique_ptr<EventOps> sqlite_events(SqliteContext& context);
std::unique_ptr<StreamOps> sqlite_streams(SqliteContext& context);
std::unique_ptr<KvOps> sqlite_kv(SqliteContext& context);
std::unique_ptr<QueueOps> sqlite_queues(SqliteContext& context);
std::unique_ptr<WorkflowOps> sqlite_workflows(SqliteContext& context);
std::unique_ptr<LockOps> sqlite_locks(SqliteContext& context);
std::unique_ptr<SnapshotOps> sqlite_snapshots(SqliteContext& context);
std::unique_ptr<ConsumerOps> sqlite_consumers(SqliteContext& context);
std::unique_ptr<StatsOps> sqlite_stats(SqliteContext& context);
std::unique_ptr<EventIndexOps> sqlite_event_indexes(SqliteContext& context);

}  // namespace strata::detail
