// Crop + resample + normalise in one pass, without allocation: per output
// pixel, each axis is described by a run of source taps (first, middle, last
// weights), computed on the fly. Shrinking integrates the source area the
// output pixel covers; enlarging interpolates bilinearly. Source indices are
// clamped, which replicates edge pixels outside the image.
//
// This file holds the validation, the geometry and the scalar reference
// implementation (resample_reference: per output pixel, horizontal taps of each
// source row, then the vertical taps). The public functions run the Highway
// one (resample_simd.cpp) when it is compiled in and takes the job, unless the
// caller asks for Resampler::Reference (tests, comparisons). Given a thread pool,
// the Highway one splits the output rows over it.
#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "image/resample.h"
#include "util/enum_value.h"
#include "util/thread_pool.h"

namespace faceattr::image {
namespace {

using detail::axis_taps;
using detail::clampi;
using detail::Taps;

// Weighted sum of one source row over the horizontal taps, in RGB order.
// Middle taps share one weight, so they are summed as integers first.
struct RowSampler {
  int ch, r_src, b_src, max_x;

  void sum(const uint8_t* row, const Taps& t, bool inside, float out[3]) const {
    const uint8_t* p = px(row, t.i0, inside);
    out[0] = t.w_first * p[r_src], out[1] = t.w_first * p[1], out[2] = t.w_first * p[b_src];
    if (t.n == 1) return;
    // int64: a box may reach 1e7 pixels past the image, 1e7 x 255 overflows int32.
    int64_t m0 = 0, m1 = 0, m2 = 0;
    if (inside) {
      const uint8_t* q = p + ch;
      for (int k = 1; k < t.n - 1; ++k, q += ch) m0 += q[r_src], m1 += q[1], m2 += q[b_src];
    } else {
      for (int k = 1; k < t.n - 1; ++k) {
        const uint8_t* q = px(row, t.i0 + k, false);
        m0 += q[r_src], m1 += q[1], m2 += q[b_src];
      }
    }
    const uint8_t* l = px(row, t.i0 + t.n - 1, inside);
    out[0] += t.w_mid * static_cast<float>(m0) + t.w_last * l[r_src];
    out[1] += t.w_mid * static_cast<float>(m1) + t.w_last * l[1];
    out[2] += t.w_mid * static_cast<float>(m2) + t.w_last * l[b_src];
  }

