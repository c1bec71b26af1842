#include "core/json.h"

#include <cstdint>

#include "core/utf8.h"

namespace strata::detail {
namespace {

class Validator {
 public:
  // With `bounded_numbers`, numbers outside the bounds of is_queryable_json() are refused too.
  Validator(std::string_view text, bool bounded_numbers)
      : at_(text.data()), end_(text.data() + text.size()), bounded_numbers_(bounded_numbers) {}

  bool document() {
    skip_whitespace();
    if (!value(0)) return false;
    skip_whitespace();
    return at_ == end_;
  }

 private:
  bool value(int depth) {
    if (at_ == end_) return false;
    switch (*at_) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool object(int depth) {
    if (depth > kMaxJsonDepth) return false;
    ++at_;  // '{'
    skip_whitespace();
    if (consume('}')) return true;
    do {
      skip_whitespace();
      if (at_ == end_ || *at_ != '"' || !string()) return false;
      skip_whitespace();
      if (!consume(':')) return false;
      skip_whitespace();
      if (!value(depth)) return false;
      skip_whitespace();
    } while (consume(','));
    return consume('}');
  }

  bool array(int depth) {
    if (depth > kMaxJsonDepth) return false;
    ++at_;  // '['
    skip_whitespace();
    if (consume(']')) return true;
    do {
      skip_whitespace();
      if (!value(depth)) return false;
      skip_whitespace();
    } while (consume(','));
    return consume(']');
  }

  bool string() {
    ++at_;  // '"'
    while (at_ != end_) {
      const auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x20) {
        return false;
      } else if (c < 0x80) {
        ++at_;
      } else if (!utf8_sequence()) {
        return false;
      }
    }
    return false;
  }

  bool escape() {
    ++at_;  // '\\'
    if (at_ == end_) return false;
    const char c = *at_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    std::uint32_t unit = 0;
    if (!hex4(unit)) return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // A low surrogate must follow a high one.
    if (unit < 0xD800 || unit > 0xDBFF) return true;
    std::uint32_t low = 0;
    if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u') return false;
    at_ += 2;
    return hex4(low) && low >= 0xDC00 && low <= 0xDFFF;
  }

  bool hex4(std::uint32_t& unit) {
    if (end_ - at_ < 4) return false;
    for (int i = 0; i < 4; ++i) {
      const char c = *at_++;
      unit <<= 4;
      if (c >= '0' && c <= '9') {
        unit |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        unit |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        unit |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  bool utf8_sequence() {
    const std::size_t length =
        utf8_character_length(std::string_view(at_, static_cast<std::size_t>(end_ - at_)));
    at_ += length;
    return length != 0;
  }

  bool number() {
    consume('-');
    const char* integer = at_;
    if (consume('0')) {
      // A leading zero stands alone.
    } else if (!digits()) {
      return false;
    }
    const std::string_view integer_digits(integer, static_cast<std::size_t>(at_ - integer));
    std::string_view fraction_digits;
    if (consume('.')) {
      const char* fraction = at_;
      if (!digits()) return false;
      fraction_digits = std::string_view(fraction, static_cast<std::size_t>(at_ - fraction));
    }
    int exponent = 0;
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      const bool negative = consume('-');
      if (!negative) consume('+');
      const char* start = at_;
      if (!digits()) return false;
      exponent = bounded_value(std::string_view(start, static_cast<std::size_t>(at_ - start)));
      if (negative) exponent = -exponent;
    }
    return !bounded_numbers_ || within_bounds(integer_digits, fraction_digits, exponent);
  }

  // The digits' value, or kMaxJsonExponent + 1 when it is larger.
  static int bounded_value(std::string_view digits) {
    int value = 0;
    for (const char c : digits) {
      value = value * 10 + (c - '0');
      if (value > kMaxJsonExponent) return kMaxJsonExponent + 1;
    }
    return value;
  }

  static bool within_bounds(std::string_view integer, std::string_view fraction, int exponent) {
    if (integer.size() + fraction.size() > kMaxJsonNumberDigits) return false;
    if (exponent < -kMaxJsonExponent || exponent > kMaxJsonExponent) return false;
    // The power of ten of the first significant digit.
    const auto integer_zeros = integer.find_first_not_of('0');
    int magnitude = 0;
    if (integer_zeros != std::string_view::npos) {
      magnitude = static_cast<int>(integer.size() - integer_zeros) - 1 + exponent;
    } else {
      const auto fraction_zeros = fraction.find_first_not_of('0');
      if (fraction_zeros == std::string_view::npos) return true;  // Zero.
      magnitude = -static_cast<int>(fraction_zeros) - 1 + exponent;
    }
    return magnitude >= -kMaxJsonMagnitude && magnitude <= kMaxJsonMagnitude;
  }

  bool digits() {
    const char* start = at_;
    while (at_ != end_ && *at_ >= '0' && *at_ <= '9') ++at_;
    return at_ != start;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - at_) < word.size() ||
        std::string_view(at_, word.size()) != word) {
      return false;
    }
    at_ += word.size();
    return true;
  }

  bool consume(char c) {
    if (at_ == end_ || *at_ != c) return false;
    ++at_;
    return true;
  }

  void skip_whitespace() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  const char* at_;
  const char* end_;
  const bool bounded_numbers_;
};

}  // namespace

bool is_valid_json(std::string_view text) noexcept {
  return Validator(text, false).document();
}

bool is_queryable_json(std::string_view text) noexcept {
  return Validator(text, true).document();
}

bool is_comparable_json(std::string_view text) noexcept {
  return is_queryable_json(text) && text.find("\\u0000") == std::string_view::npos;
}

}  // namespace strata::detail
