// int8 post-training quantisation of the weights (quant/int8.h): 8-bit weights span
// [-127, 127], 7-bit ones [-64, 64] (--int8-weight-bits 7: a u8 x s8 pair product sum
// then fits int16), per output channel, and the emulated network stays close to fp32.
// (Catch REQUIRE only: LibTorch headers define their own CHECK macro.)
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <vector>

#include "quant/int8.h"

namespace ft = faceattr::train;

namespace {

std::vector<ft::FoldedConv> random_stack() {
  torch::manual_seed(7);
  std::vector<ft::FoldedConv> convs(2);
  convs[0].weight = torch::randn({8, 3, 3, 3});
  convs[0].bias = torch::randn({8}) * 0.1;
  convs[0].pad = 1;
  convs[1].weight = torch::randn({4, 8, 3, 3}) * 0.2;
  convs[1].weight[2].mul_(0.01);  // a channel of small weights: its own scale
  convs[1].bias = torch::randn({4}) * 0.1;
  convs[1].pad = 1;
  convs[1].stride = 2;
  convs[1].relu = false;
  return convs;
}

}  // namespace

TEST_CASE("int8 weights: 8 bits span [-127, 127], 7 bits [-64, 64], per output channel", "[int8]") {
  const auto convs = random_stack();
  const torch::Tensor x = torch::randn({2, 3, 12, 12});
  ft::RangeObserver obs;
  obs.percentile = 100.0;
  std::vector<torch::Tensor> acts;
  {
    torch::NoGradGuard ng;
    torch::Tensor h = x;
    for (const auto& c : convs) {
      h = torch::conv2d(h, c.weight, c.bias, c.stride, c.pad);
      if (c.relu) h = torch::relu(h);
      acts.push_back(h);
    }
  }
  obs.observe(acts);
  const torch::Tensor ref = acts.back();
  REQUIRE(ft::weight_qmax_for_bits(8) == 127);
  REQUIRE(ft::weight_qmax_for_bits(7) == 64);
  CHECK_THROWS(ft::weight_qmax_for_bits(6));
  for (int bits : {8, 7}) {
    const int qmax = ft::weight_qmax_for_bits(bits);
    const ft::QNet q = ft::quantize_conv_stack(convs, -5.0, 5.0, obs, qmax);
    REQUIRE(q.convs.size() == 2);
    for (const auto& l : q.convs) {
      const auto per_channel = l.wq.reshape({l.wq.size(0), -1}).abs().amax(1);
      REQUIRE(per_channel.max().item<float>() == static_cast<float>(qmax));
      REQUIRE(per_channel.min().item<float>() ==
              static_cast<float>(qmax));  // every channel uses its full range
      REQUIRE(torch::equal(l.wq, l.wq.round()));
    }
    // The emulated int8 stack follows fp32 (a loose bound: two layers, 8 or 7 bits).
    const torch::Tensor y = ft::conv_stack_dequantized(q, x);
    const double rel = ((y - ref).abs().max() / ref.abs().max()).item<double>();
    INFO("bits " << bits << ": max |int8 - fp32| / max |fp32| = " << rel);
    REQUIRE(rel < 0.05);
  }
  CHECK_THROWS(ft::quantize_conv_stack(convs, -5.0, 5.0, obs, 0));
  CHECK_THROWS(ft::quantize_conv_stack(convs, -5.0, 5.0, obs, 128));
}
