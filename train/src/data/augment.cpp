#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "image/preprocess.h"

namespace faceattr::train {
namespace {

float uniform(std::mt19937& rng, float lo, float hi) {
  return std::uniform_real_distribution<float>(lo, hi)(rng);
}

image::CropBox base_box(const RgbImage& img, const FaceFrame& f, float aspect) {
  if (f.centre) return image::centre_crop_box(img.width, img.height, aspect);
  image::CropBox b;
  b.w = f.w * static_cast<float>(img.width);
  b.h = b.w / aspect;
  b.x = f.cx * static_cast<float>(img.width) - b.w * 0.5f;
  b.y = f.cy * static_cast<float>(img.height) - b.h * 0.5f;
  return b;
}

image::CropBox scaled(const image::CropBox& b, float sx, float sy, float dx, float dy) {
  image::CropBox o;
  float cx = b.x + b.w * 0.5f + dx * b.w, cy = b.y + b.h * 0.5f + dy * b.h;
  o.w = b.w * sx;
  o.h = b.h * sy;
  o.x = cx - o.w * 0.5f;
  o.y = cy - o.h * 0.5f;
  return o;
}

void run_crop(const RgbImage& img, const image::CropBox& box, const InputSpec& in, const float* mean,
              const float* stdv, float* dst) {
  faceattr_image src{img.pixels.data(), img.width, img.height, img.width * 3, FACEATTR_PIXEL_RGB};
  Status st = image::crop_resize_normalize(src, box, in.width, in.height, mean, stdv, dst);
  if (!st.is_ok()) throw std::runtime_error("crop_resize_normalize: " + st.message());
}

// 3x3 binomial blur in place on an HxWx3 image (edges replicated).
void blur3(float* p, int w, int h) {
  std::vector<float> tmp(p, p + static_cast<size_t>(w) * h * 3);
  auto at = [&](int y, int x, int c) {
    y = std::clamp(y, 0, h - 1);
    x = std::clamp(x, 0, w - 1);
    return tmp[(static_cast<size_t>(y) * w + x) * 3 + c];
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float s = 4 * at(y, x, c) +
                  2 * (at(y - 1, x, c) + at(y + 1, x, c) + at(y, x - 1, c) + at(y, x + 1, c)) +
                  at(y - 1, x - 1, c) + at(y - 1, x + 1, c) + at(y + 1, x - 1, c) + at(y + 1, x + 1, c);
        p[(static_cast<size_t>(y) * w + x) * 3 + c] = s / 16.0f;
      }
}

}  // namespace

void make_input(const RgbImage& img, const FaceFrame& frame, const InputSpec& in, const AugmentSpec& aug,
                std::mt19937& rng, float* dst) {
  const image::CropBox base = base_box(img, frame, in.aspect());
  if (!aug.enabled) {
    run_crop(img, scaled(base, aug.eval_scale, aug.eval_scale, 0, 0), in, in.mean, in.std, dst);
    return;
  }
  // Geometry: the draws happen in a fixed order so a seed fixes the sample.
  float s = uniform(rng, aug.scale_min, aug.scale_max);
  float a = std::exp(uniform(rng, -aug.aspect_jitter, aug.aspect_jitter));
  float dx = uniform(rng, -aug.shift, aug.shift), dy = uniform(rng, -aug.shift, aug.shift);
  bool flip = aug.flip && uniform(rng, 0, 1) < 0.5f;
  float bright = uniform(rng, -aug.brightness, aug.brightness);
  float contrast = std::exp(uniform(rng, -aug.contrast, aug.contrast));
  float sat = std::exp(uniform(rng, -aug.saturation, aug.saturation));
  float gains[3];
  for (float& g : gains) g = std::exp(uniform(rng, -aug.hue_gain, aug.hue_gain));
  bool gray = uniform(rng, 0, 1) < aug.gray_prob;
  bool blur = uniform(rng, 0, 1) < aug.blur_prob;

  const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  run_crop(img, scaled(base, s * std::sqrt(a), s / std::sqrt(a), dx, dy), in, zero, one, dst);
  const int w = in.width, h = in.height;
  const size_t n = static_cast<size_t>(w) * h;
  if (blur) blur3(dst, w, h);
  double mean_luma = 0;
  for (size_t i = 0; i < n; ++i)
    mean_luma += 0.299 * dst[3 * i] + 0.587 * dst[3 * i + 1] + 0.114 * dst[3 * i + 2];
  const float m = static_cast<float>(mean_luma / static_cast<double>(n));
  for (size_t i = 0; i < n; ++i) {
    float* p = dst + 3 * i;
    float luma = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    for (int c = 0; c < 3; ++c) {
      float v = gray ? luma : luma + sat * (p[c] * gains[c] - luma);
      v = (v - m) * contrast + m + bright;
      p[c] = (std::clamp(v, 0.0f, 1.0f) - in.mean[c]) / in.std[c];
    }
  }
  if (flip) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w / 2; ++x)
        for (int c = 0; c < 3; ++c)
          std::swap(dst[(static_cast<size_t>(y) * w + x) * 3 + c],
                    dst[(static_cast<size_t>(y) * w + (w - 1 - x)) * 3 + c]);
  }
}

}  // namespace faceattr::train
