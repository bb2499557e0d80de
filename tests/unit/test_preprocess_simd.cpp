// image/preprocess: the SIMD resampling (resample_simd.cpp, what
// crop_resize_normalize and letterbox_normalize run when Highway is compiled in)
// against the scalar reference (Resampler::Reference) on many shapes: source
// sizes 1x1 .. 1920x1080, all four pixel formats, padded strides, boxes inside,
// across and beyond the edges, fractional positions, shrink factors 1.01 .. 25,
// enlarging, output sizes 1 .. 300, letterbox with shrink 1 and 2.
//
// Tolerance: both sum the same taps with the same weights in a different order,
// so they agree to float rounding. Asserted: |simd - reference| <= 1e-5 of the
// channel's normalised range (1 / std, i.e. 255 * gain), about 0.0026 in 0..255
// pixel units, 1/400 of one pixel level. Nothing outside the output is written.
// Also built into the wasm kernel tests (tests/wasm.cmake): Highway's WASM SIMD128 target.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "image/resample.h"

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
#include <hwy/targets.h>

#include "unit/hwy_targets.h"
#endif

namespace fi = faceattr::image;

namespace {

const float kMean[3] = {0.485f, 0.456f, 0.406f};
const float kStd[3] = {0.229f, 0.224f, 0.225f};
constexpr double kRelTol = 1e-5;  // of the normalised range 1 / std
constexpr float kGuard = -12345.0f;

const faceattr_pixel_format kFormats[] = {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_BGR, FACEATTR_PIXEL_RGBA,
                                          FACEATTR_PIXEL_BGRA};

struct Image {
  std::vector<uint8_t> bytes;
  faceattr_image img;
};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i += 4) {
    const uint32_t r = rng();
    for (size_t k = 0; k < 4 && i + k < n; ++k) v[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
  return v;
}

// w x h random pixels in format f, each row padded by `pad` bytes (0xEE).
Image make_image(int w, int h, faceattr_pixel_format f, int pad, uint32_t seed) {
  const int ch = fi::channels_of(f);
  const int stride = w * ch + pad;
  Image im;
  im.bytes = random_bytes(static_cast<size_t>(stride) * h, seed);
  for (int y = 0; y < h; ++y)
    std::fill_n(im.bytes.data() + static_cast<size_t>(y) * stride + static_cast<size_t>(w) * ch, pad, 0xEE);
  im.img = faceattr_image{im.bytes.data(), w, h, stride, f};
  return im;
}

std::string describe(const faceattr_image& s, const fi::CropBox& b, int ow, int oh) {
  std::ostringstream o;
  o << s.width << "x" << s.height << " stride " << s.stride_bytes << " format " << static_cast<int>(s.format)
    << " box " << b.x << "," << b.y << " " << b.w << "x" << b.h << " -> " << ow << "x" << oh;
  return o.str();
}

// Largest |simd - reference| / (1 / std[c]) over n floats (RGB interleaved).
double max_rel_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]) * kStd[i % 3];
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

// The same taps and float weights (detail::axis_taps) summed in double: what both
// implementations approximate, for boxes with thousands of taps per output pixel.
std::vector<float> double_sums(const faceattr_image& src, const fi::CropBox& box, int ow, int oh) {
  const int ch = fi::channels_of(src.format);
  const bool bgr = src.format == FACEATTR_PIXEL_BGR || src.format == FACEATTR_PIXEL_BGRA;
  auto weight = [](const fi::detail::Taps& t, int k) {
    return t.n == 1 ? t.w_first : k == 0 ? t.w_first : k == t.n - 1 ? t.w_last : t.w_mid;
  };
  std::vector<float> out(static_cast<size_t>(ow) * oh * 3);
  for (int oy = 0; oy < oh; ++oy) {
    const fi::detail::Taps ty = fi::detail::axis_taps(box.y, box.h, oh, oy);
    for (int ox = 0; ox < ow; ++ox) {
      const fi::detail::Taps tx = fi::detail::axis_taps(box.x, box.w, ow, ox);
      double acc[3] = {0, 0, 0};
      for (int ky = 0; ky < ty.n; ++ky) {
        const uint8_t* row =
            src.data +
            static_cast<size_t>(fi::detail::clampi(ty.i0 + ky, 0, src.height - 1)) * src.stride_bytes;
        double r[3] = {0, 0, 0};
        for (int kx = 0; kx < tx.n; ++kx) {
          const uint8_t* p = row + static_cast<size_t>(fi::detail::clampi(tx.i0 + kx, 0, src.width - 1)) * ch;
          for (int c = 0; c < 3; ++c) r[c] += static_cast<double>(weight(tx, kx)) * p[bgr ? 2 - c : c];
        }
        for (int c = 0; c < 3; ++c) acc[c] += static_cast<double>(weight(ty, ky)) * r[c];
      }
      for (int c = 0; c < 3; ++c)
        out[(static_cast<size_t>(oy) * ow + ox) * 3 + c] =
            static_cast<float>((acc[c] / 255.0 - kMean[c]) / kStd[c]);
    }
  }
  return out;
}

