// image/preprocess: validation, centre crop, and resampling checked against an
// independent double-precision computation (summed-area table for shrinking,
// direct bilinear formula for enlarging).
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <vector>

#include "image/preprocess.h"
#include "support/tiny_models.h"

using faceattr::image::centre_crop_box;
using faceattr::image::crop_resize_normalize;
using faceattr::image::CropBox;
using faceattr::image::validate_image;

namespace {

const float kMean[3] = {0.5f, 0.4f, 0.3f};
const float kStd[3] = {0.25f, 0.2f, 0.3f};

// Undoes the normalisation to compare in pixel units.
double to_pixel(float v, int c) { return (static_cast<double>(v) * kStd[c] + kMean[c]) * 255.0; }

struct Rgb {
  int w, h;
  std::vector<uint8_t> px;  // tight RGB
  int at(int x, int y, int c) const {
    x = std::min(std::max(x, 0), w - 1);
    y = std::min(std::max(y, 0), h - 1);
    return px[(static_cast<size_t>(y) * w + x) * 3 + c];
  }
};

Rgb random_rgb(int w, int h, uint32_t seed) {
  return {w, h, faceattr::test::random_bytes(static_cast<size_t>(w) * h * 3, seed)};
}

// Packs an RGB image into another format with extra row padding.
std::vector<uint8_t> pack(const Rgb& img, faceattr_pixel_format f, int stride) {
  std::vector<uint8_t> out(static_cast<size_t>(stride) * img.h, 0xEE);
  const int ch = faceattr::image::channels_of(f);
  const bool bgr = f == FACEATTR_PIXEL_BGR || f == FACEATTR_PIXEL_BGRA;
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x) {
      uint8_t* p = out.data() + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * ch;
      for (int c = 0; c < 3; ++c) p[bgr ? 2 - c : c] = static_cast<uint8_t>(img.at(x, y, c));
      if (ch == 4) p[3] = static_cast<uint8_t>(x * 7 + y);  // alpha must be ignored
    }
  return out;
}

// Expected value of channel c for output pixel (ox, oy): exact area average of the
// piecewise-constant (edge-replicated) image when shrinking along an axis, bilinear
// when enlarging, computed in double through a summed-area table over a padded domain.
class Reference {
 public:
  Reference(const Rgb& img, int margin) : img_(img), m_(margin) {
    W_ = img.w + 2 * margin;
    H_ = img.h + 2 * margin;
    for (int c = 0; c < 3; ++c) {
      sat_[c].assign(static_cast<size_t>(W_ + 1) * (H_ + 1), 0.0);
      for (int y = 0; y < H_; ++y)
        for (int x = 0; x < W_; ++x)
          sat_[c][idx(x + 1, y + 1)] = img.at(x - m_, y - m_, c) + sat_[c][idx(x, y + 1)] +
                                       sat_[c][idx(x + 1, y)] - sat_[c][idx(x, y)];
    }
  }

  double value(const CropBox& b, int out_w, int out_h, int ox, int oy, int c) const {
    const double sx = b.w / out_w, sy = b.h / out_h;
    // Per axis: an interval to integrate over, or (enlarging) a point to interpolate at.
    if (sx > 1 && sy > 1) {
      const double x0 = b.x + ox * sx, y0 = b.y + oy * sy;
      return area(c, x0, y0, x0 + sx, y0 + sy) / (sx * sy);
    }
    if (sx <= 1 && sy <= 1) {
      const double px = b.x + (ox + 0.5) * sx - 0.5, py = b.y + (oy + 0.5) * sy - 0.5;
      const int x0 = static_cast<int>(std::floor(px)), y0 = static_cast<int>(std::floor(py));
      const double fx = px - x0, fy = py - y0;
      return (1 - fy) * ((1 - fx) * img_.at(x0, y0, c) + fx * img_.at(x0 + 1, y0, c)) +
             fy * ((1 - fx) * img_.at(x0, y0 + 1, c) + fx * img_.at(x0 + 1, y0 + 1, c));
    }
    return NAN;  // mixed cases are not used by these tests
  }

 private:
  size_t idx(int x, int y) const { return static_cast<size_t>(y) * (W_ + 1) + x; }
  // Integral of the image over [x0, x1) x [y0, y1) in image coordinates: the SAT is
  // bilinear between grid points for a piecewise-constant image.
  double integral(int c, double x, double y) const {
    x += m_, y += m_;
    const int ix = std::min(static_cast<int>(std::floor(x)), W_ - 1),
              iy = std::min(static_cast<int>(std::floor(y)), H_ - 1);
    const double fx = x - ix, fy = y - iy;
    const auto& s = sat_[c];
    return (1 - fy) * ((1 - fx) * s[idx(ix, iy)] + fx * s[idx(ix + 1, iy)]) +
           fy * ((1 - fx) * s[idx(ix, iy + 1)] + fx * s[idx(ix + 1, iy + 1)]);
  }
  double area(int c, double x0, double y0, double x1, double y1) const {
    return integral(c, x1, y1) - integral(c, x0, y1) - integral(c, x1, y0) + integral(c, x0, y0);
  }

