#include "strata/event.h"

#include <cstdio>
#include <ctime>

namespace strata {

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

}  // namespace strata
