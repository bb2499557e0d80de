// ANet with BatchNorm folded into the convs: the fp32 network that is
// exported, as plain tensors, with a LibTorch forward to check it.
#pragma once

#include <torch/torch.h>

#include <string>
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

// Folded conv stack forward: x [N,3,H,W] -> the last conv's output (LNet: the face logit
// map [N,1,h,w]); `acts` gets every conv output.
torch::Tensor folded_forward(const std::vector<FoldedConv>& convs, const torch::Tensor& x,
                             std::vector<torch::Tensor>* acts = nullptr);

// BN (eval statistics) folded: w' = w * g / sqrt(v + eps), b' = beta - m * g / sqrt(v + eps).
FoldedNet fold_batchnorm(ANet& net);

// The folded network of an fp32 ANet model file (what export wrote: convs with their
// fused ReLU, global average pool, fully connected, sigmoid), to re-export a shipped
// model without its training checkpoint. `head` receives its "head" metadata ("" if
// none). Throws with a message naming the file on anything else.
FoldedNet folded_from_model_file(const std::string& path, std::string* head);

// One conv-BN-ReLU block folded the same way (ANet's and LNet's blocks share
// the members conv, bn and spec {stride, kernel, groups}).
template <typename Block>
FoldedConv fold_conv_bn(Block& l) {
  torch::NoGradGuard ng;
  auto& bn = l->bn;
  auto g = bn->weight.to(torch::kCPU, torch::kFloat64), b = bn->bias.to(torch::kCPU, torch::kFloat64);
  auto m = bn->running_mean.to(torch::kCPU, torch::kFloat64),
       v = bn->running_var.to(torch::kCPU, torch::kFloat64);
  auto k = g / torch::sqrt(v + bn->options.eps());
  FoldedConv c;
  c.weight = (l->conv->weight.to(torch::kCPU, torch::kFloat64) * k.view({-1, 1, 1, 1})).to(torch::kFloat32);
  c.bias = (b - m * k).to(torch::kFloat32);
  c.stride = l->spec.stride;
  c.pad = l->spec.kernel / 2;
  c.groups = l->spec.groups;
  c.relu = true;
  return c;
}

}  // namespace faceattr::train
