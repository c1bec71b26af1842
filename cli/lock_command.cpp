#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

nlohmann::ordered_json lock_line(const Lock& lock) {
  return {{"key", lock.key},
          {"holder", lock.holder},
          {"token", lock.token},
          {"expires_at", format_timestamp(lock.expires_at)}};
}

struct Options {
  std::string key;
  std::string holder;
  double ttl_seconds = 30;
  double wait_seconds = 0;
  std::int64_t token = 0;
};

}  // namespace

void add_lock_commands(CLI::App& app, Context& context) {
  auto* lock = app.add_subcommand("lock", "Locks with fencing tokens, shared by every process");
  lock->require_subcommand(1);
  auto options = std::make_shared<Options>();

  auto* acquire = lock->add_subcommand("acquire", "Take a lock (exit 3 when another holds it)");
  acquire->add_option("KEY", options->key, "Lock key")->required();
  acquire->add_option("--holder", options->holder, "Who holds it")->required();
  acquire->add_option("--ttl", options->ttl_seconds, "Seconds it lasts")
      ->check(seconds_range())
      ->capture_default_str();
  acquire->add_option("--wait", options->wait_seconds, "Seconds to wait for it to come free")
      ->check(seconds_range());
  acquire->callback([options, &context] {
    const Locks locks = context.store().locks();
    const auto taken = locks.acquire(options->key, options->holder, seconds(options->ttl_seconds),
                                     seconds(options->wait_seconds));
    if (!taken) {
      const auto holder = locks.status(options->key);
      throw Error(
          ErrorCode::wrong_expected_version,
          "lock '" + options->key + "' is held" +
              (holder ? " by '" + holder->holder + "' until " + format_timestamp(holder->expires_at)
                      : std::string()));
    }
    print(lock_line(*taken));
  });

  auto* release = lock->add_subcommand("release", "Free a lock (exit 3 when the token lost it)");
  release->add_option("KEY", options->key, "Lock key")->required();
  release->add_option("--token", options->token, "The holder's token")->required();
  release->callback([options, &context] {
    if (!context.store().locks().release(options->key, options->token)) {
      throw LeaseLost("lock '" + options->key + "' is not held with token " +
                      std::to_string(options->token));
    }
    print({{"key", options->key}, {"released", true}});
  });

  auto* extend = lock->add_subcommand("extend", "Make a held lock last longer (exit 3 if lost)");
  extend->add_option("KEY", options->key, "Lock key")->required();
  extend->add_option("--token", options->token, "The holder's token")->required();
  extend->add_option("--ttl", options->ttl_seconds, "Seconds from now")
      ->check(seconds_range())
      ->capture_default_str();
  extend->callback([options, &context] {
    print(lock_line(context.store().locks().extend(options->key, options->token,
                                                   seconds(options->ttl_seconds))));
  });

  auto* status = lock->add_subcommand("status", "Who holds a lock (holder null when free)");
  status->add_option("KEY", options->key, "Lock key")->required();
  status->callback([options, &context] {
    const auto held = context.store().locks().status(options->key);
    if (held) {
      print(lock_line(*held));
    } else {
      print({{"key", options->key},
             {"holder", nullptr},
             {"token", nullptr},
             {"expires_at", nullptr}});
    }
  });
}

}  // namespace strata::cli
