// Identity pre-training's large-margin cosine loss (stages/pretrain.cpp): the
// cosines of normalised rows, and the margin taken off the true class only.
// (Catch REQUIRE only: LibTorch headers define their own CHECK macro.)
#include <catch2/catch.hpp>
#include <cmath>

#include "stages/stages.h"

namespace ft = faceattr::train;

TEST_CASE("row_cosines: the cosine of each feature row with each class row, whatever their lengths") {
  const auto f = torch::tensor({3.0f, 4.0f, 0.0f, -2.0f}).view({2, 2});  // (3, 4), (0, -2)
  const auto w = torch::tensor({1.0f, 0.0f, 0.0f, 5.0f, -1.0f, -1.0f}).view({3, 2});
  const auto c = ft::row_cosines(f, w);
  REQUIRE(c.sizes() == torch::IntArrayRef({2, 3}));
  REQUIRE(c[0][0].item<float>() == Approx(0.6));
  REQUIRE(c[0][1].item<float>() == Approx(0.8));
  REQUIRE(c[0][2].item<float>() == Approx(-7.0 / (5.0 * std::sqrt(2.0))));
  REQUIRE(c[1][0].item<float>() == Approx(0.0).margin(1e-7));
  REQUIRE(c[1][1].item<float>() == Approx(-1.0));
  REQUIRE(c[1][2].item<float>() == Approx(1.0 / std::sqrt(2.0)));
}

TEST_CASE("cosface_logits: scale x cosine, less scale x margin on each row's label") {
  const auto cos = torch::tensor({0.5f, -0.25f, 0.75f, 0.1f, 0.2f, 0.3f}).view({2, 3});
  const auto labels = torch::tensor({2, 0}, torch::kLong);
  const auto z = ft::cosface_logits(cos, labels, 30.0, 0.35);
  const float want[2][3] = {{15.0f, -7.5f, 30.0f * (0.75f - 0.35f)}, {30.0f * (0.1f - 0.35f), 6.0f, 9.0f}};
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 3; ++k) REQUIRE(z[i][k].item<float>() == Approx(want[i][k]).epsilon(1e-6));
  // No margin, unit scale: the cosines themselves.
  REQUIRE(torch::equal(ft::cosface_logits(cos, labels, 1.0, 0.0), cos));
}
