// Work queues on PostgreSQL: leases and produces in one round trip each, claims by SKIP LOCKED
// on cached generic plans, sweeps and VACUUM paced by QueueUpkeep (see docs/queues.md).
#include <algorithm>
#include <array>
#include <deque>

#include "core/queue_rules.h"
#include "postgres/pg_rooms.h"
#include "postgres/queue_upkeep.h"

namespace strata::detail {
namespace {

using pq::Command;
using pq::Params;
using pq::Result;

// "Now" is the transaction's start (now()), one instant for every statement of a call.
constexpr std::string_view kMicrosNow = "(extract(epoch FROM now()) * 1000000)::bigint";

// $1 queue. One row, of the columns read_config reads; none for an unknown queue.
constexpr Statement kConfig{
    "SELECT lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, dead_letters, "
    "paused FROM {schema}.queues WHERE name = $1::text"};

// The settings in the first row of `rows`, from the columns kConfig names.
QueueConfig read_config(const Result& rows) {
  QueueConfig config;
  config.lease_ms = rows.integer(0, rows.column("lease_ms"));
  config.max_attempts = rows.integer(0, rows.column("max_attempts"));
  config.retry_base_ms = rows.integer(0, rows.column("retry_base_ms"));
  config.retry_cap_ms = rows.integer(0, rows.column("retry_cap_ms"));
  const int expire_ms = rows.column("expire_ms");
  if (!rows.is_null(0, expire_ms)) config.expire_ms = rows.integer(0, expire_ms);
  config.dead_letters = rows.text(0, rows.column("dead_letters")) == "t";
  config.paused = rows.text(0, rows.column("paused")) == "t";
  return config;
}

constexpr Statement kNames{"SELECT name FROM {schema}.queues ORDER BY name"};

// $1 queue, $2 lease ms, $3 max attempts, $4 retry base ms, $5 retry cap ms, $6 expiry ms (NULL:
// none), $7 whether it keeps dead letters.
constexpr Statement kCreate{
    "INSERT INTO {schema}.queues (name, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, "
    "expire_ms, dead_letters) VALUES ($1::text, $2::bigint, $3::integer, $4::bigint, "
    "$5::bigint, $6::bigint, $7::boolean) ON CONFLICT (name) DO UPDATE SET "
    "lease_ms = excluded.lease_ms, max_attempts = excluded.max_attempts, "
    "retry_base_ms = excluded.retry_base_ms, retry_cap_ms = excluded.retry_cap_ms, "
    "expire_ms = excluded.expire_ms, dead_letters = excluded.dead_letters"};

// $1 queue, $2 dedup key: an expired item no longer holds its key.
constexpr Statement kUnkeyExpired{
    "DELETE FROM {schema}.queue_items WHERE queue = $1::text AND dedup_key = $2::text AND "
    "lease_token IS NULL AND expires_at <= now()"};
// Producing reads the queue's row: its default expiry, and nothing is inserted into a queue
// that does not exist. $1 queue, $2 payload, $3 headers, $4 priority, $5 delay ms, $6 expiry ms
// (NULL: the queue's), $7 dedup key. Returns the new item's id; none when the key is taken.
constexpr Statement kInsert{
    "INSERT INTO {schema}.queue_items (queue, payload, headers, priority, run_at, expires_at, "
    "dedup_key, created_at) SELECT name, $2::bytea, $3::json, $4::integer, "
    "now() + $5::bigint * interval '1 millisecond', "
    "now() + coalesce($6::bigint, expire_ms) * interval '1 millisecond', $7::text, now() "
    "FROM {schema}.queues WHERE name = $1::text "
    "ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"};
// $1 queue, $2 dedup key. The item holding the key.
constexpr Statement kDedupHolder{
    "SELECT id FROM {schema}.queue_items WHERE queue = $1::text AND dedup_key = $2::text"};
// A batch without dedup keys, as one statement: $2… arrays of kInsert's $2…$6. Identity values
// are drawn in row order, so the ids returned, sorted, follow the input's order.
constexpr Statement kInsertMany{
    "INSERT INTO {schema}.queue_items (queue, payload, headers, priority, run_at, expires_at, "
    "created_at) SELECT name, m.payload, m.headers, m.priority, "
    "now() + m.delay_ms * interval '1 millisecond', "
    "now() + coalesce(m.expires_ms, expire_ms) * interval '1 millisecond', now() "
    "FROM {schema}.queues, unnest($2::bytea[], $3::json[], $4::integer[], $5::bigint[], "
    "$6::bigint[]) WITH ORDINALITY AS m (payload, headers, priority, delay_ms, expires_ms, "
    "ordinal) WHERE name = $1::text ORDER BY m.ordinal RETURNING id"};
// $1 channel, $2 queue: wakes waiting leases. Delivered at commit; PostgreSQL folds identical
// notifications of one transaction into one.
constexpr Statement kNotify{"SELECT pg_notify($1::text, $2::text)"};

// Moves the rows `gone` deleted to the dead letters, when the queue keeps them, with their last
// outcome added to the history: kBuryInsert, the reason (SQL), kBuryAt, the reason, kBuryFrom.
constexpr std::string_view kBuryInsert =
    "INSERT INTO {schema}.dead_letters (id, queue, payload, headers, priority, dedup_key, "
    "attempts, history, reason, failed_at, created_at) SELECT id, queue, payload, headers, "
    "priority, dedup_key, attempts, history || jsonb_build_array(jsonb_build_object("
    "'attempt', attempts, 'outcome', 'dead', 'reason', ";
constexpr std::string_view kBuryAt =
    "::text, 'at', (extract(epoch FROM now()) * 1000000)::bigint)), ";
constexpr std::string_view kBuryFrom =
    "::text, now(), created_at FROM gone "
    "WHERE (SELECT dead_letters FROM {schema}.queues WHERE name = $1::text)::boolean";

// Sweeps, each of at most 100 rows and never waiting for a row another call holds. $1 queue.
constexpr Statement kBuryExhausted{
    "WITH gone AS (DELETE FROM {schema}.queue_items WHERE id = ANY(ARRAY(SELECT id FROM "
    "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NOT NULL AND "
    "leased_until <= now() AND attempts >= (SELECT max_attempts FROM {schema}.queues "
    "WHERE name = $1::text) LIMIT 100 FOR UPDATE SKIP LOCKED)) RETURNING *) ",
    kBuryInsert,
    "'",
    kLeaseExpiredOnLastAttempt,
    "'",
    kBuryAt,
    "'",
    kLeaseExpiredOnLastAttempt,
    "'",
    kBuryFrom};
constexpr Statement kReclaim{
    "UPDATE {schema}.queue_items SET lease_token = NULL, leased_until = NULL, "
    "history = history || jsonb_build_array(jsonb_build_object('attempt', attempts, "
    "'outcome', 'lease expired', 'at', ",
    kMicrosNow,
    ")) WHERE id = ANY(ARRAY(SELECT id FROM {schema}.queue_items WHERE queue = $1::text AND "
    "lease_token IS NOT NULL AND leased_until <= now() LIMIT 100 FOR UPDATE SKIP LOCKED))"};
constexpr Statement kSweepExpired{
    "DELETE FROM {schema}.queue_items WHERE id = ANY(ARRAY(SELECT id FROM "
    "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NULL AND "
    "expires_at <= now() LIMIT 100 FOR UPDATE SKIP LOCKED))"};

// $1 queue, $2 how many, $3 lease ms (NULL: the queue's), $4 the lease. Nothing when the queue
// is paused or unknown. Claims and sweeps pick their rows as an array, so that even a plan made
// without knowing how many finds each row by its primary key.
constexpr Statement kClaim{
    "UPDATE {schema}.queue_items SET lease_token = $4::text, leased_until = now() + "
    "coalesce($3::bigint, (SELECT lease_ms FROM {schema}.queues WHERE name = $1::text)) * "
    "interval '1 millisecond', attempts = attempts + 1 WHERE id = ANY(ARRAY(SELECT id FROM "
    "{schema}.queue_items WHERE queue = $1::text AND lease_token IS NULL AND run_at <= now() "
    "AND (expires_at IS NULL OR expires_at > now()) AND EXISTS (SELECT 1 FROM "
    "{schema}.queues WHERE name = $1::text AND NOT paused) ORDER BY priority DESC, id "
    "LIMIT $2::bigint FOR UPDATE SKIP LOCKED)) RETURNING id, encode(payload, 'hex') AS "
    "payload_hex, headers, priority, attempts, "
    "(extract(epoch FROM leased_until) * 1000000)::bigint AS leased_until_micros"};

std::vector<LeasedMessage> read_claimed(const Result& rows) {
  const int id = rows.column("id");
  const int payload = rows.column("payload_hex");
  const int headers = rows.column("headers");
  const int priority = rows.column("priority");
  const int attempts = rows.column("attempts");
  const int leased_until = rows.column("leased_until_micros");
  std::vector<LeasedMessage> leased;
  for (int row = 0; row < rows.rows(); ++row) {
    leased.push_back(LeasedMessage{
        rows.integer(row, id), pq::from_hex(rows.text(row, payload)),
        rows.optional_string(row, headers), static_cast<int>(rows.integer(row, priority)),
        static_cast<int>(rows.integer(row, attempts)), "", rows.integer(row, leased_until)});
  }
  return leased;
}

// A queue grows far faster than its statistics follow, and a plan made for an empty queue (a
// bitmap scan and a sort) reads the whole queue once it is full: a lease keeps its statements to
// walking the indexes in order. That plan is right at every size, so it is planned once and
// cached (left to choose, PostgreSQL plans a claim afresh on every call, as its LIMIT is a
// parameter).
constexpr Statement kPlanByIndex{
    "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', "
    "true), set_config('plan_cache_mode', 'force_generic_plan', true)"};
// The same for a lease in a transaction of its own, committed without waiting for its WAL to
// reach the disk: a crash can forget only the lease (the item is handed out again, as after an
// expired lease), and any later commit, such as the item's completion, flushes it.
constexpr Statement kPlanLeaseAlone{
    "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', "
    "true), set_config('plan_cache_mode', 'force_generic_plan', true), "
    "set_config('synchronous_commit', 'off', true)"};
// Back to the caller's settings, inside the caller's transaction.
constexpr Statement kPlanDefault{
    "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN "
    "('enable_bitmapscan', 'enable_sort', 'plan_cache_mode')"};

// The item a token holds: $1 queue, $2 item id, $3 lease.
constexpr std::string_view kHeld =
    "id = $2::bigint AND queue = $1::text AND lease_token = $3::text AND leased_until > now()";

Params held_params(std::string_view queue, const LeaseToken& token) {
  return Params().add(queue).add(token.item).add(token.lease);
}

// $4 lease ms (NULL: the queue's). Returns a row when the token held.
constexpr Statement kExtend{
    "UPDATE {schema}.queue_items SET leased_until = now() + coalesce($4::bigint, "
    "(SELECT lease_ms FROM {schema}.queues WHERE name = $1::text)) * interval '1 millisecond' "
    "WHERE ",
    kHeld, " RETURNING true"};
// $1 queue, $2 item ids, $3 their leases. Returns a row per item completed.
constexpr Statement kComplete{
    "DELETE FROM {schema}.queue_items AS item USING unnest($2::bigint[], $3::text[]) AS "
    "held (id, lease) WHERE item.id = held.id AND item.queue = $1::text AND "
    "item.lease_token = held.lease AND item.leased_until > now() RETURNING true"};
// The held item's attempts and its queue's settings, as kConfig names them.
constexpr Statement kHeldAttempts{
    "SELECT attempts, lease_ms, max_attempts, retry_base_ms, retry_cap_ms, expire_ms, "
    "dead_letters, paused FROM {schema}.queue_items AS item JOIN {schema}.queues ON "
    "name = queue WHERE ",
    kHeld, " FOR UPDATE OF item"};
// $4 delay ms.
constexpr Statement kGiveBack{
    "UPDATE {schema}.queue_items SET lease_token = NULL, leased_until = NULL, "
    "run_at = now() + $4::bigint * interval '1 millisecond', history = history || "
    "jsonb_build_array(jsonb_build_object('attempt', attempts, 'outcome', 'retried', 'at', ",
    kMicrosNow, ")) WHERE ", kHeld};
// $4 reason. One row: how many items it buried (or dropped, when the queue keeps no dead
// letters): 1, or 0 when the token holds nothing.
constexpr Statement kBuryHeld{"WITH gone AS (DELETE FROM {schema}.queue_items WHERE ",
                              kHeld,
                              " RETURNING *), buried AS (",
                              kBuryInsert,
                              "$4",
                              kBuryAt,
                              "$4",
                              kBuryFrom,
                              " RETURNING 1) SELECT count(*) AS buried FROM gone"};

// $1 queue.
constexpr Statement kStats{
    "SELECT count(*) FILTER (WHERE (lease_token IS NULL OR leased_until <= now()) AND "
    "run_at <= now()) AS ready, count(*) FILTER (WHERE lease_token IS NULL AND run_at > now()) "
    "AS scheduled, count(*) FILTER (WHERE lease_token IS NOT NULL AND leased_until > now()) "
    "AS leased, extract(epoch FROM now() - min(run_at) FILTER (WHERE (lease_token IS NULL OR "
    "leased_until <= now()) AND run_at <= now()))::float8 AS oldest_ready_seconds, "
    "(SELECT count(*) FROM {schema}.dead_letters WHERE queue = $1::text) AS dead "
    "FROM {schema}.queue_items WHERE queue = $1::text AND (expires_at IS NULL OR "
    "expires_at > now())"};
// $2 paused. Returns a row when the queue exists.
constexpr Statement kSetPaused{
    "UPDATE {schema}.queues SET paused = $2::boolean WHERE name = $1::text RETURNING true"};
constexpr Statement kPurge{
    "DELETE FROM {schema}.queue_items WHERE queue = $1::text RETURNING true"};
// $2 after this id, $3 how many.
constexpr Statement kDeadLetters{
    "SELECT id, encode(payload, 'hex') AS payload_hex, headers, dedup_key, attempts, reason, "
    "history::text AS history, (extract(epoch FROM failed_at) * 1000000)::bigint AS "
    "failed_micros FROM {schema}.dead_letters WHERE queue = $1::text AND id > $2::bigint "
    "ORDER BY id LIMIT $3::bigint"};
// $2 the ids (NULL: all), $3 expiry ms. A dead letter whose dedup key a live item holds stays.
constexpr Statement kRequeue{
    "WITH back AS (DELETE FROM {schema}.dead_letters AS d WHERE queue = $1::text AND "
    "($2::bigint[] IS NULL OR id = ANY($2::bigint[])) AND (dedup_key IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM {schema}.queue_items AS live WHERE live.queue = $1::text AND "
    "live.dedup_key = d.dedup_key)) RETURNING *) INSERT INTO {schema}.queue_items (id, queue, "
    "payload, headers, priority, run_at, expires_at, dedup_key, attempts, history, created_at) "
    "SELECT id, queue, payload, headers, priority, now(), now() + $3::bigint * interval "
    "'1 millisecond', dedup_key, 0, history || jsonb_build_array(jsonb_build_object("
    "'outcome', 'requeued', 'at', ",
    kMicrosNow, ")), created_at FROM back RETURNING true"};
constexpr Statement kPurgeDead{
    "DELETE FROM {schema}.dead_letters WHERE queue = $1::text RETURNING true"};

std::string integer_array(const std::vector<std::int64_t>& values) {
  return pq::array_literal(
      values, [](std::string& out, std::int64_t value) { out += std::to_string(value); });
}

class PgQueues final : public QueueOps {
 public:
  explicit PgQueues(PgContext& context) : context_(context) {}

