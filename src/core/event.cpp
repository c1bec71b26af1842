#include "strata/event.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "strata/error.h"

namespace strata {

const char* to_string(EventIndex index) noexcept {
  switch (index) {
    case EventIndex::metadata:
      return "metadata";
    case EventIndex::data:
      return "data";
    case EventIndex::text:
      return "text";
  }
  return "unknown";
}

std::string ExpectedVersion::to_string() const {
  switch (kind_) {
    case Kind::any:
      return "any";
    case Kind::no_stream:
      return "no_stream";
    case Kind::stream_exists:
      return "stream_exists";
    case Kind::exact:
      return std::to_string(version_);
  }
  return "any";
}

std::string format_timestamp(Timestamp micros) {
  Timestamp seconds = micros / 1'000'000;
  Timestamp fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    --seconds;
  }
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(fraction));
  return text;
}

namespace {

// Reads parse_timestamp's text left to right; each read returns false when the text does not fit.
class TimestampReader {
 public:
  explicit TimestampReader(std::string_view text) : text_(text) {}

  bool at_end() const { return at_ == text_.size(); }
  // Exactly `digits` decimal digits.
  bool number(int digits, int& value) {
    value = 0;
    for (int i = 0; i < digits; ++i, ++at_) {
      if (at_end() || text_[at_] < '0' || text_[at_] > '9') return false;
      value = value * 10 + (text_[at_] - '0');
    }
    return true;
  }
  // One of `characters`, which it returns (0 when none is next).
  char one_of(std::string_view characters) {
    if (at_end() || characters.find(text_[at_]) == std::string_view::npos) return 0;
    return text_[at_++];
  }
  // Up to six fractional digits after a '.', as microseconds; none when no '.' is next.
  bool fraction(Timestamp& micros) {
    micros = 0;
    if (!one_of(".")) return true;
    int digits = 0;
    for (; !at_end() && text_[at_] >= '0' && text_[at_] <= '9'; ++at_, ++digits) {
      if (digits < 6) micros = micros * 10 + (text_[at_] - '0');
    }
    if (digits == 0 || digits > 6) return false;
    for (; digits < 6; ++digits) micros *= 10;
    return true;
  }

 private:
  std::string_view text_;
  std::size_t at_ = 0;
};

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
constexpr Timestamp kFirstTimestamp = -62'135'596'800'000'000;
constexpr Timestamp kLastTimestamp = 253'402'300'799'999'999;

std::optional<Timestamp> read_timestamp(std::string_view text) {
  using namespace std::chrono;
  TimestampReader reader(text);
  int year = 0, month = 0, day = 0;
  if (!reader.number(4, year) || !reader.one_of("-") || !reader.number(2, month) ||
      !reader.one_of("-") || !reader.number(2, day)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (year < 1 || !date.ok()) return std::nullopt;
  const Timestamp midnight = duration_cast<microseconds>(sys_days(date).time_since_epoch()).count();
  if (reader.at_end()) return midnight;
  int hour = 0, minute = 0, second = 0;
  Timestamp micros = 0;
  if (!reader.one_of("Tt ") || !reader.number(2, hour) || !reader.one_of(":") ||
      !reader.number(2, minute) || !reader.one_of(":") || !reader.number(2, second) ||
      !reader.fraction(micros) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  Timestamp offset_minutes = 0;
  if (const char sign = reader.one_of("Zz+-"); sign == '+' || sign == '-') {
    int offset_hour = 0, offset_minute = 0;
    if (!reader.number(2, offset_hour) || !reader.one_of(":") || !reader.number(2, offset_minute) ||
        offset_hour > 23 || offset_minute > 59) {
      return std::nullopt;
    }
    offset_minutes = (sign == '+' ? 1 : -1) * (offset_hour * 60 + offset_minute);
  } else if (sign == 0) {
    return std::nullopt;
  }
  if (!reader.at_end()) return std::nullopt;
  const Timestamp seconds = hour * 3600 + minute * 60 + second - offset_minutes * 60;
  const Timestamp time = midnight + seconds * 1'000'000 + micros;
  // An offset may carry a time past either end of the years format_timestamp prints.
  if (time < kFirstTimestamp || time > kLastTimestamp) return std::nullopt;
  return time;
}

}  // namespace

Timestamp parse_timestamp(std::string_view text) {
  if (auto micros = read_timestamp(text)) return *micros;
  throw Error(ErrorCode::invalid_argument,
              "time '" + std::string(text.substr(0, 64)) +
                  "' is not an RFC 3339 time (2026-11-22T00:44:56Z, fractions and an offset "
                  "such as +01:00 allowed) or a date (2026-11-22)");
}

}  // namespace strata
