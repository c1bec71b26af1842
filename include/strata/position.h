// Position: where an event stands in the all-events order of one Store.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "strata/export.h"

namespace strata {

// A point in the total order of all events. Opaque to users: compare positions, print them with
// to_string(), store them (e.g. as a checkpoint) and parse them back with parse(). Positions
// from different Stores are unrelated. Thread-safe: a plain value.
class STRATA_EXPORT Position {
 public:
  // The position before every event: read_all(after = start()) reads from the beginning.
  static constexpr Position start() noexcept { return Position(); }

  // Parses the form to_string() prints. Throws Error(invalid_argument) naming the text.
  static Position parse(std::string_view text);

  constexpr Position() noexcept = default;
  constexpr Position(std::uint64_t commit, std::uint64_t sequence) noexcept
      : commit_(commit), sequence_(sequence) {}

  // "COMMIT/SEQUENCE", e.g. "0/42" or "7331/45012". Round-trips through parse().
  std::string to_string() const;

  // The two parts, for backends and tests; users should not interpret them.
  constexpr std::uint64_t commit() const noexcept { return commit_; }
  constexpr std::uint64_t sequence() const noexcept { return sequence_; }

  friend constexpr auto operator<=>(const Position&, const Position&) noexcept = default;

 private:
  std::uint64_t commit_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace strata
