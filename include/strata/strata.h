// Strata: durable event streams (and, later, state, queues and locks) on SQLite or PostgreSQL.
#pragma once

#include "strata/error.h"
#include "strata/event.h"
#include "strata/events.h"
#include "strata/kv.h"
#include "strata/lock.h"
#include "strata/position.h"
#include "strata/queue.h"
#include "strata/snapshot.h"
#include "strata/store.h"
#include "strata/subscription.h"
#include "strata/workflow.h"
