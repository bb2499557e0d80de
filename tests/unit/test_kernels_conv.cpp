// Optimised conv2d / fully connected kernels against the reference on many
// seeded random shapes and on the model's layer shapes.
//
// fp32 tolerance, per output element: any summation order of K products has
// error <= K * eps * S (S = sum of |x||w| + |bias| over the window, computed by
// running the reference on absolute values), so two implementations differ by
// at most 2 * K * eps * S; LeakyRelu scales that by max(1, |alpha|).
// int8 tolerance: 1 LSB (XNNPACK rounds ties and requantises its own way), and
// fewer than 2% of elements may differ at all.
#include <catch2/catch.hpp>

#include "unit/test_kernels_util.h"

#if defined(FACEATTR_HAVE_SIMD)
#include "kernels/simd/simd_kernels.h"
#endif

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
#include <hwy/targets.h>

#include "unit/hwy_targets.h"
#endif

namespace faceattr::kernels::test {
namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();

Act random_act(std::mt19937& rng) { return static_cast<Act>(rand_int(rng, 0, 3)); }

// Leaky slopes: mostly trained-like ones in [0.01, 0.3]; also 0, 1 and slopes
// outside [0, 1], which the int8 epilogues apply by a select where they use
// max(s, alpha s) inside it.
float random_slope(std::mt19937& rng) {
  switch (rand_int(rng, 0, 7)) {
    case 0:
      return 0.0f;
    case 1:
      return 1.0f;
    case 2:
      return rand_float(rng, 1.1f, 2.0f);
    case 3:
      return rand_float(rng, -0.5f, -0.01f);
    default:
      return rand_float(rng, 0.01f, 0.3f);
  }
}

Conv2dDesc finish_conv(Conv2dDesc d) {
  d.out_h = (d.in_h + d.pad_top + d.pad_bottom - d.kernel_h) / d.stride_h + 1;
  d.out_w = (d.in_w + d.pad_left + d.pad_right - d.kernel_w) / d.stride_w + 1;
  return d;
}

// Random shapes: odd channel counts, 1x1 spatial, kernels larger than the
// input (covered by padding), strides 1-3, groups, depthwise, batch 2.
Conv2dDesc random_conv(std::mt19937& rng) {
  for (;;) {
    Conv2dDesc d;
    d.batch = rand_int(rng, 1, 4) == 1 ? 2 : 1;
    d.in_h = rand_int(rng, 1, 11);
    d.in_w = rand_int(rng, 1, 11);
    const int mode = rand_int(rng, 0, 3);  // dense, grouped, depthwise, depthwise x2
    if (mode == 0) {
      d.in_c = rand_int(rng, 1, 40);
      d.out_c = rand_int(rng, 1, 40);
    } else if (mode == 1) {
      d.groups = rand_int(rng, 2, 4);
      d.in_c = d.groups * rand_int(rng, 1, 6);
      d.out_c = d.groups * rand_int(rng, 1, 6);
    } else {
      d.groups = d.in_c = rand_int(rng, 1, 37);
      d.out_c = d.in_c * (mode == 2 ? 1 : 2);
    }
    random_window(rng, 5, &d);
    d.act = random_act(rng);
    d.leaky_alpha = random_slope(rng);
    if (d.in_h + d.pad_top + d.pad_bottom < d.kernel_h || d.in_w + d.pad_left + d.pad_right < d.kernel_w)
      continue;
    return finish_conv(d);
  }
}

Conv2dDesc conv(int h, int w, int ic, int oc, int k, int s, int pad, int groups, Act act) {
  Conv2dDesc d;
  d.in_h = h;
  d.in_w = w;
  d.in_c = ic;
  d.out_c = oc;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = s;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
  d.groups = groups;
  d.act = act;
  return finish_conv(d);
}

// Layer shapes like the ANet/LNet models (smaller spatially to keep tests fast).
std::vector<Conv2dDesc> layer_convs() {
  std::vector<Conv2dDesc> v = {
      conv(40, 32, 3, 32, 3, 2, 1, 1, Act::Relu),      // first layer, stride 2
      conv(20, 16, 32, 32, 3, 1, 1, 32, Act::Relu6),   // depthwise 3x3
      conv(21, 17, 24, 24, 3, 2, 1, 24, Act::Relu),    // depthwise 3x3 stride 2, odd size
      conv(20, 16, 32, 64, 1, 1, 0, 1, Act::Relu),     // pointwise
      conv(10, 8, 128, 256, 1, 1, 0, 1, Act::None),    // wide pointwise
      conv(5, 4, 67, 45, 1, 1, 0, 1, Act::LeakyRelu),  // pointwise, odd channels
      conv(12, 10, 16, 48, 3, 1, 1, 1, Act::Relu),     // dense 3x3
      conv(1, 1, 64, 40, 3, 1, 1, 1, Act::None),       // 1x1 spatial, 3x3 kernel
      conv(9, 7, 8, 16, 5, 2, 2, 2, Act::Relu),        // grouped 5x5 stride 2
      // 3x3 stride 1 runs on Winograd F(2x2, 3x3) in the SIMD family: odd
      // and even output sizes, pads 0-2, channels off the vector width, batch 2.
      conv(11, 9, 24, 24, 3, 1, 1, 1, Act::LeakyRelu),
      conv(5, 4, 96, 96, 3, 1, 1, 1, Act::Relu6),
      conv(7, 5, 33, 20, 3, 1, 1, 1, Act::LeakyRelu),  // int8 Winograd from 32 input channels
      conv(6, 7, 32, 17, 3, 1, 0, 1, Act::Relu),
      conv(7, 6, 9, 13, 3, 1, 0, 1, Act::None),
      conv(6, 5, 17, 8, 3, 1, 2, 1, Act::Relu),
      conv(3, 2, 8, 8, 3, 1, 1, 1, Act::None),
      // Few tiles, many output channels. With 2+ threads: no more tiles than one
      // register tile's rows, the run goes by element (fp32 and int8); a few
      // register tiles of rows, equal blocks of tiles (fp32 F(2x2) below 16
      // input channels, int8 from 32), or with 4 threads panel groups (the
      // last one short, 200 off the panel width).
      conv(5, 4, 40, 200, 3, 1, 1, 1, Act::Relu),
      conv(10, 8, 12, 200, 3, 1, 1, 1, Act::Relu),
      conv(10, 8, 40, 200, 3, 1, 1, 1, Act::LeakyRelu),
      conv(4, 7, 40, 32, 3, 1, 1, 1, Act::Relu),  // 8 tiles: panel groups on 4 threads
      // int8 dense convs read a zero-padded copy and merge the taps of a
      // window row: first-layer-like 3 channels, stride 2 and 3, odd widths.
      conv(13, 11, 3, 16, 3, 2, 1, 1, Act::Relu),
      conv(10, 9, 5, 7, 5, 3, 2, 1, Act::None),
      // Output channels that 2-vector panels would pad run on 3-vector panels
      // (24 with 8 lanes, 12 with 4): LNet's 16 -> 24 stride-2 and 3 -> 24 layers.
      conv(14, 12, 16, 24, 3, 2, 1, 1, Act::Relu),
      conv(13, 10, 3, 24, 3, 2, 1, 1, Act::Relu),
      conv(9, 8, 20, 12, 3, 2, 1, 1, Act::LeakyRelu),
      // One output channel runs as a dot product per output pixel (gemv):
      // LNet's 1x1 output layer, channels off the vector width, odd int8 pairs,
      // a merged first-layer-like 3x3 and a 5x5 stride 2.
      conv(15, 20, 48, 1, 1, 1, 0, 1, Act::None),
      conv(7, 6, 37, 1, 1, 1, 0, 1, Act::LeakyRelu),
      conv(11, 9, 3, 1, 3, 2, 1, 1, Act::Relu),
      conv(9, 10, 13, 1, 5, 2, 2, 1, Act::Relu6),
      // int8 Winograd input transform: 45 channels = two full int16 vectors, a
      // half vector and 5 scalar channels with AVX2 (40 above: no scalar ones).
      conv(6, 5, 45, 24, 3, 1, 1, 1, Act::Relu),
      // fp32 Winograd F(4x4, 3x3) (layers with enough 4x4 tiles): LNet's
      // 15x20x48, partial tiles at odd sizes, pads 0 and 2, 17 channels (a
      // channel past the last vector), batch 2.
      conv(15, 20, 48, 48, 3, 1, 1, 1, Act::Relu),
      conv(18, 22, 24, 24, 3, 1, 1, 1, Act::Relu6),
      conv(18, 15, 20, 16, 3, 1, 0, 1, Act::None),
      conv(12, 14, 17, 24, 3, 1, 2, 1, Act::LeakyRelu),
  };
  v[0].batch = 2;
  v[9].batch = 2;
  v[11].batch = 2;
  v[14].pad_top = 0;  // asymmetric padding
  v[14].pad_right = 0;
  v[14] = finish_conv(v[14]);
  v[v.size() - 2].batch = 2;
  return v;
}

struct ConvData {
  std::vector<float> wf, bf, ws;
  std::vector<int8_t> wq;
  std::vector<int32_t> bq;
};

ConvData random_weights(std::mt19937& rng, const Conv2dDesc& d, bool with_bias) {
  ConvData c;
  const size_t k = static_cast<size_t>(d.kernel_h) * d.kernel_w * (d.in_c / d.groups);
  const size_t n = k * d.out_c;
  if (d.dtype == DType::F32) {
    c.wf = random_f32(rng, n, -1.0f, 1.0f);
    if (with_bias) c.bf = random_f32(rng, d.out_c, -1.0f, 1.0f);
  } else {
    c.wq = random_i8(rng, n, -127, 127);
    c.ws = random_f32(rng, d.out_c, 0.002f, 0.02f);
    const int br = static_cast<int>(3000 * std::sqrt(static_cast<float>(k)));
    if (with_bias) c.bq = random_i32(rng, d.out_c, -br, br);
  }
  return c;
}

ConvWeights view(const ConvData& c) {
  if (!c.wf.empty()) return {c.wf.data(), nullptr, c.bf.empty() ? nullptr : c.bf.data()};
  return {c.wq.data(), c.ws.data(), c.bq.empty() ? nullptr : c.bq.data()};
}

// Quantisation that spreads int8 outputs over most of the range.
void random_quant(std::mt19937& rng, Conv2dDesc* d, const std::vector<float>& ws) {
  const float k = static_cast<float>(d->kernel_h * d->kernel_w * (d->in_c / d->groups));
  d->in_q = {rand_float(rng, 0.01f, 0.05f), rand_int(rng, -20, 20)};
  float mean_ws = 0;
  for (float s : ws) mean_ws += s / ws.size();
  d->out_q = {d->in_q.scale * mean_ws * std::sqrt(k) * 135.0f, rand_int(rng, -30, 30)};
}

std::string describe(const Conv2dDesc& d) {
  std::ostringstream os;
  os << (d.dtype == DType::F32 ? "f32" : "i8") << " b" << d.batch << " " << d.in_h << "x" << d.in_w << "x"
     << d.in_c << " -> " << d.out_h << "x" << d.out_w << "x" << d.out_c << " k" << d.kernel_h << "x"
     << d.kernel_w << " s" << d.stride_h << "x" << d.stride_w << " pad " << d.pad_top << "," << d.pad_left
     << "," << d.pad_bottom << "," << d.pad_right << " g" << d.groups << " act" << static_cast<int>(d.act);
  return os.str();
}

// Compares one family against the reference on one descriptor; returns false
// when the family declined it (nullptr).
bool check_conv(Family fam, Conv2dDesc d, std::mt19937& rng, const ExecContext& ctx) {
  const bool with_bias = rand_int(rng, 0, 3) != 0;
  ConvData w = random_weights(rng, d, with_bias);
  if (d.dtype == DType::I8) random_quant(rng, &d, w.ws);
  auto ref = reference::make_conv2d(d, view(w));
  REQUIRE(ref);
  auto opt = FA_MAKE(fam, make_conv2d, d, view(w));
  if (!opt) return false;
  const size_t n_in = static_cast<size_t>(d.batch) * d.in_h * d.in_w * d.in_c;
  const size_t n_out = static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.out_c;
  INFO(family_name(fam) << " " << describe(d));
  std::string report;
  if (d.dtype == DType::F32) {
    const auto x = random_f32(rng, n_in, -1.0f, 1.0f);
    std::vector<float> want(n_out), got(n_out, -7.0f), sum_abs(n_out);
    REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), ctx));
    REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), ctx));
    // S per element: the reference run on absolute values without activation.
    Conv2dDesc da = d;
    da.act = Act::None;
    ConvData wa{abs_values(w.wf), abs_values(w.bf), {}, {}, {}};
    auto abs_k = reference::make_conv2d(da, view(wa));
    const auto xa = abs_values(x);
    REQUIRE(bind_and_run(*abs_k, {xa.data()}, sum_abs.data(), ctx));
    const float k = static_cast<float>(d.kernel_h * d.kernel_w * (d.in_c / d.groups) + 1);
    const float lip = d.act == Act::LeakyRelu ? std::max(1.0f, std::fabs(d.leaky_alpha)) : 1.0f;
    std::vector<float> tol(n_out);
    for (size_t i = 0; i < n_out; ++i) tol[i] = 2.0f * k * kEps * sum_abs[i] * lip + 1e-30f;
    const size_t bad = count_mismatches_f32(want, got, tol, &report);
    INFO(report);
    CHECK(bad == 0);
    // Run again on the same binding: kernels must be re-runnable.
    std::fill(got.begin(), got.end(), -7.0f);
    opt->run(ctx);
    CHECK(count_mismatches_f32(want, got, tol, nullptr) == 0);
  } else {
    const auto x = random_i8(rng, n_in);
    std::vector<int8_t> want(n_out), got(n_out, 99);
    REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), ctx));
    REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), ctx));
    // SIMD requantises exactly like the reference; XNNPACK may differ by 1 LSB.
    const size_t bad = count_mismatches_i8(want, got, fam == Family::Simd ? 0 : 1, &report);
    INFO(report);
    CHECK(bad == 0);
    CHECK(fraction_different_i8(want, got) < 0.02);
  }
  return true;
}

