#include "eval_calibration.h"

#include <algorithm>
#include <cmath>

namespace faceattr::cli {

double expected_calibration_error(const float* p, const uint8_t* y, size_t n, size_t stride, int bins) {
  if (n == 0 || bins < 1) return 0.0;
  std::vector<double> sum_p(static_cast<size_t>(bins)), positives(sum_p.size());
  std::vector<int64_t> count(sum_p.size());
  for (size_t i = 0; i < n; ++i) {
    const double v = p[i * stride];
    const int b = std::clamp(static_cast<int>(std::floor(v * bins)), 0, bins - 1);
    sum_p[static_cast<size_t>(b)] += v;
    positives[static_cast<size_t>(b)] += y[i * stride] ? 1.0 : 0.0;
    ++count[static_cast<size_t>(b)];
  }
  double ece = 0;
  for (size_t b = 0; b < count.size(); ++b) {
    if (count[b] == 0) continue;
    const double c = static_cast<double>(count[b]);
    ece += c / static_cast<double>(n) * std::fabs(sum_p[b] / c - positives[b] / c);
  }
  return ece;
}

int64_t count_distinct(const float* p, size_t n, size_t stride) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = p[i * stride];
  std::sort(v.begin(), v.end());
  return static_cast<int64_t>(std::unique(v.begin(), v.end()) - v.begin());
}

CalibrationReport calibration_report(const std::vector<float>& probs, const std::vector<uint8_t>& truth,
                                     size_t n_attrs) {
  CalibrationReport r;
  if (n_attrs == 0) return r;
  const size_t n = probs.size() / n_attrs;
  for (size_t k = 0; k < n_attrs; ++k) {
    r.ece.push_back(expected_calibration_error(probs.data() + k, truth.data() + k, n, n_attrs));
    r.distinct.push_back(count_distinct(probs.data() + k, n, n_attrs));
  }
  for (double e : r.ece) r.mean_ece += e;
  r.mean_ece /= static_cast<double>(n_attrs);
  std::vector<int64_t> sorted = r.distinct;
  std::sort(sorted.begin(), sorted.end());
  r.distinct_min = sorted.front();
  const size_t m = sorted.size() / 2;
  r.distinct_median = sorted.size() % 2 ? static_cast<double>(sorted[m])
                                        : 0.5 * static_cast<double>(sorted[m - 1] + sorted[m]);
  return r;
}

}  // namespace faceattr::cli
