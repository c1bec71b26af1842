// The rooms of a PostgreSQL connection: one per primitive, each in the file of its name, with
// its statements, how their parameters bind and how their rows read back.
#pragma once

#include <memory>

#include "core/backend.h"
#include "postgres/pg_context.h"

namespace strata::detail {

std::unique_ptr<EventOps> pg_events(PgContext& context);
std::unique_ptr<StreamOps> pg_streams(PgContext& context);
std::unique_ptr<KvOps> pg_kv(PgContext& context);
std::unique_ptr<QueueOps> pg_queues(PgContext& context);
std::unique_ptr<WorkflowOps> pg_workflows(PgContext& context);
std::unique_ptr<LockOps> pg_locks(PgContext& context);
std::unique_ptr<SnapshotOps> pg_snapshots(PgContext& context);
std::unique_ptr<ConsumerOps> pg_consumers(PgContext& context);
std::unique_ptr<StatsOps> pg_stats(PgContext& context);
std::unique_ptr<EventIndexOps> pg_event_indexes(PgContext& context);

}  // namespace strata::detail
