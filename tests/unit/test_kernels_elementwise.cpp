// Optimised elementwise kernels (add, sigmoid, activation, quantize,
// dequantize, concat) against the reference on seeded random sizes.
// Tolerances: fp32 add/activation/dequantize/concat are exact up to one
// rounding (|diff| <= eps * |want|); fp32 sigmoid within 2e-6 absolute
// (approximations of exp in [0, 1] outputs); int8 results within 1 LSB.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "unit/test_kernels_util.h"

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
#include <hwy/targets.h>

#include "unit/hwy_targets.h"
#endif

namespace faceattr::kernels::test {
namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();

std::vector<float> one_ulp(const std::vector<float>& want) {
  std::vector<float> tol(want.size());
  for (size_t i = 0; i < want.size(); ++i) tol[i] = kEps * std::fabs(want[i]);
  return tol;
}

size_t random_size(std::mt19937& rng, int i) {
  static const size_t fixed[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 20 * 16 * 32};
  if (i < 13) return fixed[i];
  return static_cast<size_t>(rand_int(rng, 1, 5000));
}

QParam random_q(std::mt19937& rng) { return {rand_float(rng, 0.005f, 0.1f), rand_int(rng, -40, 40)}; }

}  // namespace

static void add_suite() {
  for (int threads : {1, 2, 3, 4, 8}) {
    TestContext tc(threads);
    for (Family fam : families_at(threads)) {
      std::mt19937 rng(31 + threads);
      for (int i = 0; i < 60; ++i) {
        AddDesc d;
        d.size = random_size(rng, i);
        d.act = static_cast<Act>(i % 4);
        d.leaky_alpha = 0.2f;
        d.dtype = (i / 4) % 2 ? DType::I8 : DType::F32;
        d.a_q = random_q(rng);
        d.b_q = random_q(rng);
        d.out_q = {std::max(d.a_q.scale, d.b_q.scale) * rand_float(rng, 1.0f, 2.0f), rand_int(rng, -40, 40)};
        auto ref = reference::make_add(d);
        REQUIRE(ref);
        auto opt = FA_MAKE(fam, make_add, d);
        if (fam == Family::Simd || d.act != Act::LeakyRelu) CHECK(opt);
        if (!opt) continue;
        INFO(family_name(fam) << " add size " << d.size << " act " << int(d.act) << " i8 "
                              << (d.dtype == DType::I8));
        std::string report;
        if (d.dtype == DType::F32) {
          const auto a = random_f32(rng, d.size, -4, 4), b = random_f32(rng, d.size, -4, 4);
          std::vector<float> want(d.size), got(d.size);
          REQUIRE(bind_and_run(*ref, {a.data(), b.data()}, want.data(), tc.ctx()));
          REQUIRE(bind_and_run(*opt, {a.data(), b.data()}, got.data(), tc.ctx()));
          CHECK(count_mismatches_f32(want, got, one_ulp(want), &report) == 0);
        } else {
          const auto a = random_i8(rng, d.size), b = random_i8(rng, d.size);
          std::vector<int8_t> want(d.size), got(d.size);
          REQUIRE(bind_and_run(*ref, {a.data(), b.data()}, want.data(), tc.ctx()));
          REQUIRE(bind_and_run(*opt, {a.data(), b.data()}, got.data(), tc.ctx()));
          CHECK(count_mismatches_i8(want, got, fam == Family::Simd ? 0 : 1, &report) == 0);
        }
        INFO(report);
      }
    }
  }
}

TEST_CASE("add: optimised families match the reference", "[kernels][elementwise]") { add_suite(); }