  void create(std::string_view queue, const QueueSettings& settings) override {
    Params params;
    params.add(queue)
        .add(static_cast<std::int64_t>(settings.lease.count()))
        .add(std::int64_t{settings.max_attempts})
        .add(static_cast<std::int64_t>(settings.retry_base.count()))
        .add(static_cast<std::int64_t>(settings.retry_cap.count()));
    params.add_nullable(settings.expire_after ? std::optional(settings.expire_after->count())
                                              : std::nullopt);
    params.add(settings.dead_letters ? "t" : "f");
    context_.query(kCreate, params);
  }

  // One round trip and one transaction: the queue's settings (to tell an unknown queue), the
  // statements of every item, and the notification.
  std::vector<Produced> produce(std::string_view queue,
                                const std::vector<PendingMessage>& messages) override {
    const bool keyless = std::none_of(messages.begin(), messages.end(),
                                      [](const PendingMessage& m) { return m.dedup_key; });
    if (keyless && messages.size() > 1) return produce_keyless(queue, messages);
    const Params q = Params().add(queue);
    std::deque<Params> params;  // The commands refer to them: they must not move.
    std::vector<Command> commands = {context_.command(kConfig, q)};
    std::vector<std::size_t> insert_at;
    for (const PendingMessage& message : messages) {
      const Params* key = nullptr;
      if (message.dedup_key) {
        key = &params.emplace_back(Params().add(queue).add(*message.dedup_key));
        commands.push_back(context_.command(kUnkeyExpired, *key));
      }
      Params& insert = params.emplace_back();
      insert.add(queue).add(pq::bytea_literal(message.payload));
      insert.add_nullable(message.headers);
      insert.add(std::int64_t{message.priority}).add(message.delay_ms);
      insert.add_nullable(message.expires_in_ms);
      insert.add_nullable(message.dedup_key);
      insert_at.push_back(commands.size());
      commands.push_back(context_.command(kInsert, insert));
      // The item holding the key, read when the insert found the key taken.
      if (key) commands.push_back(context_.command(kDedupHolder, *key));
    }
    const Params notify = Params().add(context_.store.queue_channel).add(queue);
    commands.push_back(context_.command(kNotify, notify));
    const auto results = context_.atomic_pipeline(commands);
    if (results[0].rows() == 0) throw_unknown_queue(queue);
    std::vector<Produced> produced;
    for (const std::size_t at : insert_at) {
      const bool inserted = results[at].rows() == 1;
      const Result& id = results[inserted ? at : at + 1];
      produced.push_back(Produced{id.integer(0, id.column("id")), !inserted});
    }
    return produced;
  }

