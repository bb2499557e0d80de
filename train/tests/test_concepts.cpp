// anet-concepts (stages/concepts_*.h): the L1 path selects and the refit recovers a
// known sparse weight vector; forward stepwise selection finds a support of two
// correlated features that only help together, and the better-fitting head is kept
// per attribute; the clustering groups units driven by the same factor;
// a model carrying concepts.* metadata loads and predicts bit-identically to the
// same model without it, and the analysis copy with the feature output runs the same network.
// (Catch REQUIRE only: LibTorch headers define their own CHECK macro.)
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/jpeg.h"
#include "model_def.h"
#include "quant/folded.h"
#include "quant/to_modeldef.h"
#include "stages/concepts_features.h"
#include "stages/concepts_math.h"

namespace ft = faceattr::train;
namespace fc = faceattr::train::concepts;

TEST_CASE("the L1 path finds and the refit recovers a sparse logistic model", "[concepts]") {
  torch::manual_seed(3);
  const int64_t N = 6000, K = 30;
  auto x = torch::randn({N, K}) * 2.0 + 1.0;  // not standardised: the fit must handle that
  auto w = torch::zeros({2, K});
  w[0][2] = 1.5f, w[0][7] = -1.0f, w[0][19] = 0.75f;  // on standardised features
  w[1][4] = 2.0f;
  auto z = (x - 1.0) / 2.0;
  auto y = (torch::rand({N, 2}) < torch::sigmoid(z.matmul(w.t()) + torch::tensor({0.3f, -0.5f})))
               .to(torch::kFloat);
  const auto supports = fc::l1_supports(x, y, {1, 3});
  REQUIRE(supports[0][1] == std::vector<int>{4});
  REQUIRE(supports[1][0] == std::vector<int>{2, 7, 19});
  REQUIRE(supports[0][0] == std::vector<int>{2});  // the largest weight enters first
  const fc::SparseHead h = fc::refit(x, y, {supports[1][0], {4, 5, 6}});
  // Raw-feature weights: the standardised ones divided by the feature sd (2).
  REQUIRE(std::fabs(h.weight[0][2].item<float>() - 0.75f) < 0.1f);
  REQUIRE(std::fabs(h.weight[0][7].item<float>() + 0.5f) < 0.1f);
  REQUIRE(std::fabs(h.weight[0][19].item<float>() - 0.375f) < 0.1f);
  REQUIRE(std::fabs(h.weight[1][4].item<float>() - 1.0f) < 0.1f);
  REQUIRE(std::fabs(h.weight[1][5].item<float>()) < 0.1f);
  REQUIRE(h.weight[0][0].item<float>() == 0.0f);  // outside the support
  // The tuned decision is at least as accurate on its own data as the Bayes rule's sign.
  const auto acc = fc::accuracy(h.decide(x), y);
  const auto bayes = fc::accuracy(z.matmul(w.t()) + torch::tensor({0.3f, -0.5f}) >= 0, y);
  REQUIRE(acc[0].item<float>() >= bayes[0].item<float>() - 0.005f);
  REQUIRE(acc[1].item<float>() >= bayes[1].item<float>() - 0.005f);
}

