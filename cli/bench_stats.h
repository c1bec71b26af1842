// Statistics the benchmarks share.
#pragma once

#include <algorithm>
#include <vector>

namespace strata::cli {

// The sample at `fraction` (0.5: the median) of `samples`, which must not be empty.
inline double percentile(std::vector<double> samples, double fraction) {
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1))];
}

}  // namespace strata::cli
