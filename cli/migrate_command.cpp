#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "strata/version.h"

namespace strata::cli {

void add_migrate_command(CLI::App& app, Context& context) {
  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations");
  migrate->callback([&context] {
    Store store = Store::open(context.url, OpenOptions{.migrate = false});
    const int before = store.schema_version();
    store.migrate();
    const int after = store.schema_version();
    nlohmann::ordered_json line;
    line["schema_version"] = after;
    line["applied"] = after - before;
    if (after > latest_schema_version()) {
      line["note"] = "the database is at schema version " + std::to_string(after) +
                     ", newer than this build's " + std::to_string(latest_schema_version()) +
                     ", and this build can use it: nothing to apply";
    }
    std::cout << line.dump() << "\n";
  });
}

}  // namespace strata::cli
