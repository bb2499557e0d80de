#include "eval_metrics.h"

namespace faceattr::cli {

void AttrCounts::add(bool predicted, bool truth) {
  if (truth) {
    (predicted ? tp : fn) += 1;
  } else {
    (predicted ? fp : tn) += 1;
  }
}

double AttrCounts::accuracy() const {
  return total() == 0 ? 0.0 : static_cast<double>(tp + tn) / static_cast<double>(total());
}

double AttrCounts::balanced_accuracy() const {
  const int64_t pos = tp + fn, neg = tn + fp;
  if (pos == 0 && neg == 0) return 0.0;
  if (pos == 0) return static_cast<double>(tn) / static_cast<double>(neg);
  if (neg == 0) return static_cast<double>(tp) / static_cast<double>(pos);
  return 0.5 * (static_cast<double>(tp) / static_cast<double>(pos) +
                static_cast<double>(tn) / static_cast<double>(neg));
}

double EvalSummary::mean_accuracy() const {
  if (counts.empty()) return 0.0;
  double s = 0;
  for (const AttrCounts& c : counts) s += c.accuracy();
  return s / static_cast<double>(counts.size());
}

double EvalSummary::mean_balanced_accuracy() const {
  if (counts.empty()) return 0.0;
  double s = 0;
  for (const AttrCounts& c : counts) s += c.balanced_accuracy();
  return s / static_cast<double>(counts.size());
}

}  // namespace faceattr::cli