TEST_CASE("forward stepwise selection finds the sparse model; the lower objective wins", "[concepts]") {
  torch::manual_seed(4);
  const int64_t N = 6000, K = 20;
  // Features 0 and 1 are strongly correlated; y depends on their difference and on feature 9,
  // so neither 0 nor 1 helps much alone.
  auto x = torch::randn({N, K});
  x.select(1, 1).copy_(0.9 * x.select(1, 0) + std::sqrt(1 - 0.81) * x.select(1, 1));
  auto logit = 3.0 * (x.select(1, 0) - x.select(1, 1)) + 1.0 * x.select(1, 9) - 0.2;
  auto y = (torch::rand({N}) < torch::sigmoid(logit)).to(torch::kFloat).unsqueeze(1);
  y = torch::cat({y, (torch::rand({N, 1}) < torch::sigmoid(1.5 * x.narrow(1, 4, 1))).to(torch::kFloat)}, 1);
  const auto sw = fc::stepwise_supports(x, y, 3);
  REQUIRE(sw.size() == 3);
  REQUIRE(sw[0][1] == std::vector<int>{4});
  REQUIRE(sw[2][0] == std::vector<int>{0, 1, 9});
  for (int64_t a = 0; a < 2; ++a)  // nested in k
    for (size_t k = 1; k < sw.size(); ++k)
      for (int j : sw[k - 1][static_cast<size_t>(a)])
        REQUIRE(std::count(sw[k][static_cast<size_t>(a)].begin(), sw[k][static_cast<size_t>(a)].end(), j) ==
                1);
  // Its k = 3 refit fits at least as well as the L1 path's first three, and as well as the
  // true support.
  const auto l1 = fc::l1_supports(x, y, {3});
  const fc::SparseHead hs = fc::refit(x, y, sw[2]), hl = fc::refit(x, y, l1[0]);
  const fc::SparseHead truth = fc::refit(x, y, {{0, 1, 9}, {4, 5, 6}});
  REQUIRE(hs.objective[0].item<float>() <= hl.objective[0].item<float>() + 1e-7f);
  REQUIRE(std::fabs(hs.objective[0].item<float>() - truth.objective[0].item<float>()) < 1e-6f);
  // The objective is the penalised mean logistic loss of the refitted head on its data.
  auto z = hs.logits(x).select(1, 0).to(torch::kDouble), yy = y.select(1, 0).to(torch::kDouble);
  const double nll =
      (torch::clamp_min(z, 0) + torch::log1p(torch::exp(-z.abs())) - yy * z).mean().item<double>();
  REQUIRE(hs.objective[0].item<double>() >= nll - 1e-6);
  REQUIRE(hs.objective[0].item<double>() < nll + 1e-2);
  // lower_objective takes each attribute's row from the head that fits it better.
  torch::Tensor took;
  const fc::SparseHead one_each = fc::refit(x, y, {{0, 1, 9}, {5, 6, 7}});
  const fc::SparseHead other = fc::refit(x, y, {{2, 3, 5}, {4, 6, 7}});
  const fc::SparseHead best = fc::lower_objective(one_each, other, &took);
  REQUIRE(took[0].item<bool>() == false);
  REQUIRE(took[1].item<bool>() == true);
  REQUIRE(torch::equal(best.weight[0], one_each.weight[0]));
  REQUIRE(torch::equal(best.weight[1], other.weight[1]));
  REQUIRE(best.threshold[1].item<float>() == other.threshold[1].item<float>());
  REQUIRE_THROWS_AS(fc::stepwise_supports(x, y, 0), std::invalid_argument);
  REQUIRE_THROWS_AS(fc::stepwise_supports(x, y, static_cast<int>(K) + 1), std::invalid_argument);
}

TEST_CASE("units driven by the same factor form one cluster", "[concepts]") {
  torch::manual_seed(5);
  const int64_t N = 2000;
  auto f = torch::randn({N, 3});
  auto x = torch::zeros({N, 13});
  for (int u = 0; u < 12; ++u)
    x.select(1, u).copy_(torch::relu(f.select(1, u % 3) * (1.0 + 0.1 * u) + 0.3 * torch::randn({N})));
  // Unit 12 is dead (constant) and is skipped.
  const auto c = fc::cluster_units(x, 3, {12});
  REQUIRE(c.size() == 3);
  REQUIRE(c[0] == std::vector<int>{0, 3, 6, 9});
  REQUIRE(c[1] == std::vector<int>{1, 4, 7, 10});
  REQUIRE(c[2] == std::vector<int>{2, 5, 8, 11});
  // Concept activation = mean of the members' standardised activations.
  const fc::Standardiser s = fc::standardiser_of(x);
  const auto a = fc::concept_activations(x, c, s);
  auto z = (x - s.mean) / s.scale;
  REQUIRE(torch::allclose(a.select(1, 1),
                          (z.select(1, 1) + z.select(1, 4) + z.select(1, 7) + z.select(1, 10)) / 4));
}

