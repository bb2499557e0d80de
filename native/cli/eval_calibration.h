// Calibration of predicted probabilities against 0/1 labels, for `faceattr eval --images`:
// expected calibration error over equal-width bins, and how many distinct values the model
// produced (an int8 model's outputs take few values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace faceattr::cli {

inline constexpr int kCalibrationBins = 15;

// ECE of the n probabilities p[i * stride] against labels y[i * stride] (0 or 1): the sum over
// `bins` equal-width bins of (the bin's share of the n) x |mean p in the bin - positive rate in
// the bin|. Bin b holds p in [b / bins, (b + 1) / bins); p = 1 falls in the last bin. n = 0: 0.
double expected_calibration_error(const float* p, const uint8_t* y, size_t n, size_t stride = 1,
                                  int bins = kCalibrationBins);

// The number of distinct values among p[i * stride], i < n (exact float equality).
int64_t count_distinct(const float* p, size_t n, size_t stride = 1);

struct CalibrationReport {
  std::vector<double> ece;        // per attribute
  std::vector<int64_t> distinct;  // per attribute: distinct probability values
  double mean_ece = 0;
  int64_t distinct_min = 0;
  double distinct_median = 0;  // the mean of the two middle values for an even count
};

// `probs`, `truth`: n_images x n_attrs, row-major (one row per image).
CalibrationReport calibration_report(const std::vector<float>& probs, const std::vector<uint8_t>& truth,
                                     size_t n_attrs);

}  // namespace faceattr::cli
