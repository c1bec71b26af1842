#include <iostream>

#include "commands.h"
#include "output.h"
#include "strata/error.h"

namespace strata::cli {
namespace {

void add_put(CLI::App& kv, Context& context) {
  struct Options {
    std::string ns, key;
    std::optional<std::string> value, metadata;
    std::optional<double> ttl_seconds;
    std::optional<std::int64_t> if_version;
    bool if_absent = false;
  };
  auto options = std::make_shared<Options>();
  auto* put = kv.add_subcommand("put", "Write a key; VALUE from stdin if omitted");
  put->add_option("NS", options->ns, "Namespace")->required();
  put->add_option("KEY", options->key, "Key")->required();
  put->add_option("VALUE", options->value, "Value");
  put->add_option("--ttl", options->ttl_seconds, "Expire after this many seconds")
      ->check(seconds_range());
  put->add_option("--metadata", options->metadata, "Metadata (JSON)");
  auto* if_version = put->add_option("--if-version", options->if_version,
                                     "Write only if the key is at this version");
  put->add_flag("--if-absent", options->if_absent, "Write only if the key is absent")
      ->excludes(if_version);
  put->callback([options, &context] {
    KvPut write;
    write.key = options->key;
    write.value = options->value ? *options->value : read_stdin();
    write.metadata = options->metadata;
    if (options->ttl_seconds) {
      write.ttl = seconds(*options->ttl_seconds);
    }
    write.if_absent = options->if_absent;
    write.if_version = options->if_version;
    const std::int64_t version = context.store().kv(options->ns).put(write);
    nlohmann::ordered_json line;
    add_bytes(line, "key", write.key);
    line["version"] = version;
    std::cout << line.dump() << "\n";
  });
}

void add_get(CLI::App& kv, Context& context) {
  auto options = std::make_shared<std::pair<std::string, std::string>>();
  auto* get = kv.add_subcommand("get", "Read a key (exit 4 when missing or expired)");
  get->add_option("NS", options->first, "Namespace")->required();
  get->add_option("KEY", options->second, "Key")->required();
  get->callback([options, &context] {
    const auto entry = context.store().kv(options->first).get(options->second);
    if (!entry) {
      throw Error(ErrorCode::not_found,
                  "key '" + options->second + "' not found in namespace '" + options->first + "'");
    }
    std::cout << entry_line(*entry) << "\n";
  });
}

void add_del(CLI::App& kv, Context& context) {
  struct Options {
    std::string ns, key;
    std::optional<std::int64_t> if_version;
  };
  auto options = std::make_shared<Options>();
  auto* del = kv.add_subcommand("del", "Delete a key (no error when missing)");
  del->add_option("NS", options->ns, "Namespace")->required();
  del->add_option("KEY", options->key, "Key")->required();
  del->add_option("--if-version", options->if_version, "Delete only at this version");
  del->callback([options, &context] {
    const bool deleted = context.store().kv(options->ns).erase(options->key, options->if_version);
    nlohmann::ordered_json line;
    add_bytes(line, "key", options->key);
    line["deleted"] = deleted;
    std::cout << line.dump() << "\n";
  });
}

void add_ls(CLI::App& kv, Context& context) {
  struct Options {
    std::string ns, prefix;
    std::optional<std::string> after;
    std::size_t limit = 1000;
  };
  auto options = std::make_shared<Options>();
  auto* ls = kv.add_subcommand(
      "ls", "List live keys in key order; a last line {\"next_cursor\"} when more remain");
  ls->add_option("NS", options->ns, "Namespace")->required();
  ls->add_option("--prefix", options->prefix, "Only keys starting with this");
  ls->add_option("--after", options->after, "Continue after this cursor");
  ls->add_option("--limit", options->limit, "Most keys to print")->capture_default_str();
  ls->callback([options, &context] {
    const KvPage page =
        context.store().kv(options->ns).scan(options->prefix, options->after, options->limit);
    for (const KvEntry& entry : page.entries) std::cout << entry_line(entry) << "\n";
    if (page.next_cursor) {
      std::cout << nlohmann::ordered_json{{"next_cursor", *page.next_cursor}}.dump() << "\n";
    }
  });
}

void add_count(CLI::App& kv, Context& context) {
  auto options = std::make_shared<std::pair<std::string, std::string>>();
  auto* count = kv.add_subcommand("count", "Count live keys");
  count->add_option("NS", options->first, "Namespace")->required();
  count->add_option("--prefix", options->second, "Only keys starting with this");
  count->callback([options, &context] {
    const std::size_t live = context.store().kv(options->first).count(options->second);
    std::cout << nlohmann::ordered_json{{"count", live}}.dump() << "\n";
  });
}

void add_purge(CLI::App& kv, Context& context) {
  auto ns = std::make_shared<std::string>();
  auto* purge = kv.add_subcommand("purge-expired", "Delete expired keys, in bounded batches");
  purge->add_option("NS", *ns, "Namespace")->required();
  purge->callback([ns, &context] {
    const std::size_t purged = context.store().kv(*ns).purge_expired();
    std::cout << nlohmann::ordered_json{{"purged", purged}}.dump() << "\n";
  });
}

std::string checkpoint_line(const KvCheckpoint& checkpoint) {
  return nlohmann::ordered_json{{"id", checkpoint.id},
                                {"created_at", format_timestamp(checkpoint.created_at)},
                                {"entries", checkpoint.entries},
                                {"bytes", checkpoint.bytes}}
      .dump();
}

void add_checkpoint(CLI::App& kv, Context& context) {
  auto* checkpoint = kv.add_subcommand("checkpoint", "Save, list, restore and delete snapshots");
  checkpoint->require_subcommand(1);
  struct Options {
    std::string ns;
    std::int64_t id = 0;
  };
  auto options = std::make_shared<Options>();
  auto* create = checkpoint->add_subcommand("create", "Save the namespace's live keys");
  create->add_option("NS", options->ns, "Namespace")->required();
  create->callback([options, &context] {
    std::cout << checkpoint_line(context.store().kv(options->ns).create_checkpoint()) << "\n";
  });
  auto* list = checkpoint->add_subcommand("list", "The namespace's checkpoints, oldest first");
  list->add_option("NS", options->ns, "Namespace")->required();
  list->callback([options, &context] {
    for (const auto& saved : context.store().kv(options->ns).checkpoints()) {
      std::cout << checkpoint_line(saved) << "\n";
    }
  });
  auto* restore = checkpoint->add_subcommand("restore", "Replace the namespace by a checkpoint");
  restore->add_option("NS", options->ns, "Namespace")->required();
  restore->add_option("ID", options->id, "Checkpoint id")->required();
  restore->callback([options, &context] {
    context.store().kv(options->ns).restore_checkpoint(options->id);
    std::cout << nlohmann::ordered_json{{"restored", options->id}}.dump() << "\n";
  });
  auto* erase = checkpoint->add_subcommand("delete", "Delete a checkpoint");
  erase->add_option("NS", options->ns, "Namespace")->required();
  erase->add_option("ID", options->id, "Checkpoint id")->required();
  erase->callback([options, &context] {
    const bool deleted = context.store().kv(options->ns).delete_checkpoint(options->id);
    std::cout << nlohmann::ordered_json{{"deleted", deleted}}.dump() << "\n";
  });
}

}  // namespace

void add_kv_commands(CLI::App& app, Context& context) {
  auto* kv = app.add_subcommand("kv", "Key-value state: namespaced, versioned, with TTLs");
  kv->require_subcommand(1);
  add_put(*kv, context);
  add_get(*kv, context);
  add_del(*kv, context);
  add_ls(*kv, context);
  add_count(*kv, context);
  add_purge(*kv, context);
  add_checkpoint(*kv, context);
}

}  // namespace strata::cli
