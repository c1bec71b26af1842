#include "baseline.h"

#include "baseline_backends.h"
#include "strata/error.h"
#include "strata/version.h"

namespace strata::bench {

std::unique_ptr<Baseline> Baseline::create(const std::string& url) {
  const auto settings = detail::parse_store_url(url);
  if (const auto* sqlite = std::get_if<detail::SqliteSettings>(&settings)) {
    if (sqlite->in_memory) {
      throw Error(ErrorCode::invalid_argument,
                  "bench needs a SQLite file or a PostgreSQL server, not sqlite::memory:");
    }
    return sqlite_baseline(url, *sqlite);
  }
#if STRATA_HAS_POSTGRES
  return postgres_baseline(url, std::get<detail::PostgresSettings>(settings));
#else
  throw Error(ErrorCode::invalid_argument,
              "bench: this build of Strata has no PostgreSQL (STRATA_WITH_POSTGRES=OFF)");
#endif
}

}  // namespace strata::bench
