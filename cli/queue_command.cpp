#include <iostream>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

// The queue commands share one set of options; each subcommand reads the ones it declares.
struct Options {
  std::string queue;
  std::optional<std::string> payload, dedup, reason;
  std::vector<std::string> tokens;
  std::vector<std::int64_t> ids;
  std::optional<double> lease_seconds, expire_seconds, delay_seconds, wait_seconds;
  std::optional<int> max_attempts;
  int priority = 0;
  std::size_t max = 1;
  bool all = false;
};

void add_item_commands(CLI::App& queue, Context& context, std::shared_ptr<Options> options) {
  auto* create = queue.add_subcommand("create", "Create a queue, or change its settings");
  create->add_option("Q", options->queue, "Queue")->required();
  create->add_option("--lease-seconds", options->lease_seconds, "Default lease length")
      ->check(seconds_range());
  create->add_option("--max-attempts", options->max_attempts, "Leases before an item is dead");
  create->add_option("--expire-seconds", options->expire_seconds, "Items expire after this")
      ->check(seconds_range());
  create->callback([options, &context] {
    QueueSettings settings;
    if (options->lease_seconds) settings.lease = seconds(*options->lease_seconds);
    if (options->max_attempts) settings.max_attempts = *options->max_attempts;
    if (options->expire_seconds) settings.expire_after = seconds(*options->expire_seconds);
    context.store().queue(options->queue).create(settings);
    print({{"queue", options->queue}, {"created", true}});
  });

  auto* produce = queue.add_subcommand("produce", "Add an item; PAYLOAD from stdin if omitted");
  produce->add_option("Q", options->queue, "Queue")->required();
  produce->add_option("PAYLOAD", options->payload, "Payload");
  produce->add_option("--dedup", options->dedup, "Dedup key");
  produce->add_option("--delay", options->delay_seconds, "Seconds before it is due")
      ->check(seconds_range());
  produce->add_option("--priority", options->priority, "Higher first");
  produce->callback([options, &context] {
    QueueMessage item;
    item.payload = options->payload ? *options->payload : read_stdin();
    item.dedup_key = options->dedup;
    item.priority = options->priority;
    if (options->delay_seconds) item.delay = seconds(*options->delay_seconds);
    const auto produced = context.store().queue(options->queue).produce({item}).front();
    print({{"id", produced.id}, {"deduplicated", produced.deduplicated}});
  });

  auto* lease = queue.add_subcommand("lease", "Lease ready items: one line each, none if none");
  lease->add_option("Q", options->queue, "Queue")->required();
  lease->add_option("--max", options->max, "Most items")->capture_default_str();
  lease->add_option("--lease-seconds", options->lease_seconds, "Lease length")
      ->check(seconds_range());
  lease->callback([options, &context] {
    const auto lease_for =
        options->lease_seconds ? std::optional(seconds(*options->lease_seconds)) : std::nullopt;
    for (const auto& item : context.store().queue(options->queue).lease(options->max, lease_for)) {
      nlohmann::ordered_json line;
      line["id"] = item.id;
      add_bytes(line, "payload", item.payload);
      line["attempt"] = item.attempt;
      line["token"] = item.token;
      line["lease_expires_at"] = format_timestamp(item.lease_expires_at);
      print(line);
    }
  });
}

void add_token_commands(CLI::App& queue, Context& context, std::shared_ptr<Options> options) {
  auto* complete = queue.add_subcommand("complete", "Finish items (exit 3 if a token is stale)");
  complete->add_option("Q", options->queue, "Queue")->required();
  complete->add_option("TOKEN", options->tokens, "Lease tokens")->required();
  complete->callback([options, &context] {
    const std::size_t done = context.store().queue(options->queue).complete(options->tokens);
    print({{"completed", done}});
    if (done < options->tokens.size()) {
      throw LeaseLost(std::to_string(options->tokens.size() - done) +
                      " token(s) no longer held their lease");
    }
  });

  auto* extend = queue.add_subcommand("extend", "Lengthen a lease");
  extend->add_option("Q", options->queue, "Queue")->required();
  extend->add_option("TOKEN", options->tokens, "Lease token")->required()->expected(1);
  extend->add_option("--lease-seconds", options->lease_seconds, "New lease length from now")
      ->check(seconds_range());
  extend->callback([options, &context] {
    context.store()
        .queue(options->queue)
        .extend(options->tokens.front(), options->lease_seconds
                                             ? std::optional(seconds(*options->lease_seconds))
                                             : std::nullopt);
    print({{"extended", true}});
  });

  auto* retry = queue.add_subcommand("retry", "Give an item back for a later attempt");
  retry->add_option("Q", options->queue, "Queue")->required();
  retry->add_option("TOKEN", options->tokens, "Lease token")->required()->expected(1);
  retry->add_option("--delay", options->delay_seconds, "Seconds (default: the backoff)")
      ->check(seconds_range());
  retry->callback([options, &context] {
    context.store()
        .queue(options->queue)
        .retry(options->tokens.front(), options->delay_seconds
                                            ? std::optional(seconds(*options->delay_seconds))
                                            : std::nullopt);
    print({{"retried", true}});
  });

  auto* fail = queue.add_subcommand("fail", "Move an item to the dead letters");
  fail->add_option("Q", options->queue, "Queue")->required();
  fail->add_option("TOKEN", options->tokens, "Lease token")->required()->expected(1);
  fail->add_option("--reason", options->reason, "Why");
  fail->callback([options, &context] {
    context.store()
        .queue(options->queue)
        .fail(options->tokens.front(), options->reason.value_or("failed"));
    print({{"failed", true}});
  });
}