  // One round trip when items are ready. Expired leases and items are seen to at most once a
  // second per process, and whenever the claim alone comes back short.
  std::vector<LeasedMessage> lease(std::string_view queue, std::size_t max_items,
                                   std::optional<std::int64_t> lease_ms,
                                   std::string_view lease) override {
    QueueUpkeep& upkeep = context_.store.upkeep;
    const bool swept = upkeep.sweep_due(queue);
    auto leased = claim(queue, max_items, lease_ms, lease, swept);
    if (leased.size() < max_items && !swept) {
      upkeep.swept(queue);
      auto more = claim(queue, max_items - leased.size(), lease_ms, lease, true);
      leased.insert(leased.end(), more.begin(), more.end());
    }
    upkeep.churned(leased.size());
    return leased;
  }

  bool extend(std::string_view queue, const LeaseToken& token,
              std::optional<std::int64_t> lease_ms) override {
    Params params = held_params(queue, token);
    params.add_nullable(lease_ms);
    if (context_.query(kExtend, params).rows() == 1) return true;
    config(queue);  // Throws for an unknown queue; else the token was stale.
    return false;
  }

  std::size_t complete(std::string_view queue, const std::vector<LeaseToken>& tokens) override {
    const std::string items = pq::array_literal(
        tokens,
        [](std::string& out, const LeaseToken& token) { out += std::to_string(token.item); });
    // Hex digits only: nothing to quote.
    const std::string leases = pq::array_literal(
        tokens, [](std::string& out, const LeaseToken& token) { out += token.lease; });
    const Params params = Params().add(queue).add(items).add(leases);
    const auto completed = static_cast<std::size_t>(context_.query(kComplete, params).rows());
    // Only a call that completed nothing pays a round trip to tell an unknown queue apart.
    if (completed == 0) config(queue);
    return completed;
  }