static void unary_suite() {
  TestContext tc(1);
  for (Family fam : optimized_families()) {
    std::mt19937 rng(8);
    for (int i = 0; i < 80; ++i) {
      UnaryDesc d;
      d.size = random_size(rng, i % 20);
      d.dtype = i % 2 ? DType::I8 : DType::F32;
      const bool sigmoid = (i / 2) % 2 == 0;
      d.act = static_cast<Act>((i / 4) % 4);
      d.leaky_alpha = 0.1f;
      d.in_q = random_q(rng);
      d.out_q = sigmoid ? QParam{1.0f / 256.0f, -128} : (i % 3 ? d.in_q : random_q(rng));
      auto ref = sigmoid ? reference::make_sigmoid(d) : reference::make_activation(d);
      REQUIRE(ref);
      auto opt = sigmoid ? FA_MAKE(fam, make_sigmoid, d) : FA_MAKE(fam, make_activation, d);
      if (fam == Family::Xnnpack && (sigmoid || d.dtype == DType::F32)) CHECK(opt);
      if (fam == Family::Simd && d.dtype == DType::F32) CHECK(opt);
      if (!opt) continue;
      INFO(family_name(fam) << (sigmoid ? " sigmoid" : " activation") << " size " << d.size << " act "
                            << int(d.act) << " i8 " << (d.dtype == DType::I8));
      std::string report;
      if (d.dtype == DType::F32) {
        const auto x = random_f32(rng, d.size, -10, 10);
        std::vector<float> want(d.size), got(d.size);
        REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
        REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
        CHECK(count_mismatches_f32(want, got, sigmoid ? std::vector<float>{2e-6f} : one_ulp(want), &report) ==
              0);
      } else {
        const auto x = random_i8(rng, d.size);
        std::vector<int8_t> want(d.size), got(d.size);
        REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
        REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
        CHECK(count_mismatches_i8(want, got, 1, &report) == 0);
      }
      INFO(report);
    }
  }
}

TEST_CASE("sigmoid and activation: optimised families match the reference", "[kernels][elementwise]") {
  unary_suite();
}

static void convert_suite() {
  TestContext tc(2);
  for (Family fam : optimized_families()) {
    std::mt19937 rng(3);
    for (int i = 0; i < 40; ++i) {
      UnaryDesc d;
      d.size = random_size(rng, i);
      d.in_q = random_q(rng);
      d.out_q = random_q(rng);
      auto rq = reference::make_quantize(d);
      auto rd = reference::make_dequantize(d);
      auto oq = FA_MAKE(fam, make_quantize, d);
      auto od = FA_MAKE(fam, make_dequantize, d);
      CHECK((oq && od));  // both optimised families convert
      INFO(family_name(fam) << " size " << d.size);
      std::string report;
      if (oq) {
        // Include exact ties (k + 0.5 steps) and out-of-range values.
        auto x = random_f32(rng, d.size, -200 * d.out_q.scale, 200 * d.out_q.scale);
        for (size_t j = 0; j < x.size(); j += 3)
          x[j] = (std::floor(x[j] / d.out_q.scale) + 0.5f) * d.out_q.scale;
        std::vector<int8_t> want(d.size), got(d.size);
        REQUIRE(bind_and_run(*rq, {x.data()}, want.data(), tc.ctx()));
        REQUIRE(bind_and_run(*oq, {x.data()}, got.data(), tc.ctx()));
        CHECK(count_mismatches_i8(want, got, fam == Family::Simd ? 0 : 1, &report) == 0);
        INFO(report);
      }
      if (od) {
        const auto x = random_i8(rng, d.size);
        std::vector<float> want(d.size), got(d.size);
        REQUIRE(bind_and_run(*rd, {x.data()}, want.data(), tc.ctx()));
        REQUIRE(bind_and_run(*od, {x.data()}, got.data(), tc.ctx()));
        CHECK(count_mismatches_f32(want, got, one_ulp(want), &report) == 0);
        INFO(report);
      }
    }
  }
}

TEST_CASE("quantize and dequantize: optimised families match the reference", "[kernels][elementwise]") {
  convert_suite();
}

