// ANet: a small VGG-style CNN (3x3 conv-BN-ReLU, four stride-2 stages, a 1x1
// conv, global average pool, one fully connected layer per task). Every op
// maps onto the SDK's op set; BatchNorm is folded into the convs at export.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace faceattr::train {

struct ConvSpec {
  int in_c, out_c, kernel, stride, groups;
};

// Channels scaled by a width multiplier, rounded to a multiple of 8 (at least 8).
int scaled_channels(int channels, float width_mult);
// 3x3 convs from 3 input channels, one per {channels, stride} of `plan`, scaled by width_mult.
std::vector<ConvSpec> conv3x3_stack(const std::vector<std::pair<int, int>>& plan, float width_mult);

// The conv stack for a width multiplier (1.0 = the shipped model).
std::vector<ConvSpec> anet_conv_specs(float width_mult);

struct ConvBnReluImpl : torch::nn::Module {
  ConvBnReluImpl(const ConvSpec& s);
  torch::Tensor forward(const torch::Tensor& x);
  ConvSpec spec;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBnRelu);

struct ANetImpl : torch::nn::Module {
  ANetImpl(int n_attributes, float width_mult, double dropout);
  torch::Tensor features(const torch::Tensor& x);  // [B, feature_dim] after global average pooling
  torch::Tensor forward(const torch::Tensor& x);   // [B, n_attributes] logits
  int feature_dim() const;

  std::vector<ConvBnRelu> layers;
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ANet);

struct ModelCost {
  int64_t macs = 0, params = 0;
};
// Inference cost of the exported network (BN folded) at the given input size.
ModelCost anet_cost(const ANet& net, int in_w, int in_h);
// Cost of a conv stack (BN folded, "same" padding) on an in_w x in_h input; the last
// layer's output size and channels go to *out_w, *out_h, *out_c when not null.
// The specs of a module's conv-BN-ReLU layers, and their total stride.
std::vector<ConvSpec> specs_of(const std::vector<ConvBnRelu>& layers);
int stack_stride(const std::vector<ConvBnRelu>& layers);
// A fully convolutional net: the conv-BN-ReLU stack, then a 1x1 conv to head_out channels.
ModelCost fcn_cost(const std::vector<ConvBnRelu>& layers, int head_out, int in_w, int in_h);
ModelCost conv_stack_cost(const std::vector<ConvSpec>& specs, int in_w, int in_h, int* out_w = nullptr,
                          int* out_h = nullptr, int* out_c = nullptr);

}  // namespace faceattr::train