TEST_CASE("a model with concepts metadata loads and predicts bit-identically", "[concepts]") {
  // One stride-2 convolution, pool, FC: the smallest ANet-shaped graph.
  torch::manual_seed(11);
  ft::ModelInfo info;
  info.name = "tiny-concepts";
  info.thresholds.assign(5, 0.5f);
  for (int a = 0; a < 5; ++a) info.attribute_names.push_back("attr" + std::to_string(a));
  info.input.height = 20;
  info.input.width = 16;
  ft::FoldedNet f;
  f.fc_bias = torch::randn({5}) * 0.1;
  f.fc_weight = torch::randn({5, 12}) * 0.2;
  f.convs.resize(1);
  f.convs[0].pad = 1;
  f.convs[0].stride = 2;
  f.convs[0].bias = torch::randn({12}) * 0.1;
  f.convs[0].weight = torch::randn({12, 3, 3, 3}) * 0.3;
  const auto plain_def = ft::build_fp32_model(f, info);
  auto with_def = plain_def;
  with_def.metadata.push_back({"concepts.names", R"(["middle: attr0+ attr1-"])"});
  with_def.metadata.push_back(
      {"concepts.units", R"({"layer":"x","unit_mean":[0],"unit_scale":[1],"concepts":[[0]]})"});
  with_def.metadata.push_back(
      {"concepts.weights", R"({"attr0":{"bias":0.1,"threshold":0,"terms":[[0,1.5]]}})"});
  const auto plain = faceattr::modelfile::serialize(plain_def);
  const auto with = faceattr::modelfile::serialize(with_def);
  REQUIRE(plain != with);

  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) {
    ft::RgbImage im;
    im.width = 18 + 5 * i;
    im.height = 22 + 3 * i;
    im.pixels.resize(static_cast<size_t>(im.width * im.height * 3));
    for (size_t k = 0; k < im.pixels.size(); ++k)
      im.pixels[k] = static_cast<uint8_t>((k * 37 + i * 11) % 251);
    const auto jpeg = ft::encode_jpeg(im, 90);
    paths.push_back(
        (std::filesystem::temp_directory_path() / ("faceattr_concepts_" + std::to_string(i) + ".jpg"))
            .string());
    std::ofstream(paths.back(), std::ios::binary)
        .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
  }
  const auto a = fc::reference_outputs(plain, paths), b = fc::reference_outputs(with, paths);
  REQUIRE(a.size() == 15);
  REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

  // The analysis copy: same probabilities, and the pooled features give the logits through the head.
  std::string layer;
  const auto probe = fc::with_feature_output(with, &layer);
  for (const auto& n : plain_def.nodes)
    if (n.op == faceattr::modelfile::Op::GlobalAvgPool)
      REQUIRE(layer == plain_def.tensors[static_cast<size_t>(n.inputs[0])].name);
  const fc::FeatureSet fs = fc::extract_features(probe, paths, 2);
  REQUIRE(fs.pooled.size(1) == 12);
  auto probs = torch::tensor(a).reshape({3, 5});
  REQUIRE(torch::allclose(fs.probs, probs, 1e-5, 1e-6));
  auto logits = fs.pooled.matmul(f.fc_weight.t()) + f.fc_bias;
  REQUIRE(torch::allclose(torch::sigmoid(logits), probs, 1e-4, 1e-5));
  for (const auto& p : paths) std::remove(p.c_str());
}

namespace {

// Skewed, correlated features like concept activations (means of ReLU units): lognormal,
// each sharing a common factor with feature 0.
torch::Tensor skewed_features(int64_t n, int64_t k) {
  auto g = torch::randn({n, k});
  return torch::exp(1.2 * (g + g.select(1, 0).unsqueeze(1)) / std::sqrt(2.0));
}

}  // namespace

