// The CLI's argument handling: arguments (the input split at newlines) parsed by an app whose
// options carry the CLI's own checks. Parsing refuses with CLI11's errors or yields values that
// hold: a whole number exactly, seconds within the limits.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "../cli/commands.h"
#include "fuzz_target.h"
#include "strata/limits.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  std::vector<std::string> arguments;
  std::string input(fuzz::text_of(data, size));
  for (std::size_t from = 0; from <= input.size();) {
    const auto end = std::min(input.find('\n', from), input.size());
    arguments.push_back(input.substr(from, end - from));
    from = end + 1;
  }
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them last first.

  // Built once: CLI11 builds an app far slower than it parses, and clear() resets what a parse
  // left behind.
  static std::int64_t limit = 0;
  static std::uint64_t count = 0;
  static double wait = 0;
  static CLI::App& app = []() -> CLI::App& {
    static CLI::App built("fuzz");
    built.add_option("--limit", limit);
    built.add_option("--count", count);
    built.add_option("--wait", wait)->check(cli::seconds_range());
    built.add_option("rest");
    cli::check_whole_numbers(built);
    return built;
  }();
  app.clear();
  limit = 0;
  count = 0;
  wait = 0;
  try {
    app.parse(arguments);
  } catch (const CLI::Error&) {
    return 0;  // Refused, with CLI11's message: what bad arguments get.
  }
  const auto duration = cli::seconds(wait);
  fuzz::require(duration >= std::chrono::milliseconds(0) && duration <= kMaxDuration,
                "accepted seconds out of range");
  return 0;
}
