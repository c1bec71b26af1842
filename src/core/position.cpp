#include "strata/position.h"

#include <charconv>

#include "strata/error.h"

namespace strata {
namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Position Position::parse(std::string_view text) {
  const auto slash = text.find('/');
  std::uint64_t commit = 0;
  std::uint64_t sequence = 0;
  if (slash == std::string_view::npos || !parse_u64(text.substr(0, slash), commit) ||
      !parse_u64(text.substr(slash + 1), sequence)) {
    throw Error(ErrorCode::invalid_argument, "invalid position '" + std::string(text) +
                                                 "': expected COMMIT/SEQUENCE, e.g. 0/42");
  }
  return Position(commit, sequence);
}

std::string Position::to_string() const {
  return std::to_string(commit_) + "/" + std::to_string(sequence_);
}

}  // namespace strata