TEST_CASE("the refit stays bounded where undamped Newton diverged", "[concepts]") {
  // Undamped Newton from the prior overshot on a rare attribute over skewed features with
  // weights of opposite signs: the logits saturated, the Hessian p(1 - p) underflowed, and
  // the steps (gradient / ridge) ran to intercepts of -1e8 (the shipped Goatee, Gray_Hair,
  // Mustache, Sideburns, Wearing_Hat and Bald heads). Attributes, fitted in one batch:
  // 0: that case (about 2% positives); 1: perfectly separable by feature 5; 2: no positives;
  // 3: a constant feature (6) in the support.
  torch::manual_seed(17);
  const int64_t N = 3000;
  const auto w_true = torch::tensor({0.5f, 0.0f, -1.8f, 1.3f, 0.4f});
  const auto draw = [](int64_t n) {
    return torch::cat({skewed_features(n, 5), torch::randn({n, 1}), torch::full({n, 1}, 3.0f)}, 1);
  };
  auto x = draw(N);
  const fc::Standardiser s = fc::standardiser_of(x);
  const auto bayes_logit = [&](const torch::Tensor& xx) {
    return ((xx.narrow(1, 0, 5) - s.mean.narrow(0, 0, 5)) / s.scale.narrow(0, 0, 5)).matmul(w_true) - 5.0;
  };
  auto y = torch::stack({(torch::rand({N}) < torch::sigmoid(bayes_logit(x))).to(torch::kFloat),
                         (x.select(1, 5) > 1.5).to(torch::kFloat), torch::zeros({N}),
                         (torch::rand({N}) < torch::sigmoid(2.0 * x.select(1, 5) - 1.0)).to(torch::kFloat)},
                        1);
  const double positives = y.select(1, 0).sum().item<double>();
  REQUIRE(positives > 20);
  REQUIRE(positives < 120);
  const std::vector<std::vector<int>> supports = {
      {0, 1, 2, 3, 4}, {5, 0, 1, 2, 3}, {0, 1, 2, 3, 4}, {6, 5, 0, 1, 2}};
  const double ridge = 1e-3;
  const fc::SparseHead h = fc::refit(x, y, supports, ridge);
  REQUIRE(torch::isfinite(h.weight).all().item<bool>());
  REQUIRE(torch::isfinite(h.bias).all().item<bool>());
  REQUIRE(torch::isfinite(h.threshold).all().item<bool>());

  // The documented bound: standardised weights and the standardised intercept's distance
  // from the prior's logit at most sqrt(2 ln 2 / ridge) = 37.2.
  const double bound = std::sqrt(2.0 * std::log(2.0) / ridge);
  auto w_std = h.weight * s.scale;
  auto b_std = h.bias + (h.weight * s.mean).sum(1);
  auto prior = y.mean(0).clamp(1e-4, 1 - 1e-4);
  auto dist = (w_std.pow(2).sum(1) + (b_std - torch::log(prior / (1 - prior))).pow(2)).sqrt();
  for (int a = 0; a < 4; ++a) {
    INFO("attribute " << a << ": |beta - beta0| " << dist[a].item<float>() << ", bias "
                      << h.bias[a].item<float>());
    REQUIRE(dist[a].item<double>() <= bound);
    REQUIRE(std::fabs(h.bias[a].item<double>()) < 50.0);
  }
  // The rare attribute: ordinary weights with the true signs, and on fresh data nearly the Bayes rule's
  // accuracy.
  REQUIRE(w_std[0].abs().max().item<float>() < 5.0f);
  REQUIRE(std::fabs(h.bias[0].item<float>()) < 10.0f);
  REQUIRE(w_std[0][2].item<float>() < -0.5f);
  REQUIRE(w_std[0][3].item<float>() > 0.5f);
  auto x2 = draw(20000);
  auto y2 = (torch::rand({20000}) < torch::sigmoid(bayes_logit(x2))).to(torch::kFloat);
  const auto acc = fc::accuracy(h.decide(x2).select(1, 0).unsqueeze(1), y2.unsqueeze(1));
  const auto bayes = fc::accuracy((bayes_logit(x2) >= 0).unsqueeze(1), y2.unsqueeze(1));
  REQUIRE(acc.item<float>() >= bayes.item<float>() - 0.005f);
  // Separable: bounded, and still (nearly) separating; the ridge keeps small weights off the support's other
  // features.
  REQUIRE(fc::accuracy(h.decide(x), y)[1].item<float>() >= 0.995f);
  // No positives: nothing is decided present, the weights stay near 0.
  REQUIRE(fc::accuracy(h.decide(x), y)[2].item<float>() == 1.0f);
  REQUIRE(w_std[2].abs().max().item<float>() < 1e-3f);
  // A constant feature gets weight 0.
  REQUIRE(h.weight[3][6].item<float>() == 0.0f);
  REQUIRE(w_std[3][5].item<float>() > 1.0f);
}