// Which descriptors a family must accept (so these tests are never vacuous).
bool must_serve_conv(Family fam, const Conv2dDesc& d) {
  if (fam == Family::Xnnpack) return d.dtype == DType::F32 || d.act != Act::LeakyRelu;
  return fam == Family::Simd;  // the SIMD family serves every valid conv2d
}

void run_conv_suite(DType dtype, int threads, int n_random, uint32_t seed,
                    const std::vector<Family>& families = optimized_families()) {
  TestContext tc(threads);
  for (Family fam : families) {
    std::mt19937 rng(seed);
    int served = 0, total = 0;
    auto one = [&](Conv2dDesc d) {
      d.dtype = dtype;
      const bool ok = check_conv(fam, d, rng, tc.ctx());
      if (must_serve_conv(fam, d)) {
        INFO(family_name(fam) << " declined " << describe(d));
        CHECK(ok);
      }
      served += ok;
      ++total;
    };
    for (const auto& d : layer_convs()) one(d);
    for (int i = 0; i < n_random; ++i) one(random_conv(rng));
    INFO(family_name(fam) << " served " << served << "/" << total << " conv2d cases");
    CHECK(served > 0);
  }
}

}  // namespace

TEST_CASE("conv2d fp32: optimised families match the reference", "[kernels][conv]") {
  run_conv_suite(DType::F32, 1, 150, 1234);
}