void add_queue_admin(CLI::App& queue, Context& context, std::shared_ptr<Options> options) {
  auto* stats = queue.add_subcommand("stats", "Counts of ready, scheduled, leased, dead items");
  stats->add_option("Q", options->queue, "Queue")->required();
  stats->callback([options, &context] {
    const QueueStats counts = context.store().queue(options->queue).stats();
    nlohmann::ordered_json line{{"ready", counts.ready},
                                {"scheduled", counts.scheduled},
                                {"leased", counts.leased},
                                {"dead", counts.dead},
                                {"paused", counts.paused}};
    line["oldest_ready_age_seconds"] = nullptr;
    if (counts.oldest_ready_age_seconds) {
      line["oldest_ready_age_seconds"] = *counts.oldest_ready_age_seconds;
    }
    print(line);
  });
  for (const char* name : {"pause", "resume", "purge"}) {
    auto* command = queue.add_subcommand(name, std::string(name) + " the queue");
    command->add_option("Q", options->queue, "Queue")->required();
    command->callback([options, &context, action = std::string(name)] {
      const Queue target = context.store().queue(options->queue);
      if (action == "pause") target.pause();
      if (action == "resume") target.resume();
      const std::size_t purged = action == "purge" ? target.purge() : 0;
      nlohmann::ordered_json line{{"queue", options->queue}, {action, true}};
      if (action == "purge") line["purged"] = purged;
      print(line);
    });
  }
}

void add_dead_letter_commands(CLI::App& app, Context& context, std::shared_ptr<Options> options) {
  auto* dlq = app.add_subcommand("dlq", "A queue's dead letters");
  dlq->require_subcommand(1);
  auto* ls = dlq->add_subcommand("ls", "List dead letters, oldest first");
  ls->add_option("Q", options->queue, "Queue")->required();
  ls->callback([options, &context] {
    for (const auto& dead : context.store().queue(options->queue).dead_letters(0, 1000)) {
      nlohmann::ordered_json line;
      line["id"] = dead.id;
      add_bytes(line, "payload", dead.payload);
      line["dedup_key"] = dead.dedup_key ? nlohmann::ordered_json(*dead.dedup_key) : nullptr;
      line["attempts"] = dead.attempts;
      line["reason"] = dead.reason;
      line["history"] = nlohmann::ordered_json::parse(dead.history);
      line["failed_at"] = format_timestamp(dead.failed_at);
      print(line);
    }
  });
  auto* requeue = dlq->add_subcommand("requeue", "Make dead letters ready again");
  requeue->add_option("Q", options->queue, "Queue")->required();
  auto* ids = requeue->add_option("ID", options->ids, "Dead letter ids");
  requeue->add_flag("--all", options->all, "Every dead letter of the queue")->excludes(ids);
  requeue->callback([options, &context] {
    if (!options->all && options->ids.empty()) {
      throw Error(ErrorCode::invalid_argument, "dlq requeue takes ids or --all");
    }
    const Queue target = context.store().queue(options->queue);
    print({{"requeued", options->all ? target.requeue_all() : target.requeue(options->ids)}});
  });
  auto* purge = dlq->add_subcommand("purge", "Delete the dead letters");
  purge->add_option("Q", options->queue, "Queue")->required();
  purge->callback([options, &context] {
    print({{"purged", context.store().queue(options->queue).purge_dead()}});
  });
}

}  // namespace

void add_queue_commands(CLI::App& app, Context& context) {
  auto options = std::make_shared<Options>();
  auto* queue = app.add_subcommand("queue", "Work queues: produce, lease, complete, retry, fail");
  queue->require_subcommand(1);
  add_item_commands(*queue, context, options);
  add_token_commands(*queue, context, options);
  add_queue_admin(*queue, context, options);
  add_dead_letter_commands(app, context, options);
}

}  // namespace strata::cli
