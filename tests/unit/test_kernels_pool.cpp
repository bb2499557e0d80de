// Optimised pooling kernels against the reference on seeded random shapes.
// Tolerances: max pooling is exact (a selection); fp32 averages of n values in
// [-1, 1] differ by at most 2 * (n + 1) * eps (summation order plus the
// division); int8 averages by 1 LSB (rounding of the requantisation).
#include <catch2/catch.hpp>

#include "unit/test_kernels_util.h"

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
#include <hwy/targets.h>

#include "unit/hwy_targets.h"
#endif

namespace faceattr::kernels::test {
namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();

Pool2dDesc random_pool(std::mt19937& rng) {
  Pool2dDesc d;
  d.kind = rand_int(rng, 0, 1) ? PoolKind::Max : PoolKind::Average;
  d.batch = rand_int(rng, 1, 4) == 1 ? 2 : 1;
  d.channels = rand_int(rng, 1, 40);
  random_window(rng, 4, &d);
  d.in_h = std::max(rand_int(rng, 1, 12), d.kernel_h - d.pad_top - d.pad_bottom);
  d.in_w = std::max(rand_int(rng, 1, 12), d.kernel_w - d.pad_left - d.pad_right);
  d.out_h = (d.in_h + d.pad_top + d.pad_bottom - d.kernel_h) / d.stride_h + 1;
  d.out_w = (d.in_w + d.pad_left + d.pad_right - d.kernel_w) / d.stride_w + 1;
  return d;
}

std::string describe(const Pool2dDesc& d) {
  std::ostringstream os;
  os << (d.kind == PoolKind::Max ? "max " : "avg ") << (d.dtype == DType::F32 ? "f32" : "i8") << " b"
     << d.batch << " " << d.in_h << "x" << d.in_w << "x" << d.channels << " k" << d.kernel_h << "x"
     << d.kernel_w << " s" << d.stride_h << "x" << d.stride_w << " pad " << d.pad_top << "," << d.pad_left
     << "," << d.pad_bottom << "," << d.pad_right;
  return os.str();
}

bool must_serve_pool(Family fam, const Pool2dDesc& d) {
  if (fam == Family::Xnnpack) {
    return d.kernel_h * d.kernel_w > 1 && (d.dtype == DType::F32 || d.kind == PoolKind::Max);
  }
  return fam == Family::Simd;  // serves every valid pool
}

}  // namespace

static void pool2d_suite() {
  for (int threads : {1, 2, 3, 4, 8}) {
    TestContext tc(threads);
    for (Family fam : families_at(threads)) {
      std::mt19937 rng(2024 + threads);
      int served = 0;
      for (int i = 0; i < 300; ++i) {
        Pool2dDesc d = random_pool(rng);
        d.dtype = i % 2 ? DType::I8 : DType::F32;
        if (d.dtype == DType::I8) {
          d.in_q = {rand_float(rng, 0.01f, 0.1f), rand_int(rng, -20, 20)};
          d.out_q = d.kind == PoolKind::Max
                        ? d.in_q
                        : QParam{d.in_q.scale * rand_float(rng, 0.5f, 1.5f), rand_int(rng, -20, 20)};
        }
        auto ref = reference::make_pool2d(d);
        REQUIRE(ref);
        auto opt = FA_MAKE(fam, make_pool2d, d);
        INFO(family_name(fam) << " " << describe(d) << " threads " << threads);
        if (must_serve_pool(fam, d)) CHECK(opt);
        if (!opt) continue;
        ++served;
        const size_t n_in = static_cast<size_t>(d.batch) * d.in_h * d.in_w * d.channels;
        const size_t n_out = static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.channels;
        std::string report;
        if (d.dtype == DType::F32) {
          std::vector<float> want, got;
          run_pair(*ref, *opt, random_f32(rng, n_in), n_out, -7.0f, tc.ctx(), &want, &got);
          const float n = static_cast<float>(d.kernel_h * d.kernel_w);
          const float tol = d.kind == PoolKind::Max ? 0.0f : 2.0f * (n + 1.0f) * kEps;
          CHECK(count_mismatches_f32(want, got, {tol}, &report) == 0);
        } else {
          std::vector<int8_t> want, got;
          run_pair(*ref, *opt, random_i8(rng, n_in), n_out, int8_t{99}, tc.ctx(), &want, &got);
          // SIMD requantises exactly like the reference.
          const int lsb = d.kind == PoolKind::Max || fam == Family::Simd ? 0 : 1;
          CHECK(count_mismatches_i8(want, got, lsb, &report) == 0);
        }
        INFO(report);
      }
      INFO(family_name(fam) << " served " << served << "/300 pool2d cases");
      CHECK(served > 0);
    }
  }
}

