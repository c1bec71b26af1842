// What subscriptions and consumers share: their read, and waiting for events to arrive.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "strata/event.h"
#include "strata/scope.h"

namespace strata::detail {

// The read_all a feed pages with. Throws invalid_argument for a bad filter or a batch of 0.
AllReadOptions feed_options(Position after, const std::optional<std::string>& category,
                            const std::optional<std::string>& stream, const EventFilter& filter,
                            std::size_t batch);

// read_all(read); when it comes back empty, waits for appends and reads again, until `wait`.
// A database that cannot be reached is asked again with backoff until `wait` ends, and then
// nothing is returned. Each read counts as `operation` in the metrics.
std::vector<RecordedEvent> read_or_wait(const Scope& scope, const char* operation,
                                        const AllReadOptions& read, std::chrono::milliseconds wait);

}  // namespace strata::detail
