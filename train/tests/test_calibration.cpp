// Balanced decisions and calibration at export (engine/evaluate.h): equal-error-rate
// thresholds, balanced accuracy, expected calibration error and Platt scaling, on
// synthetic scores whose answers are known. (Catch REQUIRE only: LibTorch headers
// define their own CHECK macro.)
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "engine/evaluate.h"

namespace ft = faceattr::train;

namespace {

torch::Tensor column(const std::vector<float>& v) { return torch::tensor(v).view({-1, 1}); }

}  // namespace

TEST_CASE(
    "attribute_balanced_accuracy: the mean of the two class rates, one class alone when the other is "
    "absent") {
  // 4 positives (3 found), 6 negatives (4 rejected): (3/4 + 4/6) / 2.
  auto p = column({0.9f, 0.8f, 0.7f, 0.2f, 0.6f, 0.55f, 0.1f, 0.2f, 0.3f, 0.4f});
  auto y = column({1, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  const auto b = ft::attribute_balanced_accuracy(p, y, {0.5f});
  REQUIRE(b[0] == Approx((0.75 + 4.0 / 6.0) / 2).epsilon(1e-12));
  const auto only_neg = ft::attribute_balanced_accuracy(column({0.1f, 0.7f}), column({0, 0}), {0.5f});
  REQUIRE(only_neg[0] == Approx(0.5));
}

TEST_CASE("balanced_thresholds: the cut where the false-positive and false-negative rates meet") {
  // A rare attribute: 10 positives scored 0.30..0.39, 90 negatives scored 0.00..0.356.
  // The accuracy threshold sits high; the equal-error-rate cut balances the two rates.
  std::vector<float> p, t;
  for (int i = 0; i < 10; ++i) p.push_back(0.30f + 0.01f * i), t.push_back(1);
  for (int i = 0; i < 90; ++i) p.push_back(0.004f * i), t.push_back(0);
  auto P = column(p), Y = column(t);
  const float thr = ft::balanced_thresholds(P, Y)[0];
  double fn = 0, fp = 0;
  for (size_t i = 0; i < p.size(); ++i) (t[i] > 0 ? fn : fp) += (t[i] > 0) == (p[i] < thr);
  const double fnr = fn / 10, fpr = fp / 90;
  REQUIRE(std::abs(fnr - fpr) <= 0.1 + 1e-9);  // one positive is 0.1 of FNR: the closest possible
  const double bal = ft::attribute_balanced_accuracy(P, Y, {thr})[0];
  const double bal_acc_thr = ft::attribute_balanced_accuracy(P, Y, ft::calibrate_thresholds(P, Y))[0];
  REQUIRE(bal >= bal_acc_thr);
  // Separable scores: every cut between the classes balances both rates at 0.
  auto sep = column({0.1f, 0.2f, 0.8f, 0.9f});
  auto sy = column({0, 0, 1, 1});
  const float s = ft::balanced_thresholds(sep, sy)[0];
  REQUIRE(s > 0.2f);
  REQUIRE(s <= 0.8f);
  // One class only: no rate to balance, 0.5.
  REQUIRE(ft::balanced_thresholds(column({0.3f, 0.6f}), column({1, 1}))[0] == 0.5f);
}

TEST_CASE("expected_calibration_error: 0 when every bin's mean matches its rate, the gap otherwise") {
  // Bin [0.2, 0.267): p = 0.25 on 4 rows, one positive -> calibrated. Bin [0.733, 0.8): p = 0.75, 3 of 4.
  auto p = column({0.25f, 0.25f, 0.25f, 0.25f, 0.75f, 0.75f, 0.75f, 0.75f});
  auto y = column({1, 0, 0, 0, 1, 1, 1, 0});
  REQUIRE(ft::expected_calibration_error(p, y)[0] == Approx(0.0).margin(1e-12));
  // Every row at 0.9, half positive: |0.9 - 0.5| = 0.4.
  auto q = column({0.9f, 0.9f, 0.9f, 0.9f});
  auto z = column({1, 0, 1, 0});
  REQUIRE(ft::expected_calibration_error(q, z)[0] == Approx(0.4).epsilon(1e-6));
  // Two bins of different sizes: 3/4 of rows off by 0.2, 1/4 exact.
  auto r = column({0.1f, 0.1f, 0.1f, 0.5f});
  auto w = column({0, 0, 1, 1});  // bin 0.1: rate 1/3, |0.1 - 0.333| = 0.2333; bin 0.5: rate 1, 0.5
  REQUIRE(ft::expected_calibration_error(r, w)[0] ==
          Approx(0.75 * (1.0 / 3.0 - 0.1) + 0.25 * 0.5).epsilon(1e-6));
}

TEST_CASE("fit_platt: recovers a known scale and shift and lowers the calibration error") {
  torch::manual_seed(3);
  const int64_t N = 20000;
  auto z = torch::randn({N, 2}) * 2.0;
  // Attribute 0: true logit 0.5 z - 1 (the scores are over-confident and shifted);
  // attribute 1: already calibrated.
  auto true_logit = torch::stack({0.5 * z.select(1, 0) - 1.0, z.select(1, 1)}, 1);
  auto y = (torch::rand({N, 2}) < torch::sigmoid(true_logit)).to(torch::kFloat32);
  const ft::PlattScaling ps = ft::fit_platt(z, y);
  REQUIRE(ps.scale[0] == Approx(0.5).margin(0.05));
  REQUIRE(ps.shift[0] == Approx(-1.0).margin(0.08));
  REQUIRE(ps.scale[1] == Approx(1.0).margin(0.07));
  REQUIRE(ps.shift[1] == Approx(0.0).margin(0.07));
  double before = 0;
  const double after = ft::cross_platt_ece(z, y, &before);
  REQUIRE(after < 0.02);
  REQUIRE(before > 0.05);
  // A score that decreases with the label keeps the identity (decisions must not flip).
  auto yn = (z.select(1, 0) < 0).to(torch::kFloat32).view({N, 1});
  const ft::PlattScaling pn = ft::fit_platt(z.select(1, 0).view({N, 1}), yn);
  REQUIRE(pn.scale[0] == 1.0f);
  REQUIRE(pn.shift[0] == 0.0f);
}

TEST_CASE("cross_balanced_accuracy and cross_calibrated_accuracy: thresholds never scored where fitted") {
  // Each half is separable on its own, at a different cut: fitted on one half, the cut
  // calls everything in the other half positive (or negative), so both scores fall.
  auto p = column({0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f});
  auto y = column({0, 0, 1, 1, 0, 0, 1, 1});
  REQUIRE(ft::cross_balanced_accuracy(p, y)[0] == Approx(0.5));
  REQUIRE(ft::cross_calibrated_accuracy(p, y)[0] == Approx(0.5));
  // One cut serves both halves: perfect.
  auto q = column({0.1f, 0.9f, 0.2f, 0.8f, 0.15f, 0.85f, 0.3f, 0.7f});
  auto z = column({0, 1, 0, 1, 0, 1, 0, 1});
  REQUIRE(ft::cross_balanced_accuracy(q, z)[0] == Approx(1.0));
  REQUIRE(ft::cross_calibrated_accuracy(q, z)[0] == Approx(1.0));
}

TEST_CASE("cross_platt_accuracy: deciding at 0.5 after out-of-sample Platt scaling finds the Bayes cut") {
  torch::manual_seed(5);
  const int64_t N = 20000;
  auto z = torch::randn({N, 1}) * 2.0;
  // True logit 2 z - 1.5: the Bayes decision is z >= 0.75, not the raw z >= 0.
  auto y = (torch::rand({N, 1}) < torch::sigmoid(2.0 * z - 1.5)).to(torch::kFloat32);
  const double bayes = ft::attribute_accuracy((z >= 0.75).to(torch::kFloat32), y, {0.5f})[0];
  const double raw = ft::attribute_accuracy(torch::sigmoid(z), y, {0.5f})[0];
  const double platt = ft::cross_platt_accuracy(z, y)[0];
  REQUIRE(platt == Approx(bayes).margin(0.003));
  REQUIRE(platt > raw + 0.02);
  // Each half is scored with the other half's fit: the halves' cuts differ (between 1 and 2,
  // between -2 and -1), so each half gets two of four right where its own fit gets all four.
  auto s = column({-2.f, -1.f, 1.f, 2.f, -2.f, -1.f, 1.f, 2.f});
  auto t = column({0, 0, 0, 1, 0, 1, 1, 1});
  REQUIRE(ft::cross_platt_accuracy(s, t)[0] == Approx(0.5));
}
