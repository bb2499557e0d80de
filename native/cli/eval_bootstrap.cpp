#include "eval_bootstrap.h"

#include <algorithm>
#include <cmath>

namespace faceattr::cli {

Interval percentile_interval(std::vector<double> values, double level) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(pos));
    if (i + 1 >= values.size()) return values.back();
    const double t = pos - static_cast<double>(i);
    return values[i] + t * (values[i + 1] - values[i]);
  };
  return {quantile((1.0 - level) / 2.0), quantile((1.0 + level) / 2.0)};
}

void draw_resample(std::mt19937_64& rng, size_t n, std::vector<uint32_t>& idx) {
  idx.resize(n);
  for (uint32_t& i : idx) i = static_cast<uint32_t>(rng() % n);
}

Interval bootstrap_accuracy_interval(const std::vector<uint8_t>& correct, const BootstrapParams& p) {
  const double n = static_cast<double>(correct.size());
  return bootstrap_intervals(
      correct.size(), 1,
      [&](const std::vector<uint32_t>& idx, double* out) {
        int64_t right = 0;
        for (uint32_t i : idx) right += correct[i];
        out[0] = static_cast<double>(right) / n;
      },
      p)[0];
}

}  // namespace faceattr::cli