TEST_CASE("conv2d fp32 with 2 threads", "[kernels][conv]") { run_conv_suite(DType::F32, 2, 40, 99); }

TEST_CASE("conv2d int8: optimised families within 1 LSB of the reference", "[kernels][conv]") {
  run_conv_suite(DType::I8, 1, 150, 4321);
}

TEST_CASE("conv2d int8 with 2 threads", "[kernels][conv]") { run_conv_suite(DType::I8, 2, 40, 77); }

// Integer Winograd (SIMD int8 3x3 stride 1) sums up to 9 x 1020 x sum|U'| in
// int32: extreme weights (every tap +-127, the largest |U'|) and extreme inputs
// (x - zero point = +-255) at the channel count where the bound still fits
// (192) and beyond (256, where the kernel must fall back to the direct path),
// all exact against the reference.
TEST_CASE("conv2d int8 3x3: extreme weights and inputs stay exact", "[kernels][conv][simd]") {
  if (!family_available(Family::Simd)) return;
  std::mt19937 rng(2024);
  TestContext tc(2);
  for (int channels : {192, 256}) {
    Conv2dDesc d = conv(4, 5, channels, 16, 3, 1, 1, 1, Act::None);
    d.dtype = DType::I8;
    ConvData w;
    w.wq.resize(static_cast<size_t>(9) * channels * d.out_c);
    for (size_t i = 0; i < w.wq.size(); ++i) w.wq[i] = (i / 9 + i / 7) % 2 ? 127 : -127;
    w.ws.assign(d.out_c, 0.01f);
    w.bq = random_i32(rng, d.out_c, -1000, 1000);
    d.in_q = {0.02f, 127};  // inputs -128: x - zero point = -255
    d.out_q = {2.0f, 3};    // multiplier 1e-4: typical sums land mid-range
    std::vector<int8_t> x(static_cast<size_t>(d.in_h) * d.in_w * channels + kInputSlackBytes);
    for (size_t i = 0; i < x.size(); ++i) x[i] = rand_int(rng, 0, 3) ? -128 : 127;
    auto ref = reference::make_conv2d(d, view(w));
    auto opt = simd::make_conv2d(d, view(w));
    REQUIRE(ref);
    REQUIRE(opt);
    const size_t n_out = static_cast<size_t>(d.out_h) * d.out_w * d.out_c;
    std::vector<int8_t> want(n_out + kInputSlackBytes), got(n_out + kInputSlackBytes, 99);
    REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
    REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
    std::string report;
    want.resize(n_out);
    got.resize(n_out);
    INFO(channels << " channels");
    CHECK(count_mismatches_i8(want, got, 0, &report) == 0);
    INFO(report);
    CHECK(fraction_different_i8(want, got) == 0.0);
  }
}

