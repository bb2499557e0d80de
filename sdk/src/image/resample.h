// Internals of image/preprocess shared by its two implementations: the scalar
// reference (preprocess.cpp, per output pixel) and the Highway one
// (resample_simd.cpp, separable: vertical taps over a source row span, then
// horizontal taps). Both take the same taps from axis_taps().
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "faceattr/faceattr.h"
#include "image/preprocess.h"

namespace faceattr::image::detail {

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

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// One validated resampling call: `box` of `src` to out_w x out_h RGB floats,
// row y at dst + y * dst_row, value = weighted pixel sum * gain[c] + bias[c].
struct ResampleJob {
  const faceattr_image* src = nullptr;
  CropBox box;
  int out_w = 0, out_h = 0;
  int ch = 3;                // source bytes per pixel
  int r_src = 0, b_src = 2;  // source channel of output R and B (G is 1)
  float gain[3] = {1, 1, 1}, bias[3] = {0, 0, 0};
  float* dst = nullptr;
  size_t dst_row = 0;
};

// The scalar reference implementation (preprocess.cpp).
void resample_reference(const ResampleJob& job);

// The Highway implementation (resample_simd.cpp) of output rows [row_begin,
// row_end): false when it is not compiled in (FACEATTR_WITH_SIMD=OFF) or does not
// take this job (a single output pixel spanning more source columns than its
// scratch row holds; the same answer for every row range, also an empty one), and
// then writes nothing. Rows are independent: any split gives the same values.
bool resample_simd(const ResampleJob& job, int row_begin, int row_end);

}  // namespace faceattr::image::detail
