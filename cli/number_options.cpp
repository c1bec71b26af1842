#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "commands.h"
#include "strata/limits.h"

namespace strata::cli {
namespace {

constexpr double kMaxSeconds = static_cast<double>(kMaxDuration.count()) / 1000;

// Decimal digits that fit `Number` exactly: CLI11 itself clamps a number out of range, and wraps
// a negative one given to an unsigned option.
template <class Number>
CLI::Validator whole_number() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        Number value{};
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
          return "'" + text + "' is not a whole number from " +
                 std::to_string(std::numeric_limits<Number>::min()) + " to " +
                 std::to_string(std::numeric_limits<Number>::max());
        }
        return {};
      },
      "");
}

}  // namespace

CLI::Validator seconds_range() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value)) {
          return "'" + text + "' is not a number of seconds";
        }
        if (value < 0 || value > kMaxSeconds) {
          return "'" + text + "' is out of range: give seconds from 0 to " +
                 std::to_string(static_cast<std::int64_t>(kMaxSeconds)) + " (100 years)";
        }
        return {};
      },
      "SECONDS");
}

void check_whole_numbers(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    if (type == "INT") {
      option->check(whole_number<std::int64_t>());
    } else if (type == "UINT") {
      option->check(whole_number<std::uint64_t>());
    }
  }
  for (CLI::App* subcommand : app.get_subcommands({})) check_whole_numbers(*subcommand);
}

std::chrono::milliseconds seconds(double value) {
  return std::chrono::milliseconds(std::llround(value * 1000));
}

}  // namespace strata::cli
