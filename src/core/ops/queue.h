// What a backend does for work queues. Every call but create throws Error(not_found) for an
// unknown queue. Token calls return false (or count fewer) for tokens whose lease no longer
// holds. Durations are milliseconds on the database's clock (PostgreSQL) or the process's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lease_token.h"
#include "strata/queue.h"

namespace strata::detail {

// A validated item to produce; text viewed from the caller's QueueMessage.
struct PendingMessage {
  std::string_view payload;
  std::optional<std::string_view> headers;
  int priority = 0;
  std::int64_t delay_ms = 0;
  std::optional<std::int64_t> expires_in_ms;  // Absent: the queue's expire_after, if any.
  std::optional<std::string_view> dedup_key;
};

class QueueOps {
 public:
  virtual ~QueueOps() = default;
  virtual void create(std::string_view queue, const QueueSettings& settings) = 0;
  virtual std::vector<Produced> produce(std::string_view queue,
                                        const std::vector<PendingMessage>& messages) = 0;
  // Leases up to `max_items` under `lease` (see lease_token.h), in any order; the items' tokens
  // are left empty.
  virtual std::vector<LeasedMessage> lease(std::string_view queue, std::size_t max_items,
                                           std::optional<std::int64_t> lease_ms,
                                           std::string_view lease) = 0;
  virtual bool extend(std::string_view queue, const LeaseToken& token,
                      std::optional<std::int64_t> lease_ms) = 0;
  virtual std::size_t complete(std::string_view queue, const std::vector<LeaseToken>& tokens) = 0;
  // Gives the item back after `delay_ms`, or after the queue's backoff scaled by `jitter` (0.5
  // to 1); buries it when it has used its attempts (see retry_delay_ms).
  virtual bool retry(std::string_view queue, const LeaseToken& token,
                     std::optional<std::int64_t> delay_ms, double jitter) = 0;
  virtual bool fail(std::string_view queue, const LeaseToken& token, std::string_view reason) = 0;
  virtual QueueStats stats(std::string_view queue) = 0;
  // Every queue created, by name.
  virtual std::vector<std::string> names() = 0;
  virtual void set_paused(std::string_view queue, bool paused) = 0;
  virtual std::size_t purge(std::string_view queue) = 0;
  virtual std::vector<DeadLetter> dead_letters(std::string_view queue, std::int64_t after_id,
                                               std::size_t limit) = 0;
  // Requeues these dead letters, or all when absent.
  virtual std::size_t requeue(std::string_view queue,
                              const std::optional<std::vector<std::int64_t>>& ids) = 0;
  virtual std::size_t purge_dead(std::string_view queue) = 0;
};

}  // namespace strata::detail