// Rounding (half away from zero) at and around exact ties: with scale 1 the
// quantiser rounds the inputs themselves, so k + 0.5, the floats just below
// and above it, and signed zeros all reach the SIMD rounding exactly.
TEST_CASE("quantize: exact ties and their neighbours round like the reference",
          "[kernels][elementwise][simd]") {
  TestContext tc(1);
  std::vector<float> x;
  for (int k = -130; k <= 130; ++k) {
    const float t = static_cast<float>(k) + 0.5f;
    for (float v : {t, std::nextafter(t, 0.0f), std::nextafter(t, 1e9f), std::nextafter(t, -1e9f),
                    static_cast<float>(k), std::nextafter(static_cast<float>(k), 1e9f)})
      x.push_back(v);
  }
  // Out of range, infinite and NaN inputs (NaN quantises to qmin); the SIMD path
  // clamps before it truncates, so these check the clamp bounds with each zero point.
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, 0.49999997f, -0.49999997f, 1e30f, -1e30f, 3e9f, -3e9f, inf, -inf,
                  std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  for (int zp : {0, -7, 12, -128, 127}) {
    UnaryDesc d;
    d.size = x.size();
    d.out_q = {1.0f, zp};
    for (Family fam : optimized_families()) {
      auto rq = reference::make_quantize(d);
      auto oq = FA_MAKE(fam, make_quantize, d);
      if (!oq || fam != Family::Simd) continue;
      std::vector<int8_t> want(d.size), got(d.size);
      REQUIRE(bind_and_run(*rq, {x.data()}, want.data(), tc.ctx()));
      REQUIRE(bind_and_run(*oq, {x.data()}, got.data(), tc.ctx()));
      std::string report;
      CHECK(count_mismatches_i8(want, got, 0, &report) == 0);
      INFO(report);
    }
  }
}

TEST_CASE("concat: optimised families copy exactly", "[kernels][elementwise]") {
  TestContext tc(2);
  for (Family fam : optimized_families()) {
    std::mt19937 rng(12);
    for (int i = 0; i < 30; ++i) {
      ConcatDesc d;
      d.outer = static_cast<size_t>(rand_int(rng, 1, 300));
      d.dtype = i % 2 ? DType::I8 : DType::F32;
      const int n = rand_int(rng, 1, 4);
      for (int j = 0; j < n; ++j) d.channels.push_back(rand_int(rng, 1, 70));
      auto ref = reference::make_concat(d);
      REQUIRE(ref);
      auto opt = FA_MAKE(fam, make_concat, d);
      if (fam == Family::Xnnpack) CHECK(opt);
      if (!opt) continue;
      const size_t elem = d.dtype == DType::F32 ? 4 : 1;
      std::vector<std::vector<unsigned char>> inputs;
      std::vector<const void*> ptrs;
      size_t total = 0;
      for (int c : d.channels) {
        std::vector<unsigned char> v(d.outer * c * elem);
        for (auto& b : v) b = static_cast<unsigned char>(rand_int(rng, 0, 255));
        inputs.push_back(std::move(v));
        total += static_cast<size_t>(c);
      }
      for (auto& v : inputs) ptrs.push_back(v.data());
      std::vector<unsigned char> want(d.outer * total * elem), got(want.size(), 0xAB);
      REQUIRE(bind_and_run(*ref, ptrs, want.data(), tc.ctx()));
      REQUIRE(bind_and_run(*opt, ptrs, got.data(), tc.ctx()));
      INFO(family_name(fam) << " concat outer " << d.outer << " inputs " << n);
      CHECK(want == got);
    }
  }
}

TEST_CASE("optimised elementwise factories decline invalid descriptors", "[kernels][elementwise]") {
  for (Family fam : optimized_families()) {
    INFO(family_name(fam));
    CHECK_FALSE(FA_MAKE(fam, make_add, AddDesc{}));
    CHECK_FALSE(FA_MAKE(fam, make_concat, ConcatDesc{}));
    ConcatDesc c;
    c.outer = 4;
    c.channels = {3, 0};
    CHECK_FALSE(FA_MAKE(fam, make_concat, c));
    UnaryDesc u;
    CHECK_FALSE(FA_MAKE(fam, make_sigmoid, u));
    u.size = 8;
    u.dtype = DType::I8;
    u.in_q.scale = 0.0f;
    CHECK_FALSE(FA_MAKE(fam, make_sigmoid, u));
    CHECK_FALSE(FA_MAKE(fam, make_activation, u));
    CHECK_FALSE(FA_MAKE(fam, make_dequantize, u));
    u.out_q.zero_point = -129;
    CHECK_FALSE(FA_MAKE(fam, make_quantize, u));
  }
}

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
// Every Highway target compiled for this CPU (SSE4 stands in for WASM SIMD128).
TEST_CASE("elementwise: simd on every compiled Highway target", "[kernels][simd]") {
  OnlyFamily only(Family::Simd);
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    add_suite();
    unary_suite();
    convert_suite();
  }
  hwy::SetSupportedTargetsForTest(0);
  faceattr::hwy_targets::warn_not_run();
}
#endif

}  // namespace faceattr::kernels::test