TEST_CASE("pool2d: optimised families match the reference", "[kernels][pool]") { pool2d_suite(); }

static void global_avg_pool_suite() {
  for (int threads : {1, 2, 3, 4, 8}) {
    TestContext tc(threads);
    for (Family fam : families_at(threads)) {
      std::mt19937 rng(7 + threads);
      for (int i = 0; i < 80; ++i) {
        GlobalAvgPoolDesc d;
        d.batch = rand_int(rng, 1, 2);
        d.in_h = i == 0 ? 20 : rand_int(rng, 1, 12);
        d.in_w = i == 0 ? 16 : rand_int(rng, 1, 12);
        d.channels = i == 0 ? 256 : rand_int(rng, 1, 140);
        d.dtype = i % 2 ? DType::I8 : DType::F32;
        d.in_q = {rand_float(rng, 0.01f, 0.1f), rand_int(rng, -20, 20)};
        d.out_q = {d.in_q.scale * rand_float(rng, 0.1f, 1.0f), rand_int(rng, -20, 20)};
        auto ref = reference::make_global_avg_pool(d);
        REQUIRE(ref);
        auto opt = FA_MAKE(fam, make_global_avg_pool, d);
        CHECK(opt);  // both optimised families serve every valid global average pool
        if (!opt) continue;
        INFO(family_name(fam) << " gap " << d.batch << "x" << d.in_h << "x" << d.in_w << "x" << d.channels
                              << (d.dtype == DType::F32 ? " f32" : " i8"));
        const size_t n_in = static_cast<size_t>(d.batch) * d.in_h * d.in_w * d.channels;
        const size_t n_out = static_cast<size_t>(d.batch) * d.channels;
        std::string report;
        if (d.dtype == DType::F32) {
          std::vector<float> want, got;
          run_pair(*ref, *opt, random_f32(rng, n_in), n_out, -7.0f, tc.ctx(), &want, &got);
          const float tol = 2.0f * (static_cast<float>(d.in_h * d.in_w) + 1.0f) * kEps;
          const size_t bad = count_mismatches_f32(want, got, {tol}, &report);
          INFO(report);
          CHECK(bad == 0);
        } else {
          std::vector<int8_t> want, got;
          run_pair(*ref, *opt, random_i8(rng, n_in), n_out, int8_t{99}, tc.ctx(), &want, &got);
          const size_t bad = count_mismatches_i8(want, got, fam == Family::Simd ? 0 : 1, &report);
          INFO(report);
          CHECK(bad == 0);
        }
      }
    }
  }
}

TEST_CASE("global average pool: optimised families match the reference", "[kernels][pool]") {
  global_avg_pool_suite();
}

TEST_CASE("optimised pool factories decline invalid descriptors", "[kernels][pool]") {
  for (Family fam : optimized_families()) {
    INFO(family_name(fam));
    Pool2dDesc p;
    p.in_h = p.in_w = 4;
    p.channels = 3;
    p.kernel_h = p.kernel_w = 2;
    p.out_h = p.out_w = 3;
    p.out_w = 4;  // wrong
    CHECK_FALSE(FA_MAKE(fam, make_pool2d, p));
    p.out_w = 3;
    p.dtype = DType::I8;
    p.out_q.scale = 2.0f;  // int8 max pool must keep the quantisation
    CHECK_FALSE(FA_MAKE(fam, make_pool2d, p));
    GlobalAvgPoolDesc g;
    CHECK_FALSE(FA_MAKE(fam, make_global_avg_pool, g));
  }
}

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
// Every Highway target compiled for this CPU (SSE4 stands in for WASM SIMD128).
TEST_CASE("pooling: simd on every compiled Highway target", "[kernels][simd]") {
  OnlyFamily only(Family::Simd);
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    pool2d_suite();
    global_avg_pool_suite();
  }
  hwy::SetSupportedTargetsForTest(0);
  faceattr::hwy_targets::warn_not_run();
}
#endif

}  // namespace faceattr::kernels::test