#if defined(FACEATTR_HAVE_SIMD)
// Weights in [-64, 64] (7-bit exports) take the exact u8 x s8 pmaddubsw path on
// AVX2 (simd::conv2d_i8_takes_u8; other targets keep the int16 path): every
// shape bit-identical to the reference, including input channels off 4 (K
// padded), outputs off the panel width, padding (u = zp + 128), strides, zero
// points -128 / 127, weights exactly +-64 with inputs at the extremes, outputs
// far out of range. One weight of 65 falls back to the int16 path, also exact.
TEST_CASE("conv2d int8 with 7-bit weights: the u8 x s8 path is exact", "[kernels][conv][simd]") {
  if (!family_available(Family::Simd)) return;
  const bool u8 = simd::gemm_u8_available();
  std::mt19937 rng(777);
  std::vector<Conv2dDesc> shapes = {
      conv(40, 32, 3, 32, 3, 2, 1, 1, Act::Relu),       // first layer: 9 merged channels
      conv(20, 16, 32, 64, 1, 1, 0, 1, Act::Relu),      // pointwise
      conv(5, 4, 67, 45, 1, 1, 0, 1, Act::LeakyRelu),   // channels off 4, outputs off the panel
      conv(9, 7, 5, 24, 3, 2, 1, 1, Act::Relu6),        // 3-vector panel, stride 2
      conv(6, 7, 13, 17, 3, 1, 1, 1, Act::LeakyRelu),   // 3x3 stride 1, direct (13 channels)
      conv(10, 8, 48, 40, 3, 1, 1, 1, Act::Relu),       // 3x3 stride 1, 48 channels: direct u8, not Winograd
      conv(7, 6, 9, 13, 3, 2, 0, 1, Act::None),         // no padding
      conv(1, 1, 64, 40, 3, 1, 1, 1, Act::None),        // all but one tap in the padding
      conv(11, 9, 6, 100, 5, 2, 2, 1, Act::LeakyRelu),  // 5x5, several panels, a partial one
      conv(3, 5, 2, 2, 1, 1, 0, 1, Act::Relu),          // two output channels
  };
  shapes[3].pad_right = shapes[3].pad_bottom = 0;  // asymmetric
  shapes[3] = finish_conv(shapes[3]);
  shapes[1].batch = shapes[8].batch = 2;
  TestContext tc1(1), tc2(2);
  int idx = 0;
  for (Conv2dDesc d : shapes) {
    for (int variant = 0; variant < 5; ++variant, ++idx) {
      d.dtype = DType::I8;
      ConvData w = random_weights(rng, d, variant != 1);
      random_quant(rng, &d, w.ws);
      for (auto& v : w.wq) v = static_cast<int8_t>(rand_int(rng, -64, 64));
      w.wq[0] = 64;
      w.wq[w.wq.size() - 1] = -64;
      const size_t n_in = static_cast<size_t>(d.batch) * d.in_h * d.in_w * d.in_c;
      std::vector<int8_t> x = random_i8(rng, n_in + kInputSlackBytes);
      if (variant == 2) d.in_q.zero_point = -128;
      if (variant == 3) {  // extremes: x - zp = +-255 against weights +-64
        d.in_q.zero_point = 127;
        for (size_t i = 0; i < w.wq.size(); ++i) w.wq[i] = (i / 3 + i / 5) % 2 ? 64 : -64;
        for (auto& v : x) v = rand_int(rng, 0, 3) ? -128 : 127;
        d.out_q.scale *= 4;
      }
      // Multipliers so large that sums x multiplier pass 2^31 (most outputs
      // saturate): the epilogue must clamp before converting to int32.
      if (variant == 4) d.out_q.scale = 1e-12f;
      if (variant == 1) w.wq[w.wq.size() / 2] = 65;  // one weight out of range: the int16 path
      // Leaky slopes inside [0, 1] (max(s, alpha s)), at its ends and outside it (a select).
      constexpr float kSlopes[] = {0.1f, 1.0f, -0.3f, 1.7f, 0.0f};
      d.leaky_alpha = kSlopes[idx % 5];
      INFO(describe(d) << " variant " << variant << " in zp " << d.in_q.zero_point << " slope "
                       << d.leaky_alpha);
      CHECK(simd::conv2d_i8_takes_u8(d, view(w)) == (u8 && variant != 1));
      auto ref = reference::make_conv2d(d, view(w));
      auto opt = simd::make_conv2d(d, view(w));
      REQUIRE(ref);
      REQUIRE(opt);
      const size_t n_out = static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.out_c;
      std::vector<int8_t> want(n_out), got(n_out, 99);
      const ExecContext& ctx = idx % 2 ? tc2.ctx() : tc1.ctx();
      REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), ctx));
      REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), ctx));
      std::string report;
      CHECK(count_mismatches_i8(want, got, 0, &report) == 0);
      INFO(report);
      std::fill(got.begin(), got.end(), 99);  // re-runnable on the same binding
      opt->run(ctx);
      CHECK(count_mismatches_i8(want, got, 0, nullptr) == 0);
    }
  }
  // Fully connected (a 1x1 conv underneath) with 7-bit weights.
  FullyConnectedDesc fd;
  fd.batch = 3;
  fd.in_features = 75;
  fd.out_features = 21;
  fd.dtype = DType::I8;
  fd.act = Act::Relu;
  fd.in_q = {0.03f, -128};
  fd.out_q = {0.05f, 4};
  ConvData w;
  w.wq = random_i8(rng, static_cast<size_t>(fd.in_features) * fd.out_features, -64, 64);
  w.ws = random_f32(rng, fd.out_features, 0.002f, 0.02f);
  w.bq = random_i32(rng, fd.out_features, -3000, 3000);
  auto ref = reference::make_fully_connected(fd, view(w));
  auto opt = simd::make_fully_connected(fd, view(w));
  REQUIRE(ref);
  REQUIRE(opt);
  const auto x = random_i8(rng, static_cast<size_t>(fd.batch) * fd.in_features + kInputSlackBytes);
  std::vector<int8_t> want(static_cast<size_t>(fd.batch) * fd.out_features), got(want.size(), 99);
  REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc1.ctx()));
  REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc1.ctx()));
  CHECK(count_mismatches_i8(want, got, 0, nullptr) == 0);
}
#endif