  bool retry(std::string_view queue, const LeaseToken& token, std::optional<std::int64_t> delay_ms,
             double jitter) override {
    const bool held = context_.atomically([&] {
      const Result rows = context_.query(kHeldAttempts, held_params(queue, token));
      if (rows.rows() == 0) return false;
      const auto delay = retry_delay_ms(read_config(rows), rows.integer(0, rows.column("attempts")),
                                        delay_ms, jitter);
      if (!delay) return bury_held(queue, token, kRetriedAfterLastAttempt);
      context_.query(kGiveBack, held_params(queue, token).add(*delay));
      return true;
    });
    if (!held) config(queue);  // Throws for an unknown queue; else the token was stale.
    return held;
  }

  bool fail(std::string_view queue, const LeaseToken& token, std::string_view reason) override {
    if (bury_held(queue, token, reason)) return true;
    config(queue);  // Throws for an unknown queue; else the token was stale.
    return false;
  }

  std::vector<std::string> names() override {
    const Result rows = context_.query(kNames, Params());
    const int name = rows.column("name");
    std::vector<std::string> names;
    for (int row = 0; row < rows.rows(); ++row) names.push_back(rows.string(row, name));
    return names;
  }

  QueueStats stats(std::string_view queue) override {
    const QueueConfig settings = config(queue);
    const Result rows = context_.query(kStats, Params().add(queue));
    QueueStats stats;
    stats.ready = rows.integer(0, rows.column("ready"));
    stats.scheduled = rows.integer(0, rows.column("scheduled"));
    stats.leased = rows.integer(0, rows.column("leased"));
    stats.dead = rows.integer(0, rows.column("dead"));
    const int oldest = rows.column("oldest_ready_seconds");
    if (!rows.is_null(0, oldest))
      stats.oldest_ready_age_seconds = std::stod(rows.string(0, oldest));
    stats.paused = settings.paused;
    return stats;
  }

