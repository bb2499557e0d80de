// Per-attribute confusion counts and the two scores `faceattr eval` reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceattr::cli {

struct AttrCounts {
  int64_t tp = 0, tn = 0, fp = 0, fn = 0;

  void add(bool predicted, bool truth);
  int64_t total() const { return tp + tn + fp + fn; }
  double accuracy() const;
  // Mean of the true-positive and true-negative rates; when the ground truth
  // has only one class, the rate of that class.
  double balanced_accuracy() const;
};

struct EvalSummary {
  int64_t n_images = 0;
  std::vector<std::string> names;  // evaluated attributes, model order
  std::vector<AttrCounts> counts;  // one per name

  double mean_accuracy() const;
  double mean_balanced_accuracy() const;
};

}  // namespace faceattr::cli
