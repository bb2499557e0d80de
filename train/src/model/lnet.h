// LNet: a small fully convolutional localiser. Dense 3x3 conv-BN-ReLU layers
// (three stride-2 stages -> stride 8), then a 1x1 conv to one logit map per tag
// (40 CelebA attributes + "face"). Training pools each tag map to an image-level
// logit; the exported network keeps only the face response: one 1x1 output
// channel (the face-tag row, or the mean of all tag rows: "average of the tag
// maps", see train/README.md) followed by a sigmoid. A rotation head (global
// pool + linear 4) serves the self-supervised object pre-training only.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/anet.h"
#include "quant/folded.h"

namespace faceattr::train {

std::vector<ConvSpec> lnet_conv_specs(float width_mult);

struct LNetImpl : torch::nn::Module {
  LNetImpl(int n_tags, float width_mult);
  torch::Tensor body(const torch::Tensor& x);             // [B, C, H/8, W/8]
  torch::Tensor tag_maps(const torch::Tensor& x);         // [B, n_tags, H/8, W/8] logits
  torch::Tensor rotation_logits(const torch::Tensor& x);  // [B, 4]
  std::vector<ConvBnRelu> layers;
  torch::nn::Conv2d tags{nullptr};
  torch::nn::Linear rot{nullptr};
};
TORCH_MODULE(LNet);

int lnet_stride(const LNet& net);
// MACs / parameters of the exported network (BN folded, one output channel).
ModelCost lnet_cost(const LNet& net, int in_w, int in_h);

// The exported conv stack: BN folded, last layer = 1x1 conv (no ReLU) with
// one output channel: `map` = "face" (the face tag's row) or "mean" (the mean
// of all tag rows, i.e. the logit of the averaged tag maps).
std::vector<FoldedConv> fold_lnet(LNet& net, const std::string& map);

}  // namespace faceattr::train
