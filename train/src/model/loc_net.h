// The box-supervised localiser: dense 3x3 conv-BN-ReLU layers down to stride 16,
// a deep stride-16 stage (receptive field ~300 px, for frame-filling faces), and a
// 1x1 conv to 5 logits per cell: face score, centre offsets x/y, log width/height
// (sigmoid in the exported model; sdk/src/pipeline/lnet_decode.h, "dense").
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/anet.h"
#include "quant/folded.h"

namespace faceattr::train {

std::vector<ConvSpec> loc_conv_specs(float width_mult);

struct LocNetImpl : torch::nn::Module {
  explicit LocNetImpl(float width_mult);
  torch::Tensor forward(const torch::Tensor& x);  // [B, 5, H/16, W/16] logits
  std::vector<ConvBnRelu> layers;
  torch::nn::Conv2d head{nullptr};
};
TORCH_MODULE(LocNet);

int loc_stride(const LocNet& net);
ModelCost loc_cost(const LocNet& net, int in_w, int in_h);
// BN folded; the last entry is the 1x1 head (no ReLU).
std::vector<FoldedConv> fold_loc(LocNet& net);

}  // namespace faceattr::train