#if defined(FACEATTR_HAVE_SIMD)
// ReLU (and no activation with output zero point -128) requantises by the
// floor_saturate epilogue (the lower clamp before rounding, the upper one by the
// saturating narrow) where |sum x multiplier| < 2^30 for every input: the int16
// path (8-bit weights) on the direct GEMM and on Winograd (48 channels; on wasm
// also its 4-vector panels), bit-identical to the reference with multipliers just
// inside that bound (extreme inputs and weights: sums x multiplier near 2^30,
// most outputs saturated), far outside it (past 2^31, where the usual epilogue
// must run), and typical. Output channels in whole panels of every target (32,
// 48: the epilogue runs on full panels only) and not (40). Natively on every
// compiled Highway target (SSE4 stands in for wasm's 128-bit panels).
namespace {
void check_floor_saturate(uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<Conv2dDesc> shapes = {
      conv(40, 32, 3, 32, 3, 2, 1, 1, Act::Relu),   // first layer: 9 merged channels
      conv(10, 8, 48, 48, 3, 1, 1, 1, Act::Relu),   // Winograd
      conv(12, 10, 32, 40, 3, 1, 1, 1, Act::None),  // output zero point -128; a partial panel
      conv(9, 7, 16, 48, 1, 1, 0, 1, Act::Relu),    // pointwise
  };
  TestContext tc(1);
  for (Conv2dDesc d : shapes) {
    for (int variant = 0; variant < 3; ++variant) {
      d.dtype = DType::I8;
      ConvData w = random_weights(rng, d, true);
      w.wq[0] = 127;  // 8-bit weights: the int16 path, never the u8 one
      const size_t n_in = static_cast<size_t>(d.batch) * d.in_h * d.in_w * d.in_c;
      std::vector<int8_t> x = random_i8(rng, n_in + kInputSlackBytes);
      random_quant(rng, &d, w.ws);
      if (d.act == Act::None) d.out_q.zero_point = -128;
      if (variant < 2) {        // extremes, multipliers 0.99 or 64 x 2^30 / max |sum|
        d.in_q = {0.02f, 127};  // x - zero point in {-255, 0}
        for (auto& v : x) v = rand_int(rng, 0, 3) ? -128 : 127;
        for (size_t i = 0; i < w.wq.size(); ++i) w.wq[i] = (i / 3 + i / 7) % 2 ? 127 : -127;
        const double k = static_cast<double>(w.wq.size() / static_cast<size_t>(d.out_c));
        double worst = 0;
        for (int oc = 0; oc < d.out_c; ++oc) {
          worst = std::max(worst, std::fabs(static_cast<double>(w.bq[oc])) + 255.0 * 127.0 * k);
          w.ws[oc] = 0.01f;
        }
        const double mult = (variant == 0 ? 0.99 : 64.0) * 1073741824.0 / worst;
        d.out_q.scale = static_cast<float>(0.02 * 0.01 / mult);
        // A zero point >= 0: on x86 an overflowed truncation (INT_MIN) plus a
        // negative one would wrap to a large positive value and store 127.
        if (d.act == Act::Relu) d.out_q.zero_point = 5;
      }
      INFO(describe(d) << " variant " << variant);
      CHECK_FALSE(simd::conv2d_i8_takes_u8(d, view(w)));
      auto ref = reference::make_conv2d(d, view(w));
      auto opt = simd::make_conv2d(d, view(w));
      REQUIRE(ref);
      REQUIRE(opt);
      const size_t n_out = static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.out_c;
      std::vector<int8_t> want(n_out), got(n_out, 99);
      REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
      REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
      std::string report;
      CHECK(count_mismatches_i8(want, got, 0, &report) == 0);
      INFO(report);
    }
  }
}
}  // namespace

