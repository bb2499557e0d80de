// Crop + resample + normalise in one pass, without allocation: per output
// pixel, each axis is described by a run of source taps (first, middle, last
// weights), computed on the fly. Shrinking integrates the source area the
// output pixel covers; enlarging interpolates bilinearly. Source indices are
// clamped, which replicates edge pixels outside the image.
#include "image/preprocess.h"

#include <cmath>
#include <string>

namespace faceattr::image {
namespace {

// Taps along one axis: source indices i0 .. i0 + n - 1 (before clamping) with
// weights w_first, w_mid ..., w_last (n == 1: w_first only).
struct Taps {
  int i0 = 0;
  int n = 1;
  float w_first = 1, w_mid = 0, w_last = 0;
};

// Output pixel `o` of an axis that maps [start, start + length) to `out` pixels.
inline Taps axis_taps(double start, double length, int out, int o) {
  const double scale = length / out;
  Taps t;
  if (scale > 1.0) {  // area average over [a, b)
    const double a = start + o * scale;
    const double b = a + scale;
    const double fa = std::floor(a);
    const double cb = std::ceil(b);
    t.i0 = static_cast<int>(fa);
    t.n = static_cast<int>(cb - fa);
    if (t.n <= 1) {
      t.n = 1;
      return t;
    }
    t.w_first = static_cast<float>((fa + 1.0 - a) / scale);
    t.w_last = static_cast<float>((b - (cb - 1.0)) / scale);
    t.w_mid = static_cast<float>(1.0 / scale);
  } else {  // bilinear between the two nearest source pixel centres
    const double c = start + (o + 0.5) * scale - 0.5;
    const double f = std::floor(c);
    t.i0 = static_cast<int>(f);
    t.n = 2;
    t.w_last = static_cast<float>(c - f);
    t.w_first = 1.0f - t.w_last;
  }
  return t;
}

inline float tap_weight(const Taps& t, int k) { return k == 0 ? t.w_first : (k == t.n - 1 ? t.w_last : t.w_mid); }

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace

int channels_of(faceattr_pixel_format f) {
  switch (f) {
    case FACEATTR_PIXEL_RGB:
    case FACEATTR_PIXEL_BGR: return 3;
    case FACEATTR_PIXEL_RGBA:
    case FACEATTR_PIXEL_BGRA: return 4;
  }
  return 0;
}

Status validate_image(const faceattr_image& img, int64_t max_pixels) {
  const int ch = channels_of(img.format);
  if (ch == 0) return invalid_argument("image: unknown pixel format " + std::to_string(static_cast<int>(img.format)));
  if (img.width <= 0 || img.height <= 0)
    return invalid_argument("image: size must be positive, got " + std::to_string(img.width) + "x" +
                            std::to_string(img.height));
  const int64_t pixels = static_cast<int64_t>(img.width) * img.height;
  if (max_pixels > 0 && pixels > max_pixels)
    return invalid_argument("image: " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                            " exceeds max_image_pixels (" + std::to_string(max_pixels) + ")");
  const int64_t row = static_cast<int64_t>(img.width) * ch;
  if (img.stride_bytes < row)
    return invalid_argument("image: stride_bytes " + std::to_string(img.stride_bytes) + " < width * channels (" +
                            std::to_string(row) + ")");
  if (img.data == nullptr) return invalid_argument("image: data is null");
  return Status::ok();
}

CropBox centre_crop_box(int w, int h, float aspect) {
  CropBox b;
  if (w <= 0 || h <= 0 || !(aspect > 0.0f)) return b;
  // Compare w / h with aspect without dividing twice: the limiting side keeps its full length.
  if (static_cast<double>(w) >= static_cast<double>(h) * aspect) {
    b.h = static_cast<float>(h);
    b.w = static_cast<float>(static_cast<double>(h) * aspect);
  } else {
    b.w = static_cast<float>(w);
    b.h = static_cast<float>(static_cast<double>(w) / aspect);
  }
  b.x = (static_cast<float>(w) - b.w) * 0.5f;
  b.y = (static_cast<float>(h) - b.h) * 0.5f;
  return b;
}

Status crop_resize_normalize(const faceattr_image& src, const CropBox& box, int out_w, int out_h,
                             const float mean[3], const float std[3], float* dst) {
  FACEATTR_RETURN_IF_ERROR(validate_image(src, 0));
  if (out_w <= 0 || out_h <= 0 || out_w > 1 << 16 || out_h > 1 << 16)
    return invalid_argument("preprocess: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                            " out of range");
  if (dst == nullptr || mean == nullptr || std == nullptr) return invalid_argument("preprocess: null pointer");
  if (!(box.w > 0.0f) || !(box.h > 0.0f) || !std::isfinite(box.x) || !std::isfinite(box.y) ||
      !std::isfinite(box.w) || !std::isfinite(box.h) || std::fabs(box.x) > 1e7f || std::fabs(box.y) > 1e7f ||
      box.w > 1e7f || box.h > 1e7f)
    return invalid_argument("preprocess: crop box must be finite with positive size");
  for (int c = 0; c < 3; ++c)
    if (!(std[c] > 0.0f) || !std::isfinite(mean[c]) || !std::isfinite(std[c]))
      return invalid_argument("preprocess: std must be positive and mean/std finite");

  const int ch = channels_of(src.format);
  const bool bgr = src.format == FACEATTR_PIXEL_BGR || src.format == FACEATTR_PIXEL_BGRA;
  // Output channel c reads source channel order[c].
  const int r_src = bgr ? 2 : 0, b_src = bgr ? 0 : 2;
  // (p / 255 - mean) / std == p * gain + bias
  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.0f / (255.0f * std[c]);
    bias[c] = -mean[c] / std[c];
  }
  const int max_x = src.width - 1, max_y = src.height - 1;

  for (int oy = 0; oy < out_h; ++oy) {
    const Taps ty = axis_taps(box.y, box.h, out_h, oy);
    float* out_row = dst + static_cast<size_t>(oy) * out_w * 3;
    for (int ox = 0; ox < out_w; ++ox) {
      const Taps tx = axis_taps(box.x, box.w, out_w, ox);
      float acc_r = 0, acc_g = 0, acc_b = 0;
      const bool x_inside = tx.i0 >= 0 && tx.i0 + tx.n - 1 <= max_x;
      for (int ky = 0; ky < ty.n; ++ky) {
        const float wy = tap_weight(ty, ky);
        const uint8_t* row = src.data + static_cast<size_t>(clampi(ty.i0 + ky, 0, max_y)) * src.stride_bytes;
        float sr = 0, sg = 0, sb = 0;
        if (x_inside) {
          const uint8_t* p = row + static_cast<size_t>(tx.i0) * ch;
          for (int kx = 0; kx < tx.n; ++kx, p += ch) {
            const float wx = tap_weight(tx, kx);
            sr += wx * p[r_src];
            sg += wx * p[1];
            sb += wx * p[b_src];
          }
        } else {
          for (int kx = 0; kx < tx.n; ++kx) {
            const float wx = tap_weight(tx, kx);
            const uint8_t* p = row + static_cast<size_t>(clampi(tx.i0 + kx, 0, max_x)) * ch;
            sr += wx * p[r_src];
            sg += wx * p[1];
            sb += wx * p[b_src];
          }
        }
        acc_r += wy * sr;
        acc_g += wy * sg;
        acc_b += wy * sb;
      }
      float* o = out_row + static_cast<size_t>(ox) * 3;
      o[0] = acc_r * gain[0] + bias[0];
      o[1] = acc_g * gain[1] + bias[1];
      o[2] = acc_b * gain[2] + bias[2];
    }
  }
  return Status::ok();
}

}  // namespace faceattr::image
