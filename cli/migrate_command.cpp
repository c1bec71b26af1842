#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"

namespace strata::cli {

void add_migrate_command(CLI::App& app, Context& context) {
  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations");
  migrate->callback([&context] {
    Store store = Store::open(context.url, OpenOptions{.migrate = false});
    const int before = store.schema_version();
    store.migrate();
    nlohmann::ordered_json line;
    line["schema_version"] = store.schema_version();
    line["applied"] = store.schema_version() - before;
    std::cout << line.dump() << "\n";
  });
}

}  // namespace strata::cli
