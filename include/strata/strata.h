// Strata: durable state for services through one API — event streams with subscriptions and
// durable consumers, key-value state, work queues, locks and leader election, snapshots and
// workflow checkpoints — on SQLite or PostgreSQL. Include this header for all of it.
#pragma once

#include "strata/error.h"
#include "strata/event.h"
#include "strata/events.h"
#include "strata/kv.h"
#include "strata/limits.h"
#include "strata/lock.h"
#include "strata/position.h"
#include "strata/queue.h"
#include "strata/snapshot.h"
#include "strata/stats.h"
#include "strata/store.h"
#include "strata/subscription.h"
#include "strata/version.h"
#include "strata/workflow.h"