  void set_paused(std::string_view queue, bool paused) override {
    if (context_.query(kSetPaused, Params().add(queue).add(paused ? "t" : "f")).rows() == 0) {
      throw_unknown_queue(queue);
    }
  }

  std::size_t purge(std::string_view queue) override {
    config(queue);
    return static_cast<std::size_t>(context_.query(kPurge, Params().add(queue)).rows());
  }

  std::vector<DeadLetter> dead_letters(std::string_view queue, std::int64_t after_id,
                                       std::size_t limit) override {
    config(queue);
    const Result rows = context_.query(
        kDeadLetters, Params().add(queue).add(after_id).add(static_cast<std::int64_t>(limit)));
    const int id = rows.column("id");
    const int payload = rows.column("payload_hex");
    const int headers = rows.column("headers");
    const int dedup_key = rows.column("dedup_key");
    const int attempts = rows.column("attempts");
    const int reason = rows.column("reason");
    const int history = rows.column("history");
    const int failed_at = rows.column("failed_micros");
    std::vector<DeadLetter> dead;
    for (int row = 0; row < rows.rows(); ++row) {
      dead.push_back(
          DeadLetter{rows.integer(row, id), pq::from_hex(rows.text(row, payload)),
                     rows.optional_string(row, headers), rows.optional_string(row, dedup_key),
                     static_cast<int>(rows.integer(row, attempts)), rows.string(row, reason),
                     rows.string(row, history), rows.integer(row, failed_at)});
    }
    return dead;
  }