  const Rgb& img_;
  int m_, W_, H_;
  std::vector<double> sat_[3];
};

}  // namespace

TEST_CASE("validate_image", "[preprocess]") {
  uint8_t px[64 * 4] = {};
  faceattr_image img{px, 8, 8, 24, FACEATTR_PIXEL_RGB};
  CHECK(validate_image(img, 1000).is_ok());
  CHECK(faceattr::image::channels_of(FACEATTR_PIXEL_RGBA) == 4);
  CHECK(faceattr::image::channels_of(static_cast<faceattr_pixel_format>(9)) == 0);

  auto code = [](faceattr_image i, int64_t max_px = 1000) { return validate_image(i, max_px).code(); };
  faceattr_image bad = img;
  bad.data = nullptr;
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  bad = img, bad.width = 0, bad.height = 0;
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  bad = img, bad.height = -3;
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  bad = img, bad.stride_bytes = 23;
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  bad = img, bad.format = FACEATTR_PIXEL_RGBA;  // stride 24 < 8 * 4
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  bad = img, bad.format = static_cast<faceattr_pixel_format>(-1);
  CHECK(code(bad) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(code(img, 63) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(code(img, 64) == FACEATTR_OK);
  // Huge dimensions are refused from the numbers alone (the pointer is never read).
  bad = img, bad.width = 1 << 30, bad.height = 1 << 30, bad.stride_bytes = 0x7FFFFFFF;
  const faceattr::Status st = validate_image(bad, int64_t{64} << 20);
  CHECK(st.code() == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(st.message().find("max_image_pixels") != std::string::npos);
}

TEST_CASE("centre_crop_box", "[preprocess]") {
  CropBox b = centre_crop_box(100, 50, 1.0f);
  CHECK(b.x == 25.0f);
  CHECK(b.y == 0.0f);
  CHECK(b.w == 50.0f);
  CHECK(b.h == 50.0f);
  b = centre_crop_box(50, 100, 1.0f);
  CHECK(b.x == 0.0f);
  CHECK(b.y == 25.0f);
  CHECK(b.w == 50.0f);
  b = centre_crop_box(178, 218, 178.0f / 218.0f);
  CHECK(b.x == Approx(0.0f).margin(1e-3));
  CHECK(b.y == Approx(0.0f).margin(1e-3));
  CHECK(b.w == Approx(178.0f));
  CHECK(b.h == Approx(218.0f));
  b = centre_crop_box(640, 480, 0.8f);
  CHECK(b.h == 480.0f);
  CHECK(b.w == Approx(384.0f));
  CHECK(b.x == Approx(128.0f));
}

TEST_CASE("uniform image gives the exact normalised value in every format", "[preprocess]") {
  const uint8_t rgb[3] = {200, 100, 50};
  for (auto f : {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_RGBA, FACEATTR_PIXEL_BGR, FACEATTR_PIXEL_BGRA}) {
    Rgb img{37, 23, {}};
    for (int i = 0; i < 37 * 23; ++i) img.px.insert(img.px.end(), rgb, rgb + 3);
    const int ch = faceattr::image::channels_of(f);
    const int stride = 37 * ch + 5;
    const auto data = pack(img, f, stride);
    const faceattr_image src{data.data(), 37, 23, stride, f};
    // Shrink, enlarge, and a box reaching outside the image (edge replication).
    for (CropBox box :
         {CropBox{0, 0, 37, 23}, CropBox{3.5f, 2.25f, 10.0f, 7.0f}, CropBox{-20, -30, 80, 90}}) {
      for (int out : {4, 16, 61}) {
        std::vector<float> dst(static_cast<size_t>(out) * out * 3);
        REQUIRE(crop_resize_normalize(src, box, out, out, kMean, kStd, dst.data()).is_ok());
        for (size_t i = 0; i < dst.size(); ++i) {
          const int c = static_cast<int>(i % 3);
          const float want = (rgb[c] / 255.0f - kMean[c]) / kStd[c];
          REQUIRE(dst[i] == Approx(want).margin(1e-5));
        }
      }
    }
  }
}

// The largest box the validation allows (1e7 pixels wide, nearly all past the
// image's edge) over one output pixel: 1e7 taps of 255 overflow an int32 sum.
TEST_CASE("a 1e7-pixel-wide box over one output pixel stays the edge value", "[preprocess]") {
  const std::vector<uint8_t> white(2 * 2 * 3, 255);
  const faceattr_image src{white.data(), 2, 2, 6, FACEATTR_PIXEL_RGB};
  for (auto r : {faceattr::image::Resampler::Simd, faceattr::image::Resampler::Reference}) {
    float dst[3] = {0, 0, 0};
    REQUIRE(crop_resize_normalize(src, CropBox{-5e6f, 0, 1e7f, 2}, 1, 1, kMean, kStd, dst, r).is_ok());
    for (int c = 0; c < 3; ++c) CHECK(dst[c] == Approx((1.0f - kMean[c]) / kStd[c]).epsilon(1e-4));
  }
}

TEST_CASE("shrinking averages areas, enlarging interpolates (vs double precision)", "[preprocess]") {
  const Rgb img = random_rgb(53, 41, 11);
  const Reference ref(img, 64);
  struct Case {
    CropBox box;
    int out_w, out_h;
  };
  const Case cases[] = {
      {{0, 0, 53, 41}, 10, 8},              // plain shrink
      {{5.3f, 2.7f, 40.1f, 33.9f}, 7, 9},   // fractional box
      {{-12, -9, 70, 60}, 13, 11},          // beyond the edges
      {{10, 10, 30, 20}, 30, 20},           // scale 1: a copy
      {{4.2f, 6.6f, 9.5f, 7.25f}, 31, 23},  // enlarge
      {{-3, -2, 12, 9}, 40, 30},            // enlarge across the top-left edge
      {{45, 35, 12, 10}, 24, 20},           // enlarge across the bottom-right edge
  };
  for (const Case& k : cases) {
    for (auto f : {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_BGRA}) {
      const int ch = faceattr::image::channels_of(f);
      const auto data = pack(img, f, 53 * ch + 3);
      const faceattr_image src{data.data(), 53, 41, 53 * ch + 3, f};
      std::vector<float> dst(static_cast<size_t>(k.out_w) * k.out_h * 3);
      REQUIRE(crop_resize_normalize(src, k.box, k.out_w, k.out_h, kMean, kStd, dst.data()).is_ok());
      double max_err = 0;
      for (int oy = 0; oy < k.out_h; ++oy)
        for (int ox = 0; ox < k.out_w; ++ox)
          for (int c = 0; c < 3; ++c) {
            const double want = ref.value(k.box, k.out_w, k.out_h, ox, oy, c);
            const double got = to_pixel(dst[(static_cast<size_t>(oy) * k.out_w + ox) * 3 + c], c);
            max_err = std::max(max_err, std::fabs(want - got));
          }
      INFO("box " << k.box.x << "," << k.box.y << " " << k.box.w << "x" << k.box.h << " -> " << k.out_w << "x"
                  << k.out_h << " format " << f);
      CHECK(max_err < 2e-3);  // in 0..255 pixel units
    }
  }
}

TEST_CASE("scale 1 with an integer box copies pixels exactly", "[preprocess]") {
  const Rgb img = random_rgb(20, 15, 3);
  const faceattr_image src{img.px.data(), 20, 15, 60, FACEATTR_PIXEL_RGB};
  std::vector<float> dst(8 * 6 * 3);
  REQUIRE(crop_resize_normalize(src, CropBox{4, 5, 8, 6}, 8, 6, kMean, kStd, dst.data()).is_ok());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c)
        CHECK(to_pixel(dst[(static_cast<size_t>(y) * 8 + x) * 3 + c], c) ==
              Approx(img.at(x + 4, y + 5, c)).margin(1e-3));
}

TEST_CASE("crop_resize_normalize refuses bad arguments", "[preprocess]") {
  uint8_t px[16 * 3] = {};
  const faceattr_image src{px, 4, 4, 12, FACEATTR_PIXEL_RGB};
  float dst[4 * 4 * 3];
  const CropBox box{0, 0, 4, 4};
  CHECK(crop_resize_normalize(src, box, 4, 4, kMean, kStd, dst).is_ok());
  CHECK(crop_resize_normalize(src, box, 0, 4, kMean, kStd, dst).code() == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(crop_resize_normalize(src, box, 4, 4, kMean, kStd, nullptr).code() == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(crop_resize_normalize(src, CropBox{0, 0, 0, 4}, 4, 4, kMean, kStd, dst).code() ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(crop_resize_normalize(src, CropBox{NAN, 0, 4, 4}, 4, 4, kMean, kStd, dst).code() ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  const float zero_std[3] = {1, 0, 1};
  CHECK(crop_resize_normalize(src, box, 4, 4, kMean, zero_std, dst).code() == FACEATTR_ERR_INVALID_ARGUMENT);
  faceattr_image bad = src;
  bad.stride_bytes = 11;
  CHECK(crop_resize_normalize(bad, box, 4, 4, kMean, kStd, dst).code() == FACEATTR_ERR_INVALID_ARGUMENT);
}

TEST_CASE("preprocess speed (informational)", "[preprocess][.speed]") {
  const Rgb img = random_rgb(640, 480, 9);
  const auto data = pack(img, FACEATTR_PIXEL_RGBA, 640 * 4);
  const faceattr_image src{data.data(), 640, 480, 640 * 4, FACEATTR_PIXEL_RGBA};
  std::vector<float> dst(64 * 64 * 3);
  const CropBox box = centre_crop_box(640, 480, 1.0f);
  const int reps = 50;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i)
    REQUIRE(crop_resize_normalize(src, box, 64, 64, kMean, kStd, dst.data()).is_ok());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
  WARN("640x480 RGBA -> 64x64: " << ms << " ms per call");
}
