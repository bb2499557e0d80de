#include "quant/folded.h"

namespace faceattr::train {

FoldedNet fold_batchnorm(ANet& net) {
  torch::NoGradGuard ng;
  FoldedNet f;
  for (auto& l : net->layers) {
    f.convs.push_back(fold_conv_bn(l));
  }
  f.fc_weight = net->head->weight.detach().to(torch::kCPU).clone();
  f.fc_bias = net->head->bias.detach().to(torch::kCPU).clone();
  return f;
}

torch::Tensor FoldedNet::logits(const torch::Tensor& x, std::vector<torch::Tensor>* acts) const {
  torch::NoGradGuard ng;
  auto h = x;
  for (const auto& c : convs) {
    h = torch::conv2d(h, c.weight, c.bias, c.stride, c.pad, 1, c.groups);
    if (c.relu) h = torch::relu(h);
    if (acts) acts->push_back(h);
  }
  h = h.mean({2, 3});
  if (acts) acts->push_back(h);
  auto out = torch::addmm(fc_bias, h, fc_weight.t());
  if (acts) acts->push_back(out);
  return out;
}

}  // namespace faceattr::train