// Runs both on one case; checks the tolerance and the guard floats after the output.
// many_taps: a box with thousands of source pixels per output pixel, where the
// reference's own float sums drift by more than kRelTol; there each must be within
// kRelTol of the double-precision sums or of the reference's error.
double check_crop(const faceattr_image& src, const fi::CropBox& box, int ow, int oh, bool many_taps = false) {
  const size_t n = static_cast<size_t>(ow) * oh * 3;
  std::vector<float> fast(n + 8, kGuard), ref(n + 8, kGuard);
  INFO(describe(src, box, ow, oh));
  REQUIRE(fi::crop_resize_normalize(src, box, ow, oh, kMean, kStd, fast.data()).is_ok());
  REQUIRE(
      fi::crop_resize_normalize(src, box, ow, oh, kMean, kStd, ref.data(), fi::Resampler::Reference).is_ok());
  for (size_t i = n; i < n + 8; ++i) REQUIRE(fast[i] == kGuard);
  const double d = max_rel_diff(fast.data(), ref.data(), n);
  if (!many_taps) {
    CHECK(d <= kRelTol);
    return d;
  }
  const std::vector<float> truth = double_sums(src, box, ow, oh);
  const double fast_err = max_rel_diff(fast.data(), truth.data(), n);
  const double ref_err = max_rel_diff(ref.data(), truth.data(), n);
  INFO("error vs double sums: simd " << fast_err << ", reference " << ref_err);
  CHECK(fast_err <= std::max(kRelTol, ref_err));
  CHECK(d <= kRelTol + ref_err);
  return 0;
}

// Source sizes 1x1 .. 641x479 (quick: .. 89x109), every format, padded rows (and tight
// ones for the small sizes unless quick), six boxes, outputs 1 .. 64.
double shapes_suite(bool quick = false) {
  const struct {
    int w, h;
  } sizes[] = {{1, 1}, {2, 3}, {5, 1}, {1, 7}, {7, 5}, {33, 17}, {89, 109}, {320, 240}, {641, 479}};
  const int outs[] = {1, 2, 3, 17, 64};
  double worst = 0;
  uint32_t seed = 1;
  for (const auto& s : sizes) {
    if (quick && s.w * s.h > 89 * 109) continue;
    for (faceattr_pixel_format f : kFormats) {
      for (int pad : {0, 3}) {
        if (pad == 0 && (quick || s.w * s.h > 89 * 109)) continue;  // padded rows only, to save time
        const Image im = make_image(s.w, s.h, f, pad, seed++);
        const float W = static_cast<float>(s.w), H = static_cast<float>(s.h);
        const fi::CropBox boxes[] = {
            {0, 0, W, H},                                       // the whole image
            {W * 0.13f, H * 0.21f, W * 0.61f, H * 0.55f},       // inside, fractional
            {-W * 0.3f, -H * 0.2f, W * 0.8f, H * 0.9f},         // across the top-left edge
            {W * 0.6f, H * 0.5f, W * 0.7f, H * 0.8f},           // across the bottom-right edge
            {-W * 0.5f, -H * 0.5f, W * 2.0f, H * 2.0f},         // around the image
            {W + 3.5f, -H - 2.0f, W * 0.5f + 1, H * 0.5f + 1},  // wholly outside
        };
        for (const fi::CropBox& b : boxes)
          for (int ow : outs) worst = std::max(worst, check_crop(im.img, b, ow, outs[(ow + 2) % 5]));
      }
    }
  }
  return worst;
}