TEST_CASE("conv2d int8 ReLU: the floor_saturate epilogue is exact up to its bound", "[kernels][conv][simd]") {
  if (!family_available(Family::Simd)) return;
#if defined(__EMSCRIPTEN__)
  check_floor_saturate(4242);
#else
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    check_floor_saturate(4242);
  }
  hwy::SetSupportedTargetsForTest(0);
#endif
}
#endif

// Three threads: the pool's per-thread ranges and stealing split work unevenly.
// Four: Winograd layers with a few register tiles of rows split their panels.
// Eight (more threads than most test machines' cores, often more than the rows
// or panels of a layer): ranges of one chunk or none, most work stolen. XNNPACK
// runs at 3 and 4 threads only (families_at).
TEST_CASE("conv2d with 3, 4 and 8 threads", "[kernels][conv]") {
  run_conv_suite(DType::F32, 3, 20, 303);
  run_conv_suite(DType::I8, 3, 20, 304);
  run_conv_suite(DType::F32, 4, 10, 305);
  run_conv_suite(DType::I8, 4, 10, 306);
  run_conv_suite(DType::F32, 8, 10, 307, families_at(8));
  run_conv_suite(DType::I8, 8, 10, 308, families_at(8));
}

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
// The panel width and tile code differ per Highway target (128-bit SSE4 is the
// stand-in for WASM SIMD128); check every target compiled for this CPU.
TEST_CASE("conv2d simd: every compiled Highway target matches the reference", "[kernels][conv][simd]") {
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    run_conv_suite(DType::F32, 1, 30, target, {Family::Simd});
    run_conv_suite(DType::I8, 1, 30, target + 1, {Family::Simd});
  }
  hwy::SetSupportedTargetsForTest(0);
  faceattr::hwy_targets::warn_not_run();
}

