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

#include <cstddef>

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
inline Panels i8_panels(size_t n) {
  const size_t v = gemm_panel_vectors(n, gemm_i8_panel_width(2), gemm_i8_panel_width(3));
  return {v, gemm_i8_panel_width(v), gemm_i8_rows(v)};
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