// Shrink factors 1.01 .. 25 on 1920x1080 and 640x480, enlarging, tall and wide boxes.
double factors_suite() {
  double worst = 0;
  const Image hd = make_image(1920, 1080, FACEATTR_PIXEL_RGBA, 0, 77);
  const Image hd_bgr = make_image(1920, 1080, FACEATTR_PIXEL_BGR, 5, 78);
  const Image vga = make_image(640, 480, FACEATTR_PIXEL_RGB, 1, 79);
  // Shrink factor s (both axes, different fractional offsets), up to 300 outputs; the
  // 1920x1080 frames take turns (the reference is slow in sanitizer builds).
  int turn = 0;
  for (double s : {1.01, 1.3, 1.5, 2.0, 2.5, 3.0, 3.7, 4.0, 6.0, 8.0, 11.3, 20.0, 25.0}) {
    for (const Image* im : {turn++ % 2 ? &hd : &hd_bgr, &vga}) {
      const int ow = std::min(300, static_cast<int>(im->img.width / s));
      const int oh = std::min(300, static_cast<int>(im->img.height / s));
      if (ow < 1 || oh < 1) continue;
      const fi::CropBox b{0.37f, 1.61f, static_cast<float>(ow * s), static_cast<float>(oh * s)};
      worst = std::max(worst, check_crop(im->img, b, ow, oh));
    }
  }
  // Enlarging (bilinear), also across the edges, and mixed (shrink one axis, enlarge the other).
  for (const Image* im : {&hd, &vga}) {
    worst = std::max(worst, check_crop(im->img, {100.25f, 50.5f, 37.3f, 41.9f}, 64, 64));
    worst = std::max(worst, check_crop(im->img, {-10.5f, -7.25f, 45, 40}, 300, 257));
    worst = std::max(worst, check_crop(im->img, {600.5f, 400.5f, 90, 90}, 129, 131));
    worst = std::max(worst, check_crop(im->img, {10, 20, 400, 30}, 100, 200));
    worst = std::max(worst, check_crop(im->img, {10, 20, 30, 400}, 200, 100));
  }
  // Tall and wide boxes: more middle rows than one pass sums, chunks split by source span,
  // and a single output pixel wider than the SIMD scratch row (the reference takes over).
  worst = std::max(worst, check_crop(vga.img, {3, 2, 600, 470}, 40, 5));
  worst = std::max(worst, check_crop(hd.img, {0, 0, 1920, 1080}, 300, 3));
  check_crop(hd.img, {-2000, -100, 5000, 2000}, 2, 2, true);
  check_crop(hd.img, {-100, -1500, 2000, 4000}, 5, 1, true);
  return worst;
}

// LNet's input: letterbox into 320x240 from frames 1x1 .. 1920x1080, shrink 1 and 2.
void letterbox_suite() {
  const struct {
    int w, h;
  } frames[] = {{320, 240}, {640, 480}, {1280, 720}, {1920, 1080}, {123, 457}, {1, 1}};
  uint32_t seed = 100;
  for (const auto& fr : frames) {
    for (faceattr_pixel_format f : kFormats) {
      // The large frames in two formats (one of 3 and one of 4 channels).
      if (fr.w >= 1280 && (f == FACEATTR_PIXEL_BGR || f == FACEATTR_PIXEL_RGBA)) continue;
      const Image im = make_image(fr.w, fr.h, f, f == FACEATTR_PIXEL_RGB ? 0 : 7, seed++);
      for (int shrink : {1, 2}) {
        const int ow = 320, oh = 240;
        const size_t n = static_cast<size_t>(ow) * oh * 3;
        std::vector<float> fast(n + 8, kGuard), ref(n + 8, kGuard);
        fi::Letterbox gf, gr;
        INFO(describe(im.img, {}, ow, oh) << " shrink " << shrink);
        REQUIRE(fi::letterbox_normalize(im.img, ow, oh, kMean, kStd, fast.data(), &gf, shrink).is_ok());
        REQUIRE(fi::letterbox_normalize(im.img, ow, oh, kMean, kStd, ref.data(), &gr, shrink,
                                        fi::Resampler::Reference)
                    .is_ok());
        CHECK(gf.content_w == gr.content_w);
        CHECK(gf.content_h == gr.content_h);
        for (size_t i = n; i < n + 8; ++i) REQUIRE(fast[i] == kGuard);
        CHECK(max_rel_diff(fast.data(), ref.data(), n) <= kRelTol);
        // The letterbox itself is exactly 0 in both.
        size_t nonzero = 0;
        for (int y = 0; y < oh; ++y)
          for (int x = 0; x < ow; ++x)
            if (x >= gf.content_w || y >= gf.content_h)
              for (int c = 0; c < 3; ++c) nonzero += fast[(static_cast<size_t>(y) * ow + x) * 3 + c] != 0.0f;
        CHECK(nonzero == 0);
      }
    }
  }
}

}  // namespace