// fp32 on an AVX-512 target with the AVX2 target's 256-bit panels (what Zen 4 runs
// for layers that 512-bit panels would pad), forced for every channel count: every
// AVX-512 target this CPU runs, with AVX2 beside it.
TEST_CASE("conv2d simd fp32: 256-bit panels on AVX-512 targets match the reference",
          "[kernels][conv][simd]") {
  namespace ks = faceattr::kernels::simd;
  int checked = 0;
  ks::set_gemm_f32_narrow(true);
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
#if HWY_ARCH_X86
    hwy::SetSupportedTargetsForTest(target | HWY_AVX2);
#else
    hwy::SetSupportedTargetsForTest(target);
#endif
    if (ks::gemm_f32_narrow() != 2) continue;
    INFO("Highway target " << hwy::TargetName(target) << " with 256-bit panels");
    CHECK(ks::gemm_f32_panel_width(2, true) == 16);
    run_conv_suite(DType::F32, 1, 40, target + 7, {Family::Simd});
    run_conv_suite(DType::F32, 2, 10, target + 8, {Family::Simd});
    ++checked;
  }
  ks::set_gemm_f32_narrow(false);
  hwy::SetSupportedTargetsForTest(0);
  if (checked == 0) WARN("no AVX-512 target runs on this CPU: the 256-bit panel path was not checked here");
}
#endif

