#include "model/loc_net.h"

#include <cmath>

namespace faceattr::train {

std::vector<ConvSpec> loc_conv_specs(float width_mult) {
  // Four stride-2 convs reach stride 16 fast (few MACs at full resolution); eight 3x3 convs at
  // stride 16 grow the receptive field by 32 px each, to ~300 px: a face filling a 256x192
  // input is seen whole from its centre cell.
  return conv3x3_stack({{16, 2},
                        {24, 2},
                        {32, 2},
                        {32, 1},
                        {48, 2},
                        {48, 1},
                        {48, 1},
                        {48, 1},
                        {48, 1},
                        {48, 1},
                        {48, 1},
                        {48, 1},
                        {48, 1}},
                       width_mult);
}

LocNetImpl::LocNetImpl(float width_mult) {
  const auto specs = loc_conv_specs(width_mult);
  for (size_t i = 0; i < specs.size(); ++i)
    layers.push_back(register_module("l" + std::to_string(i), ConvBnRelu(specs[i])));
  head = register_module("head",
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(specs.back().out_c, 5, 1).bias(true)));
  torch::NoGradGuard ng;
  head->weight.normal_(0, 0.01);
  head->bias.zero_();
  head->bias[0].fill_(-4.6);  // faces are rare cells: start at p = 0.01
}

torch::Tensor LocNetImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (auto& l : layers) h = l->forward(h);
  return head->forward(h);
}

int loc_stride(const LocNet& net) { return stack_stride(net->layers); }

ModelCost loc_cost(const LocNet& net, int in_w, int in_h) { return fcn_cost(net->layers, 5, in_w, in_h); }

std::vector<FoldedConv> fold_loc(LocNet& net) {
  torch::NoGradGuard ng;
  std::vector<FoldedConv> out;
  for (auto& l : net->layers) out.push_back(fold_conv_bn(l));
  FoldedConv head;
  head.weight = net->head->weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  head.bias = net->head->bias.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  head.relu = false;
  out.push_back(head);
  return out;
}

}  // namespace faceattr::train
