#include "model/lnet.h"

#include <cmath>
#include <stdexcept>

namespace faceattr::train {

std::vector<ConvSpec> lnet_conv_specs(float width_mult) {
  // Receptive field 87 px at stride 8 (faces are 24-70 px at 160x120); dense
  // convs for the same reason as ANet (LibTorch's depthwise backward is slow).
  return conv3x3_stack({{24, 2}, {32, 2}, {32, 1}, {64, 2}, {64, 1}, {64, 1}, {64, 1}, {64, 1}}, width_mult);
}

LNetImpl::LNetImpl(int n_tags, float width_mult) {
  auto specs = lnet_conv_specs(width_mult);
  for (size_t i = 0; i < specs.size(); ++i)
    layers.push_back(register_module("l" + std::to_string(i), ConvBnRelu(specs[i])));
  const int c = specs.back().out_c;
  tags = register_module("tags", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, n_tags, 1).bias(true)));
  rot = register_module("rot", torch::nn::Linear(c, 4));
  torch::NoGradGuard ng;
  tags->bias.fill_(-3.0);  // tags start rare: a sparse response map
}

torch::Tensor LNetImpl::body(const torch::Tensor& x) {
  auto h = x;
  for (auto& l : layers) h = l->forward(h);
  return h;
}

torch::Tensor LNetImpl::tag_maps(const torch::Tensor& x) { return tags->forward(body(x)); }

torch::Tensor LNetImpl::rotation_logits(const torch::Tensor& x) { return rot->forward(body(x).mean({2, 3})); }

int lnet_stride(const LNet& net) { return stack_stride(net->layers); }

ModelCost lnet_cost(const LNet& net, int in_w, int in_h) { return fcn_cost(net->layers, 1, in_w, in_h); }

std::vector<FoldedConv> fold_lnet(LNet& net, const std::string& map) {
  torch::NoGradGuard ng;
  std::vector<FoldedConv> out;
  for (auto& l : net->layers) {
    out.push_back(fold_conv_bn(l));
  }
  auto w = net->tags->weight.detach().to(torch::kCPU, torch::kFloat64);  // [T, C, 1, 1]
  auto b = net->tags->bias.detach().to(torch::kCPU, torch::kFloat64);
  FoldedConv head;
  if (map == "face") {
    head.weight = w.slice(0, w.size(0) - 1).to(torch::kFloat32).contiguous();
    head.bias = b.slice(0, b.size(0) - 1).to(torch::kFloat32).contiguous();
  } else if (map == "mean") {
    head.weight = w.mean(0, true).to(torch::kFloat32).contiguous();
    head.bias = b.mean(0, true).to(torch::kFloat32).contiguous();
  } else {
    throw std::runtime_error("unknown LNet response map '" + map + "' (face | mean)");
  }
  head.relu = false;
  out.push_back(head);
  return out;
}

}  // namespace faceattr::train
