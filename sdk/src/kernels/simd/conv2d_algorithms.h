// The convolution algorithms of the simd family, one kernel object each, and
// what their files share. conv2d.cpp chooses among them (make_conv2d);
// fully_connected.cpp runs a fully connected layer as a 1x1 convolution.
//   conv2d_gemm.cpp       indirect GEMM: dense, grouped, strided, padded, 1x1;
//                         its loops in conv2d_gemm_f32.cpp and conv2d_gemm_i8.cpp
//   conv2d_winograd.cpp   Winograd for 3x3 stride-1 dense convolutions; its
//                         transforms in conv2d_winograd_transform.cpp, its
//                         GEMMs on the loops above
//   conv2d_depthwise.cpp  depthwise (groups == in_c == out_c), loops and object
// Weights are packed at creation for the panel width of the Highway target
// chosen at run time, buffers are set up at bind, and run() splits the work
// over ctx.pool. Each make_* takes a valid descriptor (conv2d_desc_valid).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kernels/simd/simd_kernels.h"

namespace faceattr::kernels::simd {

inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Panel geometry of a GEMM with n output channels: vectors per panel (2 or 3,
// whichever pads fewer channels), panel width and rows per register tile.
struct Panels {
  size_t vectors = 2, width = 0, rows = 1;
  bool narrow = false;  // fp32 only: the 256-bit loops (gemm_f32_narrow)
};
inline Panels f32_panels_of(size_t n, bool narrow) {
  const size_t v = gemm_panel_vectors(n, gemm_f32_panel_width(2, narrow), gemm_f32_panel_width(3, narrow));
  return {v, gemm_f32_panel_width(v, narrow), gemm_f32_rows(v, narrow), narrow};
}
// The target's own panels, or 256-bit ones where gemm_f32_narrow() says so: cost in
// 256-bit FMAs per output row and tap channel, a 512-bit one counting as two.
inline Panels f32_panels(size_t n) {
  const Panels full = f32_panels_of(n, false);
  const int narrow = gemm_f32_narrow();
  if (narrow == 0) return full;
  const Panels half = f32_panels_of(n, true);
  if (narrow == 2) return half;
  const size_t cost_full = ceil_div(n, full.width) * full.vectors * 2,
               cost_half = ceil_div(n, half.width) * half.vectors;
  return cost_half < cost_full ? half : full;
}
// raw_sums: for GEMMs that store raw int32 sums (Winograd's), which take panels of
// 4 vectors where the target has them (wasm: 2 rows x 16 outputs per register tile,
// 9% faster than 4 x 8 on LNet's Winograd layers) and they pad nothing. Behind the
// requantising epilogue they measured slower (the first layer, 4%; V8 spills).
inline Panels i8_panels(size_t n, bool raw_sums = false) {
  size_t v = gemm_panel_vectors(n, gemm_i8_panel_width(2), gemm_i8_panel_width(3));
  if (raw_sums && gemm_i8_rows(4) != 0 && n % gemm_i8_panel_width(4) == 0) v = 4;
  return {v, gemm_i8_panel_width(v), gemm_i8_rows(v)};
}

// Whether an int8 layer may requantise by the floor_saturate epilogue
// (GemmU8Params::floor_saturate): not leaky, qmin - zp >= 0, qmax == 127 and
// max_scaled, the largest |sum x mult| its weights, bias and input range allow,
// below 2^30.
inline bool int8_floor_saturate(Act act, int32_t zp, int32_t qmin, int32_t qmax, double max_scaled) {
  return act != Act::LeakyRelu && qmin >= zp && qmax == 127 && max_scaled < 1073741824.0;
}
// max_scaled for int16 inputs x - zp in [-255, 255]: per output channel n
// (weights w[n * k .. n * k + k), bias b[n] or 0, multiplier mult[n]),
// |sum| <= |b| + 255 * sum |w|, scaled as the epilogue does.
inline double int8_max_scaled(const int8_t* w, const int32_t* b, const float* mult, size_t n, size_t k) {
  double worst = 0.0;
  for (size_t oc = 0; oc < n; ++oc) {
    int64_t sum_abs_w = 0;
    for (size_t i = 0; i < k; ++i) sum_abs_w += std::abs(static_cast<int>(w[oc * k + i]));
    const double bound =
        std::fabs(b ? static_cast<double>(b[oc]) : 0.0) + 255.0 * static_cast<double>(sum_abs_w);
    worst = std::max(worst, bound * std::fabs(static_cast<double>(mult[oc])));
  }
  return worst;
}

// conv2d_gemm.cpp: fp32; int8 on int16 (x - zero point); int8 on u8 inputs
// (only where conv2d_i8_takes_u8).
KernelPtr make_conv2d_gemm_f32(const Conv2dDesc& d, const ConvWeights& w);
KernelPtr make_conv2d_gemm_i8(const Conv2dDesc& d, const ConvWeights& w);
KernelPtr make_conv2d_gemm_u8(const Conv2dDesc& d, const ConvWeights& w);
// conv2d.cpp: the GEMM above for d's dtype and these weights.
KernelPtr make_conv2d_gemm(const Conv2dDesc& d, const ConvWeights& w);

// conv2d_winograd.cpp, 3x3 stride-1 dense convolutions: fp32 by F(2x2, 3x3)
// or F(4x4, 3x3); int8 by exact F(2x2, 3x3), nullptr where an int32 sum could
// overflow for these weights.
KernelPtr make_conv2d_winograd_f32(const Conv2dDesc& d, const ConvWeights& w);
KernelPtr make_conv2d_winograd_i8(const Conv2dDesc& d, const ConvWeights& w);

// conv2d_depthwise.cpp: fp32, or int8 with at most 512 taps (exact in fp32).
KernelPtr make_conv2d_depthwise(const Conv2dDesc& d, const ConvWeights& w);

}  // namespace faceattr::kernels::simd