  std::size_t requeue(std::string_view queue,
                      const std::optional<std::vector<std::int64_t>>& ids) override {
    const QueueConfig settings = config(queue);
    Params params;
    params.add(queue);
    if (ids) {
      params.add(integer_array(*ids));
    } else {
      params.add_null();
    }
    params.add_nullable(settings.expire_ms);
    return static_cast<std::size_t>(context_.query(kRequeue, params).rows());
  }

  std::size_t purge_dead(std::string_view queue) override {
    config(queue);
    return static_cast<std::size_t>(context_.query(kPurgeDead, Params().add(queue)).rows());
  }

 private:
  QueueConfig config(std::string_view queue) {
    const Result rows = context_.query(kConfig, Params().add(queue));
    if (rows.rows() == 0) throw_unknown_queue(queue);
    return read_config(rows);
  }

  bool bury_held(std::string_view queue, const LeaseToken& token, std::string_view reason) {
    const Result buried = context_.query(kBuryHeld, held_params(queue, token).add(reason));
    return buried.integer(0, buried.column("buried")) == 1;
  }

  // One round trip: the claim, after the sweeps when `sweep`. On its own, in the pipeline's
  // implicit transaction, committed without waiting for the disk (see kPlanLeaseAlone); in the
  // caller's transaction, in a savepoint.
  std::vector<LeasedMessage> claim(std::string_view queue, std::size_t max_items,
                                   std::optional<std::int64_t> lease_ms, std::string_view lease,
                                   bool sweep) {
    const Params none;
    const Params q = Params().add(queue);
    Params claim_params = Params().add(queue).add(static_cast<std::int64_t>(max_items));
    claim_params.add_nullable(lease_ms).add(lease);
    std::vector<Command> commands = {
        context_.command(context_.in_transaction ? kPlanByIndex : kPlanLeaseAlone, none)};
    const std::size_t config_at = commands.size();
    if (sweep) {
      commands.push_back(context_.command(kConfig, q));
      commands.push_back(context_.command(kBuryExhausted, q));
      commands.push_back(context_.command(kReclaim, q));
      commands.push_back(context_.command(kSweepExpired, q));
    }
    const std::size_t claim_at = commands.size();
    commands.push_back(context_.command(kClaim, claim_params));
    if (context_.in_transaction) commands.push_back(context_.command(kPlanDefault, none));
    const auto results = context_.atomic_pipeline(commands);
    if (sweep && results[config_at].rows() == 0) throw_unknown_queue(queue);
    return read_claimed(results[claim_at]);
  }

