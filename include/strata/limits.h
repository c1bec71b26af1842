// Limits: the ranges every duration and count given to Strata lie in.
#pragma once

#include <chrono>
#include <cstdint>

namespace strata {

// The longest duration Strata accepts anywhere: a TTL, lease, delay, expiry, wait, term, backoff
// or age of 100 years, far inside every backend's clock. A longer one, or a negative one, is
// Error(invalid_argument) naming it, and nothing is written.
inline constexpr std::chrono::milliseconds kMaxDuration =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(100));

// The largest count Strata accepts anywhere: a read's limit, items to lease, a batch, how many
// to keep. A larger one is Error(invalid_argument) naming it; page through more instead.
inline constexpr std::uint64_t kMaxCount = 1'000'000'000;

// The deepest nesting of arrays and objects in any JSON text given to Strata (event data and
// metadata, key-value metadata, queue headers, states, query patterns). Deeper JSON is
// Error(invalid_argument), as is JSON that is not valid UTF-8; a key-value value that is not
// JSON is stored as bytes.
inline constexpr int kMaxJsonDepth = 512;

}  // namespace strata