TEST_CASE("SIMD resampling matches the reference: sizes, formats, strides, boxes", "[preprocess][simd]") {
  WARN("largest |simd - reference| / (1/std): " << shapes_suite());
}

TEST_CASE("SIMD resampling matches the reference: shrink factors, enlarging, large frames",
          "[preprocess][simd]") {
  WARN("largest |simd - reference| / (1/std): " << factors_suite());
}

TEST_CASE("SIMD letterbox matches the reference, shrink 1 and 2", "[preprocess][simd]") { letterbox_suite(); }

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
// A few crops and a letterbox, concatenated.
std::vector<float> sample_outputs() {
  const Image im = make_image(641, 479, FACEATTR_PIXEL_BGRA, 3, 42);
  std::vector<float> all;
  const fi::CropBox boxes[] = {
      {100.3f, 50.7f, 211.1f, 263.9f}, {-30.5f, 400.25f, 90, 120}, {10.5f, 20.5f, 30, 37}};
  for (const fi::CropBox& b : boxes) {
    std::vector<float> out(64 * 80 * 3);
    REQUIRE(fi::crop_resize_normalize(im.img, b, 64, 80, kMean, kStd, out.data()).is_ok());
    all.insert(all.end(), out.begin(), out.end());
  }
  std::vector<float> lb(160 * 120 * 3);
  REQUIRE(fi::letterbox_normalize(im.img, 160, 120, kMean, kStd, lb.data(), nullptr).is_ok());
  all.insert(all.end(), lb.begin(), lb.end());
  return all;
}

TEST_CASE("SIMD resampling on every compiled Highway target, same bits on each", "[preprocess][simd]") {
  // The wasm module must equal native builds (tests/web/node.test.mjs: int8 ANet outputs
  // to 1e-5, where one input rounding step can move a probability by 0.02), so no target
  // may round differently: no fused multiply-add, same summation order everywhere.
  std::vector<float> first;
  for (uint32_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    shapes_suite(true);
    if (target == HWY_SCALAR) continue;  // declines every job: the reference runs
    const std::vector<float> out = sample_outputs();
    if (first.empty()) {
      first = out;
      continue;
    }
    size_t differ = 0;
    for (size_t i = 0; i < out.size(); ++i) differ += std::memcmp(&out[i], &first[i], sizeof(float)) != 0;
    CHECK(differ == 0);
  }
  hwy::SetSupportedTargetsForTest(0);
  faceattr::hwy_targets::warn_not_run();
}
#endif

TEST_CASE("the SIMD resampler takes the usual jobs when compiled in", "[preprocess][simd]") {
  // So that the comparisons above exercise it rather than the reference fallback.
  const Image im = make_image(640, 480, FACEATTR_PIXEL_BGRA, 4, 5);
  std::vector<float> dst(64 * 64 * 3 + 8, kGuard);
  fi::detail::ResampleJob job;
  job.src = &im.img;
  job.box = {100.5f, 80.25f, 300.0f, 280.0f};
  job.out_w = 64;
  job.out_h = 64;
  job.ch = 4;
  job.r_src = 2;
  job.b_src = 0;
  job.dst = dst.data();
  job.dst_row = 64 * 3;
#if defined(FACEATTR_HAVE_SIMD)
  REQUIRE(fi::detail::resample_simd(job, 0, job.out_h));
  size_t written = 0;
  for (size_t i = 0; i < 64 * 64 * 3; ++i) written += dst[i] != kGuard;
  CHECK(written == 64 * 64 * 3);
  for (size_t i = 64 * 64 * 3; i < dst.size(); ++i) CHECK(dst[i] == kGuard);
  // A single output pixel spanning more columns than the scratch row: declined, nothing written.
  std::vector<float> one(3 + 8, kGuard);
  job.box = {0, 0, 5000, 10};
  job.out_w = job.out_h = 1;
  job.dst = one.data();
  CHECK(!fi::detail::resample_simd(job, 0, job.out_h));
  for (float v : one) CHECK(v == kGuard);
#else
  CHECK(!fi::detail::resample_simd(job, 0, job.out_h));
#endif
}