 private:
  const uint8_t* px(const uint8_t* row, int x, bool inside) const {
    return row + static_cast<size_t>(inside ? x : clampi(x, 0, max_x)) * ch;
  }
};

}  // namespace

namespace {
int channels_of_value(int f) {
  switch (f) {
    case FACEATTR_PIXEL_RGB:
    case FACEATTR_PIXEL_BGR:
      return 3;
    case FACEATTR_PIXEL_RGBA:
    case FACEATTR_PIXEL_BGRA:
      return 4;
  }
  return 0;
}
}  // namespace

int channels_of(faceattr_pixel_format f) { return channels_of_value(enum_value(f)); }

Status validate_image(const faceattr_image& img, int64_t max_pixels) {
  const int ch = channels_of_value(enum_value(img.format));
  if (ch == 0)
    return invalid_argument("image: unknown pixel format " + std::to_string(enum_value(img.format)));
  if (img.width <= 0 || img.height <= 0)
    return invalid_argument("image: size must be positive, got " + std::to_string(img.width) + "x" +
                            std::to_string(img.height));
  const int64_t pixels = static_cast<int64_t>(img.width) * img.height;
  if (max_pixels > 0 && pixels > max_pixels)
    return invalid_argument("image: " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                            " exceeds max_image_pixels (" + std::to_string(max_pixels) + ")");
  const int64_t row = static_cast<int64_t>(img.width) * ch;
  if (img.stride_bytes < row)
    return invalid_argument("image: stride_bytes " + std::to_string(img.stride_bytes) +
                            " < width * channels (" + std::to_string(row) + ")");
  if (img.data == nullptr) return invalid_argument("image: data is null");
  return Status::ok();
}

float box_iou(const CropBox& a, const CropBox& b) {
  const float x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const float x1 = std::min(a.x + a.w, b.x + b.w), y1 = std::min(a.y + a.h, b.y + b.h);
  const float inter = std::max(0.0f, x1 - x0) * std::max(0.0f, y1 - y0);
  const float uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
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

namespace {
// Validates a crop_resize_normalize call into rows of `dst_row` floats (>= out_w * 3).
Status make_job(const faceattr_image& src, const CropBox& box, int out_w, int out_h, const float mean[3],
                const float std[3], float* dst, size_t dst_row, detail::ResampleJob* job) {
  FACEATTR_RETURN_IF_ERROR(validate_image(src, 0));
  if (out_w <= 0 || out_h <= 0 || out_w > 1 << 16 || out_h > 1 << 16)
    return invalid_argument("preprocess: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                            " out of range");
  if (dst == nullptr || mean == nullptr || std == nullptr)
    return invalid_argument("preprocess: null pointer");
  if (!(box.w > 0.0f) || !(box.h > 0.0f) || !std::isfinite(box.x) || !std::isfinite(box.y) ||
      !std::isfinite(box.w) || !std::isfinite(box.h) || std::fabs(box.x) > 1e7f || std::fabs(box.y) > 1e7f ||
      box.w > 1e7f || box.h > 1e7f)
    return invalid_argument("preprocess: crop box must be finite with positive size");
  for (int c = 0; c < 3; ++c)
    if (!(std[c] > 0.0f) || !std::isfinite(mean[c]) || !std::isfinite(std[c]))
      return invalid_argument("preprocess: std must be positive and mean/std finite");

  detail::ResampleJob& j = *job;
  j.src = &src;
  j.box = box;
  j.out_w = out_w;
  j.out_h = out_h;
  j.ch = channels_of_value(enum_value(src.format));
  const int format = enum_value(src.format);
  const bool bgr = format == FACEATTR_PIXEL_BGR || format == FACEATTR_PIXEL_BGRA;
  // Output channel c reads source channel order[c].
  j.r_src = bgr ? 2 : 0;
  j.b_src = bgr ? 0 : 2;
  // (p / 255 - mean) / std == p * gain + bias
  for (int c = 0; c < 3; ++c) {
    j.gain[c] = 1.0f / (255.0f * std[c]);
    j.bias[c] = -mean[c] / std[c];
  }
  j.dst = dst;
  j.dst_row = dst_row;
  return Status::ok();
}

// Output rows per thread below which splitting a job does not pay.
constexpr int kMinRowsPerThread = 8;

void run_job(const detail::ResampleJob& job, bool reference, ThreadPool* pool) {
  if (!reference) {
    const int threads = std::min(pool != nullptr ? pool->size() : 1, job.out_h / kMinRowsPerThread);
    if (threads <= 1) {
      if (detail::resample_simd(job, 0, job.out_h)) return;
    } else if (detail::resample_simd(job, 0, 0)) {  // takes the job: one contiguous share of rows per thread
      const size_t n = static_cast<size_t>(threads);
      parallel_for(pool, n, [&](size_t begin, size_t end) {
        const auto row = [&](size_t i) { return static_cast<int>(i * static_cast<size_t>(job.out_h) / n); };
        detail::resample_simd(job, row(begin), row(end));
      });
      return;
    }
  }
  detail::resample_reference(job);
}

Status crop_resize_normalize_impl(const faceattr_image& src, const CropBox& box, int out_w, int out_h,
                                  const float mean[3], const float std[3], float* dst, bool reference,
                                  ThreadPool* pool) {
  detail::ResampleJob job;
  FACEATTR_RETURN_IF_ERROR(
      make_job(src, box, out_w, out_h, mean, std, dst, static_cast<size_t>(out_w > 0 ? out_w : 0) * 3, &job));
  run_job(job, reference, pool);
  return Status::ok();
}

Status letterbox_normalize_impl(const faceattr_image& src, int out_w, int out_h, const float mean[3],
                                const float std[3], float* dst, Letterbox* geometry, float shrink,
                                bool reference, ThreadPool* pool) {
  FACEATTR_RETURN_IF_ERROR(validate_image(src, 0));
  if (out_w <= 0 || out_h <= 0 || out_w > 1 << 16 || out_h > 1 << 16)
    return invalid_argument("letterbox: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                            " out of range");
  if (dst == nullptr) return invalid_argument("letterbox: null pointer");
  if (!(shrink >= 1.0f) || !(shrink <= static_cast<float>(out_w)) || !(shrink <= static_cast<float>(out_h)))
    return invalid_argument("letterbox: shrink " + std::to_string(shrink) + " out of range");
  // Integer shrinks: out / shrink rounded down (as always); others: to the nearest pixel.
  const bool integral = shrink == std::floor(shrink);
  auto area = [&](int out) {
    const double a = out / static_cast<double>(shrink);
    return std::max(1, static_cast<int>(integral ? std::floor(a) : std::lround(a)));
  };
  const int area_w = area(out_w), area_h = area(out_h);
  const Letterbox g = letterbox_geometry(src.width, src.height, area_w, area_h);
  const CropBox whole{0.0f, 0.0f, static_cast<float>(src.width), static_cast<float>(src.height)};
  const size_t row = static_cast<size_t>(out_w) * 3;
  detail::ResampleJob job;
  FACEATTR_RETURN_IF_ERROR(make_job(src, whole, g.content_w, g.content_h, mean, std, dst, row, &job));
  run_job(job, reference, pool);
  // Letterbox: 0 after normalisation, right of the content and below it.
  if (g.content_w < out_w) {
    const size_t pad = static_cast<size_t>(out_w - g.content_w) * 3;
    for (int y = 0; y < g.content_h; ++y)
      std::fill_n(dst + static_cast<size_t>(y) * row + static_cast<size_t>(g.content_w) * 3, pad, 0.0f);
  }
  std::fill(dst + static_cast<size_t>(g.content_h) * row, dst + static_cast<size_t>(out_h) * row, 0.0f);
  if (geometry) *geometry = g;
  return Status::ok();
}
}  // namespace

namespace detail {
void resample_reference(const ResampleJob& job) {
  const faceattr_image& src = *job.src;
  const CropBox& box = job.box;
  const int out_w = job.out_w, out_h = job.out_h;
  const float* gain = job.gain;
  const float* bias = job.bias;
  const int max_x = src.width - 1, max_y = src.height - 1;

  const RowSampler rs{job.ch, job.r_src, job.b_src, max_x};
  // Column taps are computed once per block of columns into a small stack table.
  constexpr int kBlock = 128;
  Taps col_taps[kBlock];
  bool col_inside[kBlock];
  for (int x0 = 0; x0 < out_w; x0 += kBlock) {
    const int x1 = std::min(out_w, x0 + kBlock);
    for (int ox = x0; ox < x1; ++ox) {
      const Taps t = axis_taps(box.x, box.w, out_w, ox);
      col_taps[ox - x0] = t;
      col_inside[ox - x0] = t.i0 >= 0 && t.i0 + t.n - 1 <= max_x;
    }
    for (int oy = 0; oy < out_h; ++oy) {
      const Taps ty = axis_taps(box.y, box.h, out_h, oy);
      auto row_ptr = [&](int k) {
        return src.data + static_cast<size_t>(clampi(ty.i0 + k, 0, max_y)) * src.stride_bytes;
      };
      float* o = job.dst + static_cast<size_t>(oy) * job.dst_row + static_cast<size_t>(x0) * 3;
      for (int ox = x0; ox < x1; ++ox, o += 3) {
        const Taps& tx = col_taps[ox - x0];
        const bool inside = col_inside[ox - x0];
        // Same first/middle/last split vertically: the middle rows share one weight.
        float acc[3], tmp[3], mid[3] = {0, 0, 0};
        rs.sum(row_ptr(0), tx, inside, acc);
        acc[0] *= ty.w_first, acc[1] *= ty.w_first, acc[2] *= ty.w_first;
        if (ty.n > 1) {
          for (int k = 1; k < ty.n - 1; ++k) {
            rs.sum(row_ptr(k), tx, inside, tmp);
            mid[0] += tmp[0], mid[1] += tmp[1], mid[2] += tmp[2];
          }
          rs.sum(row_ptr(ty.n - 1), tx, inside, tmp);
          for (int c = 0; c < 3; ++c) acc[c] += ty.w_mid * mid[c] + ty.w_last * tmp[c];
        }
        for (int c = 0; c < 3; ++c) o[c] = acc[c] * gain[c] + bias[c];
      }
    }
  }
}
}  // namespace detail

Status crop_resize_normalize(const faceattr_image& src, const CropBox& box, int out_w, int out_h,
                             const float mean[3], const float std[3], float* dst, Resampler resampler,
                             ThreadPool* pool) {
  return crop_resize_normalize_impl(src, box, out_w, out_h, mean, std, dst, resampler == Resampler::Reference,
                                    pool);
}

Letterbox letterbox_geometry(int w, int h, int out_w, int out_h) {
  Letterbox g;
  if (w <= 0 || h <= 0 || out_w <= 0 || out_h <= 0) return g;
  const double s = std::min(static_cast<double>(out_w) / w, static_cast<double>(out_h) / h);
  g.content_w = clampi(static_cast<int>(std::lround(w * s)), 1, out_w);
  g.content_h = clampi(static_cast<int>(std::lround(h * s)), 1, out_h);
  g.scale_x = static_cast<float>(static_cast<double>(g.content_w) / w);
  g.scale_y = static_cast<float>(static_cast<double>(g.content_h) / h);
  return g;
}

Status letterbox_normalize(const faceattr_image& src, int out_w, int out_h, const float mean[3],
                           const float std[3], float* dst, Letterbox* geometry, float shrink,
                           Resampler resampler, ThreadPool* pool) {
  return letterbox_normalize_impl(src, out_w, out_h, mean, std, dst, geometry, shrink,
                                  resampler == Resampler::Reference, pool);
}

}  // namespace faceattr::image
