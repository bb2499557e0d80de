#include "model/anet.h"

#include <cmath>

#include "engine/dist.h"

namespace faceattr::train {

int scaled_channels(int channels, float width_mult) {
  return std::max(8, static_cast<int>(std::lround(channels * width_mult / 8.0)) * 8);
}

std::vector<ConvSpec> conv3x3_stack(const std::vector<std::pair<int, int>>& plan, float width_mult) {
  std::vector<ConvSpec> s;
  int c = 3;
  for (const auto& [channels, stride] : plan) {
    const int out = scaled_channels(channels, width_mult);
    s.push_back({c, out, 3, stride, 1});
    c = out;
  }
  return s;
}

std::vector<ConvSpec> anet_conv_specs(float width_mult) {
  // Plain 3x3 convs: LibTorch's CPU backward for depthwise convs ran ~9x slower
  // per MAC than dense convs here (14 vs 126 img/s at ~33 M MACs), and the
  // trainer must fit a 2-core hour.
  std::vector<ConvSpec> s =
      conv3x3_stack({{24, 2}, {48, 2}, {48, 1}, {96, 2}, {96, 1}, {192, 2}, {192, 1}}, width_mult);
  s.push_back({s.back().out_c, scaled_channels(384, width_mult), 1, 1, 1});
  return s;
}

ConvBnReluImpl::ConvBnReluImpl(const ConvSpec& s) : spec(s) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.in_c, s.out_c, s.kernel)
                                                       .stride(s.stride)
                                                       .padding(s.kernel / 2)
                                                       .groups(s.groups)
                                                       .bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(s.out_c).momentum(0.05)));
}

torch::Tensor ConvBnReluImpl::forward(const torch::Tensor& x) {
  auto y = conv->forward(x);
  // Distributed training: batch statistics over every rank's share of the batch.
  if (bn->is_training() && dist::sync_bn_active()) return torch::relu(dist::sync_batch_norm(y, *bn));
  return torch::relu(bn->forward(y));
}

ANetImpl::ANetImpl(int n_attributes, float width_mult, double p) {
  auto specs = anet_conv_specs(width_mult);
  for (size_t i = 0; i < specs.size(); ++i)
    layers.push_back(register_module("l" + std::to_string(i), ConvBnRelu(specs[i])));
  dropout = register_module("dropout", torch::nn::Dropout(p));
  head = register_module("head", torch::nn::Linear(specs.back().out_c, n_attributes));
}

int ANetImpl::feature_dim() const { return layers.back()->spec.out_c; }

torch::Tensor ANetImpl::features(const torch::Tensor& x) {
  auto h = x;
  for (auto& l : layers) h = l->forward(h);
  return h.mean({2, 3});
}

torch::Tensor ANetImpl::forward(const torch::Tensor& x) {
  return head->forward(dropout->forward(features(x)));
}

ModelCost conv_stack_cost(const std::vector<ConvSpec>& specs, int in_w, int in_h, int* out_w, int* out_h,
                          int* out_c) {
  ModelCost c;
  int h = in_h, w = in_w, ch = 3;
  for (const auto& s : specs) {
    h = (h + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
    w = (w + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
    const int64_t per_out = static_cast<int64_t>(s.kernel) * s.kernel * (s.in_c / s.groups);
    c.macs += per_out * s.out_c * h * w;
    c.params += per_out * s.out_c + s.out_c;  // folded bias
    ch = s.out_c;
  }
  if (out_w) *out_w = w;
  if (out_h) *out_h = h;
  if (out_c) *out_c = ch;
  return c;
}

std::vector<ConvSpec> specs_of(const std::vector<ConvBnRelu>& layers) {
  std::vector<ConvSpec> s;
  for (const auto& l : layers) s.push_back(l->spec);
  return s;
}

int stack_stride(const std::vector<ConvBnRelu>& layers) {
  int s = 1;
  for (const auto& l : layers) s *= l->spec.stride;
  return s;
}

ModelCost fcn_cost(const std::vector<ConvBnRelu>& layers, int head_out, int in_w, int in_h) {
  int w = 0, h = 0, ch = 0;
  ModelCost c = conv_stack_cost(specs_of(layers), in_w, in_h, &w, &h, &ch);
  c.macs += static_cast<int64_t>(ch) * head_out * h * w;
  c.params += static_cast<int64_t>(ch) * head_out + head_out;
  return c;
}

ModelCost anet_cost(const ANet& net, int in_w, int in_h) {
  ModelCost c = conv_stack_cost(specs_of(net->layers), in_w, in_h);
  const int64_t f = net->feature_dim(), a = net->head->options.out_features();
  c.macs += f * a;
  c.params += f * a + a;
  return c;
}

}  // namespace faceattr::train
