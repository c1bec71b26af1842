// The baseline of each backend, made by Baseline::create from the parsed store URL.
#pragma once

#include <memory>
#include <string>

#include "baseline.h"
#include "core/url.h"

namespace strata::bench {

// The event type of every baseline row.
inline constexpr const char* kType = "BenchEvent";

std::unique_ptr<Baseline> sqlite_baseline(const std::string& url,
                                          const detail::SqliteSettings& settings);
std::unique_ptr<Baseline> postgres_baseline(const std::string& url,
                                            const detail::PostgresSettings& settings);

}  // namespace strata::bench
