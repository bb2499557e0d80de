// ANet with BatchNorm folded into the convs: the fp32 network that is
// exported, as plain tensors, with a LibTorch forward to check it.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/anet.h"

namespace faceattr::train {

struct FoldedConv {
  torch::Tensor weight;  // [O, I/groups, kh, kw] float (OIHW, torch layout)
  torch::Tensor bias;    // [O]
  int stride = 1, pad = 0, groups = 1;
  bool relu = true;
};

struct FoldedNet {
  std::vector<FoldedConv> convs;
  torch::Tensor fc_weight;  // [A, F]
  torch::Tensor fc_bias;    // [A]
  // x: [N,3,H,W] normalised input. `acts` (optional) receives every conv
  // output, then the pooled features, then the logits.
  torch::Tensor logits(const torch::Tensor& x, std::vector<torch::Tensor>* acts = nullptr) const;
};

// BN (eval statistics) folded: w' = w * g / sqrt(v + eps), b' = beta - m * g / sqrt(v + eps).
FoldedNet fold_batchnorm(ANet& net);

}  // namespace faceattr::train
