// Work queues on SQLite: one writer at a time, so a lease sweeps, claims and commits in one
// transaction; items and dead letters share their ids.
#include "core/ids.h"
#include "core/queue_rules.h"
#include "sqlite/sqlite_rooms.h"

namespace strata::detail {
namespace {

using sqlite::Query;

// ?1 queue.
constexpr Statement kConfig{
    "SELECT lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, dead_letters, "
    "paused FROM strata_queues WHERE name = ?1"};
constexpr Statement kNames{"SELECT name FROM strata_queues ORDER BY name"};
// ?1 queue, ?2 lease ms, ?3 max attempts, ?4 retry base ms, ?5 retry cap ms, ?6 expiry ms (NULL:
// none), ?7 whether it keeps dead letters.
constexpr Statement kCreate{
    "INSERT INTO strata_queues (name, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, "
    "expire_ms, dead_letters) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO "
    "UPDATE SET lease_ms = excluded.lease_ms, max_attempts = excluded.max_attempts, "
    "retry_base_ms = excluded.retry_base_ms, retry_cap_ms = excluded.retry_cap_ms, "
    "expire_ms = excluded.expire_ms, dead_letters = excluded.dead_letters"};

// ?1 queue, ?2 dedup key, ?3 now: an expired item no longer holds its key.
constexpr Statement kUnkeyExpired{
    "DELETE FROM strata_queue_items WHERE queue = ?1 AND dedup_key = ?2 AND "
    "lease_token IS NULL AND expires_at <= ?3"};
// ?1 queue, ?2 payload, ?3 headers, ?4 priority, ?5 run at, ?6 expires at, ?7 dedup key, ?8 now.
constexpr Statement kInsert{
    "INSERT INTO strata_queue_items (queue, payload, headers, priority, run_at, expires_at, "
    "dedup_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
// As kInsert, for an item with a dedup key: returns its id, or nothing when the key is taken.
constexpr Statement kInsertKeyed{
    "INSERT INTO strata_queue_items (queue, payload, headers, priority, run_at, expires_at, "
    "dedup_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"};
// ?1 queue, ?2 dedup key.
constexpr Statement kDedupHolder{
    "SELECT id FROM strata_queue_items WHERE queue = ?1 AND dedup_key = ?2"};

// Copies items to the dead letters, their last outcome added to the history. ?2 is now, ?6 the
// reason; the caller appends the condition on strata_queue_items.
constexpr std::string_view kBury =
    "INSERT INTO strata_dead_letters (id, queue, payload, headers, priority, dedup_key, "
    "attempts, history, reason, failed_at, created_at) SELECT id, queue, payload, headers, "
    "priority, dedup_key, attempts, json_insert(history, '$[#]', json_object('attempt', "
    "attempts, 'outcome', 'dead', 'reason', ?6, 'at', ?2)), ?6, ?2, created_at "
    "FROM strata_queue_items WHERE ";

// Leases that ran out on their last attempt: ?1 queue, ?2 now, ?3 max attempts.
constexpr std::string_view kExhausted =
    "queue = ?1 AND lease_token IS NOT NULL AND leased_until <= ?2 AND attempts >= ?3";
constexpr Statement kBuryExhausted{kBury, kExhausted};
constexpr Statement kDropExhausted{"DELETE FROM strata_queue_items WHERE ", kExhausted};
// ?1 queue, ?2 now.
constexpr Statement kReclaim{
    "UPDATE strata_queue_items SET lease_token = NULL, leased_until = NULL, "
    "history = json_insert(history, '$[#]', json_object('attempt', attempts, 'outcome', "
    "'lease expired', 'at', ?2)) WHERE queue = ?1 AND lease_token IS NOT NULL AND "
    "leased_until <= ?2"};
constexpr Statement kSweepExpired{
    "DELETE FROM strata_queue_items WHERE queue = ?1 AND lease_token IS NULL AND "
    "expires_at <= ?2"};
// ?1 queue, ?2 now, ?3 lease in microseconds, ?4 how many, ?5 the lease.
constexpr Statement kClaim{
    "UPDATE strata_queue_items SET lease_token = ?5, "
    "leased_until = ?2 + ?3, attempts = attempts + 1 WHERE id IN (SELECT id FROM "
    "strata_queue_items WHERE queue = ?1 AND lease_token IS NULL AND run_at <= ?2 AND "
    "(expires_at IS NULL OR expires_at > ?2) ORDER BY priority DESC, id LIMIT ?4) "
    "RETURNING id, payload, headers, priority, attempts, leased_until"};

// The item a token holds: ?1 queue, ?2 now, ?4 item id, ?5 lease.
constexpr std::string_view kHeld =
    "id = ?4 AND queue = ?1 AND lease_token = ?5 AND leased_until > ?2";

void bind_held(Query& query, std::string_view queue, std::int64_t now, const LeaseToken& token) {
  query.bind(1, queue).bind(2, now).bind(4, token.item).bind(5, token.lease);
}

// ?3 the lease in microseconds.
constexpr Statement kExtend{"UPDATE strata_queue_items SET leased_until = ?2 + ?3 WHERE ", kHeld};
constexpr Statement kComplete{"DELETE FROM strata_queue_items WHERE ", kHeld};
constexpr Statement kHeldAttempts{"SELECT attempts FROM strata_queue_items WHERE ", kHeld};
// ?3 the delay in microseconds.
constexpr Statement kGiveBack{
    "UPDATE strata_queue_items SET lease_token = NULL, leased_until = NULL, run_at = ?2 + ?3, "
    "history = json_insert(history, '$[#]', json_object('attempt', attempts, 'outcome', "
    "'retried', 'at', ?2)) WHERE ",
    kHeld};
constexpr Statement kBuryHeld{kBury, kHeld};

// ?1 queue, ?2 now.
constexpr Statement kStats{
    "SELECT "
    "count(*) FILTER (WHERE (lease_token IS NULL OR leased_until <= ?2) AND run_at <= ?2) "
    "AS ready, "
    "count(*) FILTER (WHERE lease_token IS NULL AND run_at > ?2) AS scheduled, "
    "count(*) FILTER (WHERE lease_token IS NOT NULL AND leased_until > ?2) AS leased, "
    "min(run_at) FILTER (WHERE (lease_token IS NULL OR leased_until <= ?2) AND run_at <= ?2) "
    "AS oldest_ready, (SELECT count(*) FROM strata_dead_letters WHERE queue = ?1) AS dead "
    "FROM strata_queue_items WHERE queue = ?1 AND (expires_at IS NULL OR expires_at > ?2)"};
// ?1 queue, ?2 paused.
constexpr Statement kSetPaused{"UPDATE strata_queues SET paused = ?2 WHERE name = ?1"};
constexpr Statement kPurge{"DELETE FROM strata_queue_items WHERE queue = ?1"};
// ?1 queue, ?2 after this id, ?3 how many.
constexpr Statement kDeadLetters{
    "SELECT id, payload, headers, dedup_key, attempts, reason, history, failed_at "
    "FROM strata_dead_letters WHERE queue = ?1 AND id > ?2 ORDER BY id LIMIT ?3"};
constexpr Statement kDeadIds{"SELECT id FROM strata_dead_letters WHERE queue = ?1 ORDER BY id"};
// ?1 queue, ?2 id, ?3 now, ?4 expires at. A dead letter whose dedup key a live item holds stays.
constexpr Statement kRequeue{
    "INSERT INTO strata_queue_items (id, queue, payload, headers, priority, run_at, "
    "expires_at, dedup_key, attempts, history, created_at) SELECT id, queue, payload, "
    "headers, priority, ?3, ?4, dedup_key, 0, json_insert(history, '$[#]', "
    "json_object('outcome', 'requeued', 'at', ?3)), created_at FROM strata_dead_letters "
    "WHERE queue = ?1 AND id = ?2 AND (dedup_key IS NULL OR NOT EXISTS (SELECT 1 FROM "
    "strata_queue_items AS live WHERE live.queue = ?1 AND live.dedup_key = "
    "strata_dead_letters.dedup_key))"};
constexpr Statement kDeleteDead{"DELETE FROM strata_dead_letters WHERE id = ?1"};
constexpr Statement kPurgeDead{"DELETE FROM strata_dead_letters WHERE queue = ?1"};

class SqliteQueues final : public QueueOps {
 public:
  explicit SqliteQueues(SqliteContext& context) : context_(context) {}

  void create(std::string_view queue, const QueueSettings& settings) override {
    Query query = context_.query(kCreate);
    query.bind(1, queue)
        .bind(2, static_cast<std::int64_t>(settings.lease.count()))
        .bind(3, std::int64_t{settings.max_attempts})
        .bind(4, static_cast<std::int64_t>(settings.retry_base.count()))
        .bind(5, static_cast<std::int64_t>(settings.retry_cap.count()));
    if (settings.expire_after) {
      query.bind(6, static_cast<std::int64_t>(settings.expire_after->count()));
    } else {
      query.bind_null(6);
    }
    query.bind(7, std::int64_t{settings.dead_letters ? 1 : 0}).run();
  }

  std::vector<Produced> produce(std::string_view queue,
                                const std::vector<PendingMessage>& messages) override {
    AtomicScope atomic(context_);
    const QueueConfig settings = config(queue);
    const std::int64_t now = now_micros();
    std::vector<Produced> produced;
    for (const PendingMessage& message : messages) {
      if (message.dedup_key) {
        context_.query(kUnkeyExpired).bind(1, queue).bind(2, *message.dedup_key).bind(3, now).run();
      }
      // Only an item with a dedup key can conflict; the others take the plain statement.
      Query insert = context_.query(message.dedup_key ? kInsertKeyed : kInsert);
      insert.bind(1, queue)
          .bind_blob(2, message.payload)
          .bind_optional(3, message.headers)
          .bind(4, std::int64_t{message.priority})
          .bind(5, now + message.delay_ms * 1000)
          .bind_optional(7, message.dedup_key)
          .bind(8, now);
      const auto expires_in = message.expires_in_ms ? message.expires_in_ms : settings.expire_ms;
      if (expires_in) {
        insert.bind(6, now + *expires_in * 1000);
      } else {
        insert.bind_null(6);
      }
      if (!message.dedup_key) {
        insert.run();
        produced.push_back(Produced{context_.db.last_insert_rowid(), false});
        continue;
      }
      if (insert.step()) {
        produced.push_back(Produced{insert.integer(insert.column("id")), false});
        continue;
      }
      insert.reset();
      Query holder = context_.query(kDedupHolder);
      holder.bind(1, queue).bind(2, *message.dedup_key);
      holder.step();
      produced.push_back(Produced{holder.integer(holder.column("id")), true});
    }
    atomic.commit();
    context_.produced = true;
    return produced;
  }

  std::vector<LeasedMessage> lease(std::string_view queue, std::size_t max_items,
                                   std::optional<std::int64_t> lease_ms,
                                   std::string_view lease) override {
    AtomicScope atomic(context_);
    const QueueConfig settings = config(queue);
    const std::int64_t now = now_micros();
    reclaim_expired_leases(queue, settings, now);
    context_.query(kSweepExpired).bind(1, queue).bind(2, now).run();
    std::vector<LeasedMessage> leased;
    if (!settings.paused) {
      Query claim = context_.query(kClaim);
      claim.bind(1, queue)
          .bind(2, now)
          .bind(3, lease_ms.value_or(settings.lease_ms) * 1000)
          .bind(4, static_cast<std::int64_t>(max_items))
          .bind(5, lease);
      const int id = claim.column("id");
      const int payload = claim.column("payload");
      const int headers = claim.column("headers");
      const int priority = claim.column("priority");
      const int attempts = claim.column("attempts");
      const int leased_until = claim.column("leased_until");
      while (claim.step()) {
        leased.push_back(LeasedMessage{
            claim.integer(id), claim.blob(payload), claim.optional_text(headers),
            static_cast<int>(claim.integer(priority)), static_cast<int>(claim.integer(attempts)),
            "", claim.integer(leased_until)});
      }
    }
    atomic.commit();
    return leased;
  }

  bool extend(std::string_view queue, const LeaseToken& token,
              std::optional<std::int64_t> lease_ms) override {
    const QueueConfig settings = config(queue);
    Query query = context_.query(kExtend);
    bind_held(query, queue, now_micros(), token);
    query.bind(3, lease_ms.value_or(settings.lease_ms) * 1000).run();
    return context_.db.changes() == 1;
  }

  std::size_t complete(std::string_view queue, const std::vector<LeaseToken>& tokens) override {
    AtomicScope atomic(context_);
    config(queue);
    const std::int64_t now = now_micros();
    std::size_t completed = 0;
    Query erase = context_.query(kComplete);
    for (const LeaseToken& token : tokens) {
      bind_held(erase, queue, now, token);
      erase.run();
      completed += static_cast<std::size_t>(context_.db.changes());
      erase.reset();
    }
    atomic.commit();
    return completed;
  }

  bool retry(std::string_view queue, const LeaseToken& token, std::optional<std::int64_t> delay_ms,
             double jitter) override {
    AtomicScope atomic(context_);
    const QueueConfig settings = config(queue);
    const std::int64_t now = now_micros();
    Query held = context_.query(kHeldAttempts);
    bind_held(held, queue, now, token);
    if (!held.step()) return false;
    const std::int64_t attempts = held.integer(held.column("attempts"));
    held.reset();
    if (const auto delay = retry_delay_ms(settings, attempts, delay_ms, jitter)) {
      Query give_back = context_.query(kGiveBack);
      bind_held(give_back, queue, now, token);
      give_back.bind(3, *delay * 1000).run();
    } else {
      bury_held(queue, token, settings, now, kRetriedAfterLastAttempt);
    }
    atomic.commit();
    return true;
  }

  bool fail(std::string_view queue, const LeaseToken& token, std::string_view reason) override {
    AtomicScope atomic(context_);
    const QueueConfig settings = config(queue);
    const bool held = bury_held(queue, token, settings, now_micros(), reason);
    atomic.commit();
    return held;
  }

  std::vector<std::string> names() override {
    Query query = context_.query(kNames);
    const int name = query.column("name");
    std::vector<std::string> names;
    while (query.step()) names.push_back(query.text(name));
    return names;
  }

  QueueStats stats(std::string_view queue) override {
    const QueueConfig settings = config(queue);
    const std::int64_t now = now_micros();
    Query query = context_.query(kStats);
    query.bind(1, queue).bind(2, now);
    query.step();
    QueueStats stats;
    stats.ready = query.integer(query.column("ready"));
    stats.scheduled = query.integer(query.column("scheduled"));
    stats.leased = query.integer(query.column("leased"));
    stats.dead = query.integer(query.column("dead"));
    const int oldest = query.column("oldest_ready");
    if (!query.is_null(oldest)) {
      stats.oldest_ready_age_seconds = static_cast<double>(now - query.integer(oldest)) / 1e6;
    }
    stats.paused = settings.paused;
    return stats;
  }

  void set_paused(std::string_view queue, bool paused) override {
    config(queue);
    context_.query(kSetPaused).bind(1, queue).bind(2, std::int64_t{paused ? 1 : 0}).run();
  }

  std::size_t purge(std::string_view queue) override {
    config(queue);
    context_.query(kPurge).bind(1, queue).run();
    return static_cast<std::size_t>(context_.db.changes());
  }

  std::vector<DeadLetter> dead_letters(std::string_view queue, std::int64_t after_id,
                                       std::size_t limit) override {
    config(queue);
    Query query = context_.query(kDeadLetters);
    query.bind(1, queue).bind(2, after_id).bind(3, static_cast<std::int64_t>(limit));
    const int id = query.column("id");
    const int payload = query.column("payload");
    const int headers = query.column("headers");
    const int dedup_key = query.column("dedup_key");
    const int attempts = query.column("attempts");
    const int reason = query.column("reason");
    const int history = query.column("history");
    const int failed_at = query.column("failed_at");
    std::vector<DeadLetter> dead;
    while (query.step()) {
      dead.push_back(DeadLetter{query.integer(id), query.blob(payload),
                                query.optional_text(headers), query.optional_text(dedup_key),
                                static_cast<int>(query.integer(attempts)), query.text(reason),
                                query.text(history), query.integer(failed_at)});
    }
    return dead;
  }

  std::size_t requeue(std::string_view queue,
                      const std::optional<std::vector<std::int64_t>>& ids) override {
    AtomicScope atomic(context_);
    const QueueConfig settings = config(queue);
    const std::int64_t now = now_micros();
    std::vector<std::int64_t> wanted;
    if (ids) {
      wanted = *ids;
    } else {
      Query all = context_.query(kDeadIds);
      all.bind(1, queue);
      const int id = all.column("id");
      while (all.step()) wanted.push_back(all.integer(id));
    }
    std::size_t requeued = 0;
    for (const std::int64_t id : wanted) {
      Query back = context_.query(kRequeue);
      back.bind(1, queue).bind(2, id).bind(3, now);
      if (settings.expire_ms) {
        back.bind(4, now + *settings.expire_ms * 1000);
      } else {
        back.bind_null(4);
      }
      back.run();
      if (context_.db.changes() == 0) continue;
      context_.query(kDeleteDead).bind(1, id).run();
      ++requeued;
    }
    atomic.commit();
    return requeued;
  }

  std::size_t purge_dead(std::string_view queue) override {
    config(queue);
    context_.query(kPurgeDead).bind(1, queue).run();
    return static_cast<std::size_t>(context_.db.changes());
  }

 private:
  QueueConfig config(std::string_view queue) {
    Query query = context_.query(kConfig);
    query.bind(1, queue);
    if (!query.step()) throw_unknown_queue(queue);
    QueueConfig settings;
    settings.lease_ms = query.integer(query.column("lease_ms"));
    settings.max_attempts = query.integer(query.column("max_attempts"));
    settings.retry_base_ms = query.integer(query.column("retry_base_ms"));
    settings.retry_cap_ms = query.integer(query.column("retry_cap_ms"));
    const int expire_ms = query.column("expire_ms");
    if (!query.is_null(expire_ms)) settings.expire_ms = query.integer(expire_ms);
    settings.dead_letters = query.integer(query.column("dead_letters")) != 0;
    settings.paused = query.integer(query.column("paused")) != 0;
    return settings;
  }

  // Items whose lease ran out come back, or go to the dead letters once their attempts are
  // used up.
  void reclaim_expired_leases(std::string_view queue, const QueueConfig& settings,
                              std::int64_t now) {
    if (settings.dead_letters) {
      context_.query(kBuryExhausted)
          .bind(1, queue)
          .bind(2, now)
          .bind(3, settings.max_attempts)
          .bind(6, kLeaseExpiredOnLastAttempt)
          .run();
    }
    context_.query(kDropExhausted).bind(1, queue).bind(2, now).bind(3, settings.max_attempts).run();
    context_.query(kReclaim).bind(1, queue).bind(2, now).run();
  }

  // Moves the item a live token holds to the dead letters (or drops it when the queue keeps
  // none). False when the token holds nothing.
  bool bury_held(std::string_view queue, const LeaseToken& token, const QueueConfig& settings,
                 std::int64_t now, std::string_view reason) {
    if (settings.dead_letters) {
      Query bury = context_.query(kBuryHeld);
      bind_held(bury, queue, now, token);
      bury.bind(6, reason).run();
    }
    Query drop = context_.query(kComplete);
    bind_held(drop, queue, now, token);
    drop.run();
    return context_.db.changes() == 1;
  }

  SqliteContext& context_;
};

}  // namespace

std::unique_ptr<QueueOps> sqlite_queues(SqliteContext& context) {
  return std::make_unique<SqliteQueues>(context);
}

}  // namespace strata::detail
