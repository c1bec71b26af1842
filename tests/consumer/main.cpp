// Uses an installed Strata through its public headers only: appends to a stream in memory and
// reads it back. Prints "ok VERSION" and exits 0 when all went as the API says.
#include <strata/strata.h>

#include <cstdio>
#include <cstring>

int main() {
  if (std::strcmp(strata::version(), STRATA_VERSION) != 0) {
    std::printf("headers %s, library %s\n", STRATA_VERSION, strata::version());
    return 1;
  }
  strata::Store store = strata::Store::open("sqlite::memory:");
  strata::Events events = store.events();
  events.append("greeting-1", {{"Said", R"({"text":"hello"})", {}, {}}},
                strata::ExpectedVersion::no_stream());
  const auto read = events.read_stream("greeting-1");
  try {
    events.append("greeting-1", {{"Said", "{}", {}, {}}}, strata::ExpectedVersion::no_stream());
    return 1;
  } catch (const strata::WrongExpectedVersion& error) {  // Thrown by the library, caught here.
    if (error.actual_version() != 1) return 1;
  }
  if (read.size() != 1 || read[0].data != R"({"text":"hello"})") return 1;
  std::printf("ok %s (schema version %d)\n", strata::version(), strata::latest_schema_version());
  return 0;
}