  // A batch without dedup keys: one INSERT of arrays, in one round trip.
  std::vector<Produced> produce_keyless(std::string_view queue,
                                        const std::vector<PendingMessage>& messages) {
    std::array<std::string, 5> arrays = {"{", "{", "{", "{", "{"};
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const PendingMessage& message = messages[i];
      if (i > 0) {
        for (auto& array : arrays) array += ',';
      }
      pq::append_array_element(arrays[0], pq::bytea_literal(message.payload));
      pq::append_array_element(arrays[1], message.headers);
      arrays[2] += std::to_string(message.priority);
      arrays[3] += std::to_string(message.delay_ms);
      arrays[4] += message.expires_in_ms ? std::to_string(*message.expires_in_ms) : "NULL";
    }
    const Params q = Params().add(queue);
    Params insert;
    insert.add(queue);
    for (auto& array : arrays) insert.add(array += '}');
    const Params notify = Params().add(context_.store.queue_channel).add(queue);
    const std::array<Command, 3> commands = {context_.command(kConfig, q),
                                             context_.command(kInsertMany, insert),
                                             context_.command(kNotify, notify)};
    const auto results = context_.atomic_pipeline(commands);
    if (results[0].rows() == 0) throw_unknown_queue(queue);
    const Result& inserted = results[1];
    const int id = inserted.column("id");
    std::vector<std::int64_t> ids;
    for (int row = 0; row < inserted.rows(); ++row) ids.push_back(inserted.integer(row, id));
    std::sort(ids.begin(), ids.end());
    std::vector<Produced> produced;
    for (const std::int64_t each : ids) produced.push_back(Produced{each, false});
    return produced;
  }

  PgContext& context_;
};

}  // namespace

std::unique_ptr<QueueOps> pg_queues(PgContext& context) {
  return std::make_unique<PgQueues>(context);
}

}  // namespace strata::detail
