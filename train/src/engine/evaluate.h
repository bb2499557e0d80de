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

}  // namespace faceattr::train
