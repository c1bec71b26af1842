// What a backend does for the opt-in event indexes: the ones that slow appends, so that a store
// has them only when asked (Events::add_index).
#pragma once

#include "strata/event.h"

namespace strata::detail {

class EventIndexOps {
 public:
  virtual ~EventIndexOps() = default;
  // Builds `index` unless it is there (and whole), letting appends and reads go on meanwhile;
  // false, doing nothing, when the backend keeps no such index. Never inside a transaction.
  virtual bool add(EventIndex index) = 0;
  // Drops `index` when it is there.
  virtual void drop(EventIndex index) = 0;
  // Whether `index` is there and whole: queries that need it may run.
  virtual bool has(EventIndex index) = 0;
};

// Throws not_found when `filter` needs an index the store does not have (words: the text index).
void require_indexes(EventIndexOps& indexes, const EventFilter& filter);

}  // namespace strata::detail
