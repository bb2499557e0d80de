// Unit tests of the statistics behind the `faceattr eval` reports: percentile bootstrap
// intervals (native/cli/eval_bootstrap.h), calibration (eval_calibration.h), the UTKFace split,
// cells, worst groups and confidence (utkface_groups.h) and the CelebA slices (celeba_slices.h).
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "celeba_slices.h"
#include "eval_bootstrap.h"
#include "eval_calibration.h"
#include "utkface_groups.h"

using namespace faceattr::cli;

namespace {

std::vector<uint8_t> ones_then_zeros(size_t ones, size_t zeros) {
  std::vector<uint8_t> v(ones, 1);
  v.resize(ones + zeros, 0);
  return v;
}

}  // namespace

TEST_CASE("UTKFace split: dev when DATETIME ends in 0, 1 or 2", "[cli][utkface]") {
  for (char d = '0'; d <= '9'; ++d) {
    const std::string datetime = std::string("2017010915055733") + d;
    const bool dev = d <= '2';
    CHECK(utkface_is_dev(datetime) == dev);
    const auto img = parse_utkface_name("25_0_0_" + datetime + ".jpg.chip.jpg");
    REQUIRE(img);
    CHECK(img->dev == dev);
    CHECK(utkface_in_split(*img, "all"));
    CHECK(utkface_in_split(*img, "dev") == dev);
    CHECK(utkface_in_split(*img, "train") == !dev);
  }
  // Only DATETIME's last digit counts: not the age's, the race's, nor other digits of DATETIME.
  const auto a = parse_utkface_name("100_1_2_20170112213001983.jpg.chip.jpg");
  REQUIRE(a);
  CHECK_FALSE(a->dev);
  CHECK(a->age == 100);
  CHECK_FALSE(a->male);
  CHECK(a->race == 2);
  const auto b = parse_utkface_name("9_0_3_2.jpg");  // one-digit DATETIME, the short extension
  REQUIRE(b);
  CHECK(b->dev);
  CHECK(b->male);
  CHECK_FALSE(parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg"));    // no race
  CHECK_FALSE(parse_utkface_name("25_0_0_.jpg.chip.jpg"));                   // no DATETIME
  CHECK_FALSE(parse_utkface_name("25_0_5_20170101000000001.jpg.chip.jpg"));  // race 5
}

TEST_CASE("UTKFace age bands and cells", "[cli][utkface]") {
  CHECK(utkface_age_band(0) == 0);
  CHECK(utkface_age_band(12) == 0);
  CHECK(utkface_age_band(13) == 1);
  CHECK(utkface_age_band(19) == 1);
  CHECK(utkface_age_band(20) == 2);
  CHECK(utkface_age_band(39) == 2);
  CHECK(utkface_age_band(40) == 3);
  CHECK(utkface_age_band(59) == 3);
  CHECK(utkface_age_band(60) == 4);
  CHECK(utkface_age_band(116) == 4);
  std::set<size_t> cells;
  for (int race = 0; race < 5; ++race)
    for (size_t band = 0; band < kUtkBands; ++band)
      for (bool male : {true, false}) {
        const size_t c = utkface_cell(race, band, male);
        CHECK(c < kUtkCells);
        cells.insert(c);
      }
  CHECK(cells.size() == 50);
  CHECK(utkface_cell_name(utkface_cell(2, 0, false)) == "Asian 0-12 female");
  CHECK(utkface_cell_name(utkface_cell(0, 4, true)) == "White 60+ male");
  CHECK(utkface_cell_name(utkface_cell(4, 2, true)) == "Others 20-39 male");
}

TEST_CASE("worst_groups: lowest accuracy among groups large enough", "[cli][utkface]") {
  const std::vector<double> acc = {0.9, 0.2, 0.5, 0.5, 0.1, 0.7};
  const std::vector<int64_t> n = {20, 5, 10, 30, 0, 12};
  CHECK(worst_groups(acc, n, 10, 5) == std::vector<size_t>{2, 3, 5, 0});  // tie 2, 3: index order
  CHECK(worst_groups(acc, n, 10, 2) == std::vector<size_t>{2, 3});
  CHECK(worst_groups(acc, n, 1, 1) == std::vector<size_t>{1});  // an empty group never counts
  CHECK(worst_groups(acc, n, 31, 5).empty());
}

TEST_CASE("MaleConfidence: means, margin and confident shares", "[cli][utkface]") {
  MaleConfidence c;
  c.add(0.9, true, true);    // boy, confident, right
  c.add(0.85, true, false);  // girl, confident, wrong
  c.add(0.6, true, false);   // girl, not confident (margin 0.1), wrong
  c.add(0.1, false, true);   // boy, confident, wrong
  c.finish();
  CHECK(c.faces == 4);
  CHECK(c.boys == 2);
  CHECK(c.girls == 2);
  CHECK(c.mean_p == Approx((0.9 + 0.85 + 0.6 + 0.1) / 4));
  CHECK(c.mean_p_boys == Approx(0.5));
  CHECK(c.mean_p_girls == Approx(0.725));
  CHECK(c.mean_margin == Approx((0.4 + 0.35 + 0.1 + 0.4) / 4));
  CHECK(c.confident == Approx(0.75));
  CHECK(c.confident_wrong == Approx(0.5));
  MaleConfidence none;
  none.finish();
  CHECK(none.mean_p == 0.0);
  CHECK(none.confident == 0.0);
}

TEST_CASE("percentile_interval interpolates between order statistics", "[cli][bootstrap]") {
  std::vector<double> v;
  for (int i = 100; i >= 0; --i) v.push_back(i);  // unsorted: 0..100
  const Interval ci = percentile_interval(v, 0.95);
  CHECK(ci.lo == Approx(2.5));
  CHECK(ci.hi == Approx(97.5));
  const Interval one = percentile_interval({0.25}, 0.95);
  CHECK(one.lo == 0.25);
  CHECK(one.hi == 0.25);
}

TEST_CASE("draw_resample: n indices in range, fixed by the seed", "[cli][bootstrap]") {
  std::mt19937_64 a(5), b(5);
  std::vector<uint32_t> x, y;
  draw_resample(a, 37, x);
  draw_resample(b, 37, y);
  REQUIRE(x.size() == 37);
  CHECK(x == y);
  for (uint32_t i : x) CHECK(i < 37);
  // rng() % n: the standard fixes mt19937_64's stream, so the draws are the same everywhere.
  std::mt19937_64 c(5);
  CHECK(x[0] == c() % 37);
  CHECK(x[1] == c() % 37);
}

TEST_CASE("bootstrap accuracy interval: contains the estimate, narrows with n", "[cli][bootstrap]") {
  const BootstrapParams p;
  const Interval small = bootstrap_accuracy_interval(ones_then_zeros(35, 15), p);     // 0.7, n = 50
  const Interval large = bootstrap_accuracy_interval(ones_then_zeros(1400, 600), p);  // 0.7, n = 2000
  CHECK(small.lo <= 0.7);
  CHECK(small.hi >= 0.7);
  CHECK(large.lo <= 0.7);
  CHECK(large.hi >= 0.7);
  CHECK(small.lo < small.hi);
  CHECK(large.hi - large.lo < small.hi - small.lo);
  // Close to the normal approximation for a large group: 2 x 1.96 x sqrt(0.7 x 0.3 / 2000).
  const double normal = 2 * 1.96 * std::sqrt(0.7 * 0.3 / 2000);
  CHECK(large.hi - large.lo == Approx(normal).epsilon(0.2));
  CHECK(small.hi - small.lo > 0.15);
}

TEST_CASE("bootstrap interval: deterministic for a seed, degenerate groups", "[cli][bootstrap]") {
  const std::vector<uint8_t> mixed = ones_then_zeros(12, 9);
  BootstrapParams p;
  const Interval a = bootstrap_accuracy_interval(mixed, p), b = bootstrap_accuracy_interval(mixed, p);
  CHECK(a.lo == b.lo);
  CHECK(a.hi == b.hi);
  p.seed = 18;
  const Interval c = bootstrap_accuracy_interval(mixed, p);
  CHECK((c.lo != a.lo || c.hi != a.hi));
  const Interval all_right = bootstrap_accuracy_interval(ones_then_zeros(40, 0), BootstrapParams{});
  CHECK(all_right.lo == 1.0);
  CHECK(all_right.hi == 1.0);
  const Interval all_wrong = bootstrap_accuracy_interval(ones_then_zeros(0, 7), BootstrapParams{});
  CHECK(all_wrong.lo == 0.0);
  CHECK(all_wrong.hi == 0.0);
  const Interval single = bootstrap_accuracy_interval({1}, BootstrapParams{});
  CHECK(single.lo == 1.0);
  CHECK(single.hi == 1.0);
  // One right and one wrong image: resamples give 0, 0.5 and 1 (each extreme with p = 1/4).
  const Interval two = bootstrap_accuracy_interval({1, 0}, BootstrapParams{});
  CHECK(two.lo == 0.0);
  CHECK(two.hi == 1.0);
}

TEST_CASE("expected_calibration_error: calibrated bins give 0", "[cli][calibration]") {
  std::vector<float> p;
  std::vector<uint8_t> y;
  auto add = [&](float prob, int n, int positives) {
    for (int i = 0; i < n; ++i) p.push_back(prob), y.push_back(i < positives ? 1 : 0);
  };
  add(0.25f, 20, 5);
  add(0.5f, 10, 5);
  add(0.75f, 4, 3);
  add(1.0f, 6, 6);  // p = 1 falls in the last bin
  add(0.0f, 6, 0);
  CHECK(expected_calibration_error(p.data(), y.data(), p.size()) == Approx(0.0).margin(1e-7));
}

TEST_CASE("expected_calibration_error: known miscalibration", "[cli][calibration]") {
  std::vector<float> p;
  std::vector<uint8_t> y;
  auto add = [&](float prob, int n, int positives) {
    for (int i = 0; i < n; ++i) p.push_back(prob), y.push_back(i < positives ? 1 : 0);
  };
  add(0.9f, 10, 5);  // all 0.9, half positive
  CHECK(expected_calibration_error(p.data(), y.data(), p.size()) == Approx(0.4));
  add(0.1f, 30, 30);  // now: 1/4 x |0.9 - 0.5| + 3/4 x |0.1 - 1|
  CHECK(expected_calibration_error(p.data(), y.data(), p.size()) == Approx(0.25 * 0.4 + 0.75 * 0.9));
  // 0.01 and 0.05 share the first bin [0, 1/15): mean p 0.03 against a positive rate of 0.5.
  const float q[] = {0.01f, 0.05f};
  const uint8_t l[] = {0, 1};
  CHECK(expected_calibration_error(q, l, 2) == Approx(0.47));
  // With 30 bins they are apart: 1/2 x 0.01 + 1/2 x 0.95.
  CHECK(expected_calibration_error(q, l, 2, 1, 30) == Approx(0.48));
  CHECK(expected_calibration_error(q, l, 0) == 0.0);
}

TEST_CASE("calibration_report: per attribute, strided rows", "[cli][calibration]") {
  // 4 images x 2 attributes. Attribute 0: quantised outputs (0.332, 0.5, 0.668), attribute 1:
  // four values, every one right at 0 or 1.
  const std::vector<float> probs = {0.332f, 0.0f, 0.5f, 1.0f, 0.668f, 0.0f, 0.5f, 1.0f};
  const std::vector<uint8_t> truth = {0, 0, 1, 1, 1, 0, 0, 1};
  CHECK(count_distinct(probs.data(), 4, 2) == 3);
  CHECK(count_distinct(probs.data() + 1, 4, 2) == 2);
  const CalibrationReport r = calibration_report(probs, truth, 2);
  REQUIRE(r.ece.size() == 2);
  // Attribute 0: bins 0.332 (label 0), 0.5 (labels 1, 0), 0.668 (label 1).
  CHECK(r.ece[0] == Approx(0.25 * 0.332 + 0.5 * 0.0 + 0.25 * (1 - 0.668)));
  CHECK(r.ece[1] == Approx(0.0));
  CHECK(r.mean_ece == Approx((r.ece[0] + r.ece[1]) / 2));
  CHECK(r.distinct == std::vector<int64_t>{3, 2});
  CHECK(r.distinct_min == 2);
  CHECK(r.distinct_median == 2.5);
}

TEST_CASE("slices: index and names", "[cli][slices]") {
  std::set<std::string> names;
  for (int m = 0; m < 2; ++m)
    for (int y = 0; y < 2; ++y)
      for (int p = 0; p < 2; ++p) {
        const int s = slice_index(m, y, p);
        CHECK(s >= 0);
        CHECK(s < kSlices);
        names.insert(slice_name(s));
      }
  CHECK(names.size() == 8);
  CHECK(slice_name(slice_index(true, false, true)) == "male, not young, pale");
  CHECK(slice_name(slice_index(false, true, false)) == "female, young, not pale");
}

TEST_CASE("slice_stats: grouping, means over attributes, intervals", "[cli][slices]") {
  // 3 attributes. Images 0-3 in slice 5, image 4 in slice 0, image 5 left out (-1).
  // Slice 5: attribute 0 always right; attribute 1 truth 1,0,0,0 decided 1,1,0,0 (accuracy 0.75,
  // balanced (1 + 2/3) / 2); attribute 2 truth all 1 decided 1,1,1,0 (one class: balanced = TPR).
  const std::vector<uint8_t> truth = {1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0};
  const std::vector<uint8_t> decided = {1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  const std::vector<int> slice_of = {5, 5, 5, 5, 0, -1};
  const std::vector<SliceStats> s = slice_stats(decided, truth, 3, slice_of, BootstrapParams{});
  REQUIRE(s.size() == 8);
  CHECK(s[5].n == 4);
  CHECK(s[5].mean_accuracy == Approx((1.0 + 0.75 + 0.75) / 3));
  CHECK(s[5].mean_balanced_accuracy == Approx((1.0 + (1.0 + 2.0 / 3.0) / 2 + 0.75) / 3));
  CHECK(s[5].accuracy_ci.lo <= s[5].mean_accuracy);
  CHECK(s[5].accuracy_ci.hi >= s[5].mean_accuracy);
  CHECK(s[5].balanced_ci.lo <= s[5].mean_balanced_accuracy);
  CHECK(s[5].balanced_ci.hi >= s[5].mean_balanced_accuracy);
  CHECK(s[5].accuracy_ci.lo < s[5].accuracy_ci.hi);
  // Slice 0: one image, all right: a degenerate interval.
  CHECK(s[0].n == 1);
  CHECK(s[0].mean_accuracy == 1.0);
  CHECK(s[0].accuracy_ci.lo == 1.0);
  CHECK(s[0].accuracy_ci.hi == 1.0);
  CHECK(s[0].balanced_ci.lo == 1.0);
  for (int e : {1, 2, 3, 4, 6, 7}) CHECK(s[static_cast<size_t>(e)].n == 0);
  // Deterministic: the same inputs give the same intervals.
  const std::vector<SliceStats> again = slice_stats(decided, truth, 3, slice_of, BootstrapParams{});
  CHECK(again[5].accuracy_ci.lo == s[5].accuracy_ci.lo);
  CHECK(again[5].balanced_ci.hi == s[5].balanced_ci.hi);
  // Too small to be named worst.
  CHECK(worst_slice(s, true) == -1);
}

TEST_CASE("worst_slice: lowest mean among slices with enough images", "[cli][slices]") {
  std::vector<SliceStats> s(8);
  s[1].n = 50, s[1].mean_accuracy = 0.9, s[1].mean_balanced_accuracy = 0.6;
  s[3].n = 10, s[3].mean_accuracy = 0.8, s[3].mean_balanced_accuracy = 0.7;
  s[6].n = 9, s[6].mean_accuracy = 0.1, s[6].mean_balanced_accuracy = 0.1;  // too small
  CHECK(worst_slice(s, true) == 1);
  CHECK(worst_slice(s, false) == 3);
}