TEST_CASE("fully connected: optimised families match the reference", "[kernels][fc]") {
  for (int threads : {1, 2, 3, 4, 8}) {
    TestContext tc(threads);
    for (Family fam : families_at(threads)) {
      std::mt19937 rng(555 + threads);
      for (int i = 0; i < 80; ++i) {
        FullyConnectedDesc d;
        d.batch = rand_int(rng, 1, 3);
        d.in_features = i < 4 ? std::vector<int>{256, 1, 640, 1000}[i] : rand_int(rng, 1, 300);
        d.out_features = i < 4 ? std::vector<int>{40, 1, 80, 3}[i] : rand_int(rng, 1, 70);
        d.act = random_act(rng);
        d.leaky_alpha = 0.1f;
        d.dtype = i % 2 ? DType::I8 : DType::F32;
        // Reuse the conv machinery: an FC layer is a 1x1 conv over a batch x 1 x 1 image.
        Conv2dDesc c = conv(1, 1, d.in_features, d.out_features, 1, 1, 0, 1, d.act);
        c.batch = d.batch;
        c.dtype = d.dtype;
        c.leaky_alpha = d.leaky_alpha;
        ConvData w = random_weights(rng, c, i % 3 != 0);
        if (d.dtype == DType::I8) {
          random_quant(rng, &c, w.ws);
          d.in_q = c.in_q;
          d.out_q = c.out_q;
        }
        auto ref = reference::make_fully_connected(d, view(w));
        auto ref_conv = reference::make_conv2d(c, view(w));
        REQUIRE(ref);
        REQUIRE(ref_conv);
        auto opt = FA_MAKE(fam, make_fully_connected, d, view(w));
        if (fam == Family::Simd || d.dtype == DType::F32 || d.act != Act::LeakyRelu) CHECK(opt);
        if (!opt) continue;
        INFO(family_name(fam) << " fc " << describe(c) << " threads " << threads);
        const size_t n_in = static_cast<size_t>(d.batch) * d.in_features;
        const size_t n_out = static_cast<size_t>(d.batch) * d.out_features;
        std::string report;
        if (d.dtype == DType::F32) {
          const auto x = random_f32(rng, n_in);
          std::vector<float> want(n_out), want_conv(n_out), got(n_out);
          REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
          REQUIRE(bind_and_run(*ref_conv, {x.data()}, want_conv.data(), tc.ctx()));
          REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
          CHECK(want == want_conv);  // the reference FC is exactly the 1x1 reference conv
          // Bound as for conv, with S <= K * max|x| * max|w| + |b| <= K + 1 for inputs in [-1, 1].
          const float k = static_cast<float>(d.in_features + 1);
          const float tol = 2.0f * k * kEps * k * 0.3f * (d.act == Act::LeakyRelu ? 1.0f : 1.0f) + 1e-6f;
          CHECK(count_mismatches_f32(want, got, {tol}, &report) == 0);
          INFO(report);
        } else {
          const auto x = random_i8(rng, n_in);
          std::vector<int8_t> want(n_out), want_conv(n_out), got(n_out);
          REQUIRE(bind_and_run(*ref, {x.data()}, want.data(), tc.ctx()));
          REQUIRE(bind_and_run(*ref_conv, {x.data()}, want_conv.data(), tc.ctx()));
          REQUIRE(bind_and_run(*opt, {x.data()}, got.data(), tc.ctx()));
          CHECK(want == want_conv);
          CHECK(count_mismatches_i8(want, got, 1, &report) == 0);
          INFO(report);
        }
      }
    }
  }
}

TEST_CASE("optimised conv factories decline invalid descriptors", "[kernels][conv]") {
  const float w[64] = {};
  const float ws[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  for (Family fam : optimized_families()) {
    INFO(family_name(fam));
    Conv2dDesc d = conv(4, 4, 4, 4, 1, 1, 0, 1, Act::None);
    d.out_h = 5;
    CHECK_FALSE(FA_MAKE(fam, make_conv2d, d, ConvWeights{w, nullptr, nullptr}));
    d = conv(4, 4, 4, 4, 1, 1, 0, 3, Act::None);  // groups do not divide channels
    CHECK_FALSE(FA_MAKE(fam, make_conv2d, d, ConvWeights{w, nullptr, nullptr}));
    d = conv(4, 4, 4, 4, 1, 1, 0, 1, Act::None);
    CHECK_FALSE(FA_MAKE(fam, make_conv2d, d, ConvWeights{nullptr, nullptr, nullptr}));
    d.dtype = DType::I8;
    CHECK_FALSE(FA_MAKE(fam, make_conv2d, d, ConvWeights{w, nullptr, nullptr}));
    d.in_q.scale = -1.0f;
    CHECK_FALSE(FA_MAKE(fam, make_conv2d, d, ConvWeights{w, ws, nullptr}));
    FullyConnectedDesc f;
    f.in_features = 4;
    f.out_features = 0;
    CHECK_FALSE(FA_MAKE(fam, make_fully_connected, f, ConvWeights{w, nullptr, nullptr}));
  }
}

}  // namespace faceattr::kernels::test
