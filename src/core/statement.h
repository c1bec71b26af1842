// A statement's text, as constant parts joined when a connection first runs it. Backends define
// their statements `constexpr` at namespace scope, beside the code that binds and reads them:
// constant initialisation makes them usable at any time, even while a program's static objects
// are built or destroyed, and a connection knows each by its address (it keeps the joined text,
// see PgContext::sql and SqliteContext::sql).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace strata::detail {

class Statement {
 public:
  static constexpr std::size_t kMaxParts = 12;

  template <class... Parts>
  constexpr explicit Statement(const Parts&... parts)
      : parts_{std::string_view(parts)...}, count_(sizeof...(Parts)) {
    static_assert(sizeof...(Parts) >= 1 && sizeof...(Parts) <= kMaxParts);
  }
  // Known by address: never copied.
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // The parts, joined.
  std::string text() const {
    std::string text;
    for (std::size_t i = 0; i < count_; ++i) text += parts_[i];
    return text;
  }

 private:
  std::array<std::string_view, kMaxParts> parts_;
  std::size_t count_;
};

// One connection's texts of the statements it has run, each made once, by `finish` (which may
// qualify it with a schema, say). Used by one thread at a time, as its connection is.
class StatementTexts {
 public:
  template <class Finish>
  const std::string& of(const Statement& statement, Finish&& finish) {
    auto [entry, added] = texts_.try_emplace(&statement);
    if (added) entry->second = finish(statement.text());
    return entry->second;
  }

 private:
  std::unordered_map<const Statement*, std::string> texts_;
};

}  // namespace strata::detail
