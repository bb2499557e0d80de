// Inference over a dataset, per-attribute accuracy and threshold calibration.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "model/anet.h"

namespace faceattr::train {

struct Predictions {
  torch::Tensor logits;    // [N, A] (CPU, float)
  torch::Tensor features;  // [N, F] pooled features (CPU, float)
  torch::Tensor targets;   // [N, A] 0/1
};

// Un-augmented (the SDK's framing, box scaled by aug.eval_scale); with
// `flip_average`, features and logits are averaged with the mirrored image.
Predictions predict(ANet& net, const Dataset& ds, const InputSpec& in, const AugmentSpec& aug,
                    torch::Device dev, int batch_size, int workers, bool flip_average = false);

// Per-attribute accuracy (fractions) of p >= thr[a].
std::vector<double> attribute_accuracy(const torch::Tensor& probs, const torch::Tensor& targets,
                                       const std::vector<float>& thresholds);
double mean_of(const std::vector<double>& v);

// Per attribute, the probability threshold that maximises accuracy on (probs, targets).
std::vector<float> calibrate_thresholds(const torch::Tensor& probs, const torch::Tensor& targets);

// Honest estimate of calibrated accuracy: thresholds fitted on one half of
// the rows, measured on the other, and vice versa (2-fold), averaged.
std::vector<double> cross_calibrated_accuracy(const torch::Tensor& probs, const torch::Tensor& targets);

// Per-attribute balanced accuracy (mean of the true-positive and true-negative rates) of
// p >= thr[a]; an attribute with no positives (or no negatives) scores its other rate.
std::vector<double> attribute_balanced_accuracy(const torch::Tensor& probs, const torch::Tensor& targets,
                                                const std::vector<float>& thresholds);

// Per attribute, the equal-error-rate threshold: the cut where the false-positive and
// false-negative rates are closest (the midpoint between the two probabilities around it).
std::vector<float> balanced_thresholds(const torch::Tensor& probs, const torch::Tensor& targets);

// 2-fold balanced accuracy at equal-error-rate thresholds (fitted on one half, scored on the other).
std::vector<double> cross_balanced_accuracy(const torch::Tensor& probs, const torch::Tensor& targets);

// Expected calibration error per attribute: 15 equal-width probability bins, sum over
// bins of (share of rows in the bin) * |mean p - positive rate|.
std::vector<double> expected_calibration_error(const torch::Tensor& probs, const torch::Tensor& targets,
                                               int bins = 15);

// Platt scaling per attribute: calibrated logit = scale[a] * logit + shift[a], the
// logistic regression of the targets on each logit (ridge 1e-3 towards the prior-only
// model, as concepts::refit). scale > 0 always (an attribute whose fit is not
// increasing keeps scale 1, shift 0), so decisions at refitted thresholds are unchanged.
struct PlattScaling {
  std::vector<float> scale, shift;
  torch::Tensor apply(const torch::Tensor& logits) const;  // [N, A]
};
PlattScaling fit_platt(const torch::Tensor& logits, const torch::Tensor& targets);

// ECE (mean over attributes) of Platt scaling fitted on one half and scored on the
// other, both ways, weighted by the halves' sizes; `before` gets the same without scaling.
// Per-attribute accuracy at p = 0.5 after Platt scaling fitted on the other half (2-fold):
// out-of-sample accuracy of deciding by the calibrated probability alone.
std::vector<double> cross_platt_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);
double cross_platt_ece(const torch::Tensor& logits, const torch::Tensor& targets, double* before = nullptr);

}  // namespace faceattr::train
