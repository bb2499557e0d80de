// Internal interface between the simd/ kernel objects (which pack weights and
// build indirection buffers) and the Highway inner loops (compiled once per
// target). Panel widths depend on the target chosen at run time, so packing
// asks for them through these functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

// Fully unrolls a loop over register-tile rows/vectors, so that the tile's
// accumulators stay in registers: without it clang (Emscripten) kept the
// accumulator arrays of the larger tiles in linear memory and stored every one
// of them on each inner-loop step in wasm. GCC and clang both read this pragma.
#define FACEATTR_UNROLL _Pragma("GCC unroll 16")

namespace faceattr::kernels::simd {

// ---- fp32 indirect GEMM (conv2d_gemm_f32.cpp) ----
// y[m][n] = act(bias[n] + sum_t sum_c x_t[m][c] * w[t][c][n]).
// ind[m * taps + t] points at the input pixel of tap t for output row m (or
// at a zero buffer); x_offset selects the group's channels.
// Packed weights: [panel][taps][kc][panel_width], zero-padded in n.
struct GemmF32Params {
  const float* const* ind = nullptr;
  size_t taps = 1, kc = 0, x_offset = 0;
  const float* packed = nullptr;
  const float* bias = nullptr;  // [panel][panel_width]
  float* y = nullptr;
  size_t y_stride = 0, y_offset = 0, n = 0;
  Act act = Act::None;
  float alpha = 0, lo = 0, hi = 0;
  size_t vectors = 2;   // SIMD vectors per panel: 2 or 3 (the packing's panel width)
  bool narrow = false;  // the 256-bit (AVX2) loops on an AVX-512 target (gemm_f32_narrow)
};
// Panels of `vectors` (2 or 3) SIMD vectors; 3 suits channel counts that 2 would
// pad (gemm_panel_vectors). narrow: of the AVX2 target's 256-bit vectors, where
// gemm_f32_narrow() allows them.
size_t gemm_f32_panel_width(size_t vectors = 2, bool narrow = false);
size_t gemm_f32_rows(size_t vectors = 2, bool narrow = false);  // rows per register tile
void gemm_f32(const GemmF32Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end);
// 256-bit panels on an AVX-512 target (x86 only). A CPU that executes a 512-bit FMA
// as two 256-bit halves (AMD Zen 4) does as much work per cycle with the AVX2
// target's 256-bit loops, so there a layer whose channel count a 512-bit panel
// pads (16 and 24 in 32, 5 in 32) runs those instead (f32_panels).
//   gemm_f32_narrow():  0 no (not an AVX-512 target, AVX2 not compiled, or no such
//                       CPU), 1 where it pays (by padded 256-bit FMAs per output row),
//                       2 always (tests, set_gemm_f32_narrow(true))
// set_gemm_f32_narrow(forced): tests force narrow panels wherever they can run;
// false restores the CPU's choice. Affects kernels created afterwards.
int gemm_f32_narrow();
void set_gemm_f32_narrow(bool forced);
// One output channel (n == 1, e.g. LNet's 1x1 conv to a single logit map): a
// dot product per output row over the taps, vectorised along the channels,
// instead of a panel of which one column is used. w: the channel's weights
// [taps][kc], contiguous; p.bias[0] its bias.
void gemv_f32(const GemmF32Params& p, const float* w, size_t m_begin, size_t m_end);

// Vectors per panel (2 or 3) for n output channels, given the panel widths of
// 2 and 3 vectors: 3 only when it pads fewer channels (24 with 8 lanes).
inline size_t gemm_panel_vectors(size_t n, size_t width2, size_t width3) {
  const size_t pad2 = (n + width2 - 1) / width2 * width2 - n, pad3 = (n + width3 - 1) / width3 * width3 - n;
  return pad3 < pad2 ? 3 : 2;
}

// ---- Winograd transforms for 3x3 stride-1 dense convolutions (conv2d_winograd_transform.cpp) ----
// Output tiles of 2x2; per tile, the 4x4 input window (zero outside the image)
// is transformed into 16 values per channel, v[e][tile][c]; conv2d_winograd.cpp runs
// the 16 GEMMs m[e] = v[e] x U[e] (U = G w G^T, packed at creation) on
// gemm_f32; the output transform sums m back to 2x2 and adds bias/activation.
// 2.25x fewer multiplications than the direct convolution.
struct WinogradF32Params {
  const float* x = nullptr;  // NHWC input
  int in_h = 0, in_w = 0, in_c = 0, pad_top = 0, pad_left = 0;
  int out_h = 0, out_w = 0, out_c = 0, tiles_h = 0, tiles_w = 0;
  size_t tiles = 0;          // batch * tiles_h * tiles_w
  float* v = nullptr;        // [16][tiles][in_c]
  const float* m = nullptr;  // [16][tiles][out_c]
  float* y = nullptr;        // NHWC output
  const float* bias = nullptr;
  Act act = Act::None;
  float alpha = 0, lo = 0, hi = 0;
  // v and m hold tiles [buf_tile0, buf_tile0 + buf_tiles) only (0: all tiles);
  // the output transform writes channels [k_begin, k_end) (k_end 0: out_c).
  size_t buf_tile0 = 0, buf_tiles = 0, k_begin = 0, k_end = 0;
};
void winograd_input_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end);
void winograd_output_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end);
// F(4x4, 3x3) on the same parameters (tiles_h/tiles_w count 4x4 output tiles):
// 6x6 input tiles, v and m hold 36 planes, U = G w G^T with the 6x3 G; 4x fewer
// multiplications than the direct convolution, for layers with enough tiles.
void winograd4_input_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end);
void winograd4_output_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end);

// int8, exact: v = B^T (x - zp) B in int16 (|v| <= 4 * 255), U' = (2G) w (2G)^T
// in int16 (|U'| <= 9 * 128), the 16 GEMMs on gemm_i8 with int32 sums (y32),
// then Y = A^T M A = 4 x the direct convolution's sum, shifted right by 2,
// plus bias and requantised like the reference. conv2d_winograd.cpp checks that no
// int32 sum can overflow for the layer's weights before choosing this path.
struct WinogradI8Params {
  const int8_t* x = nullptr;
  int in_h = 0, in_w = 0, in_c = 0, pad_top = 0, pad_left = 0;
  int32_t in_zp = 0;
  int out_h = 0, out_w = 0, out_c = 0, tiles_h = 0, tiles_w = 0;
  size_t tiles = 0;
  int16_t* v = nullptr;        // [16][tiles][in_c]
  const int32_t* m = nullptr;  // [16][tiles][out_c]
  int8_t* y = nullptr;
  const int32_t* bias = nullptr;
  const float* mult = nullptr;
  Act act = Act::None;
  float alpha = 0;
  int32_t zp = 0, qmin = -128, qmax = 127;
  size_t buf_tile0 = 0, buf_tiles = 0, k_begin = 0, k_end = 0;  // as in WinogradF32Params
  bool floor_saturate = false;  // as GemmI8Params::floor_saturate (the sums are the direct conv's)
};
void winograd_input_i8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end);
void winograd_output_i8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end);

// ---- int8 indirect GEMM on int16 (x - zero_point) inputs, int32 accumulation (conv2d_gemm_i8.cpp) ----
// Packed weights: [panel][taps][kc_pairs][panel_width * 2] int16, pairs of
// consecutive channels interleaved per output; kc odd reads one channel past
// the group, whose weight is zero.
struct GemmI8Params {
  const int16_t* const* ind = nullptr;
  size_t taps = 1, kc = 0, x_offset = 0;
  const int16_t* packed = nullptr;
  const int32_t* bias = nullptr;  // [panel][panel_width]
  const float* mult = nullptr;    // [panel][panel_width]
  int8_t* y = nullptr;
  int32_t* y32 = nullptr;  // when set: raw int32 sums (bias included) there instead of int8 in y
  size_t y_stride = 0, y_offset = 0, n = 0;
  Act act = Act::None;
  float alpha = 0;
  int32_t zp = 0, qmin = -128, qmax = 127;
  size_t vectors = 2;  // SIMD vectors per panel: 2 or 3 (the packing's panel width)
  // As GemmU8Params::floor_saturate, the bound from int16 inputs in [-255, 255].
  bool floor_saturate = false;
};
size_t gemm_i8_panel_width(size_t vectors = 2);
size_t gemm_i8_rows(size_t vectors = 2);
void gemm_i8(const GemmI8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end);
// As gemv_f32 on int16 inputs: w is [taps][kc rounded up to even] int16 (the
// pad weight 0), exact int32 sums, requantised like gemm_i8 (p.bias[0], p.mult[0]).
void gemv_i8(const GemmI8Params& p, const int16_t* w, size_t m_begin, size_t m_end);
// y[i] = x[i] - zp as int16, i in [begin, end).
void widen_sub_i8(const int8_t* x, int32_t zp, int16_t* y, size_t begin, size_t end);

// ---- exact int8 GEMM on u8 inputs for weights in [-64, 64] (AVX2 pmaddubsw, AVX3_DL vpdpbusd) ----
// u = x + 128 (x ^ 0x80); sum (x - zp) w = sum u w - (zp + 128) sum w, the
// second term folded into the bias at packing. pmaddubsw's int16 pair sums
// saturate in general but not here: |u w + u' w'| <= 255 * 128 < 32767.
// Packed weights: [panel][taps][ceil(kc / 4)][panel_width][4] int8, zero past
// kc (a tap reads up to 3 bytes past its kc channels, times weight 0).
// Panels of `vectors` (2 or 3) x kGemmU8Lanes outputs on every target.
constexpr size_t kGemmU8Lanes = 8;
struct GemmU8Params {
  const uint8_t* const* ind = nullptr;
  size_t taps = 1, kc = 0, x_offset = 0;
  const int8_t* packed = nullptr;
  const int32_t* bias = nullptr;  // [panel][panel_width], the zero-point term folded in
  const float* mult = nullptr;    // [panel][panel_width]
  int8_t* y = nullptr;
  size_t y_stride = 0, y_offset = 0, n = 0;
  Act act = Act::None;
  float alpha = 0;
  int32_t zp = 0, qmin = -128, qmax = 127;
  size_t vectors = 2;
  // Set by the planner when the activation is not leaky, qmin - zp >= 0, qmax =
  // 127 and every output's |sum x mult| < 2^30 (from the weights, bias and the
  // u8 range): the epilogue may then clamp from below before rounding (no
  // sign-dependent rounding term) and from above by a saturating store.
  bool floor_saturate = false;
};
// True on x86 targets with AVX2 or better (elsewhere gemm_u8 is a plain loop).
bool gemm_u8_available();
// Output rows per register tile for panels of `vectors` vectors (the task split's unit).
size_t gemm_u8_rows(size_t vectors = 2);
void gemm_u8(const GemmU8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end);
// y[i] = x[i] + 128 as uint8 (x ^ 0x80), i in [0, n).
void flip_i8_to_u8(const int8_t* x, uint8_t* y, size_t n);
// Whether make_conv2d / make_fully_connected (int8) take the u8 path for these
// weights: groups 1, more than one output channel, every weight in [-64, 64],
// gemm_u8_available().
bool conv2d_i8_takes_u8(const Conv2dDesc& d, const ConvWeights& w);

// ---- depthwise convolution, one output channel per input channel (conv2d_depthwise.cpp) ----
// Weights packed [tap][channels]; rows [row_begin, row_end) of batch*out_h.
struct DepthwiseParams {
  const void* x = nullptr;         // float (f32)
  const float* widened = nullptr;  // int8: (x - in_zp) as float, from widen_sub_to_f32
  void* y = nullptr;
  const float* w = nullptr;     // f32 weights, or int8 weights as float (exact)
  const float* bias = nullptr;  // f32 only
  const int32_t* bias_i32 = nullptr;
  const float* mult = nullptr;  // int8 only
  int in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  Act act = Act::None;
  float alpha = 0, lo = 0, hi = 0;
  int32_t in_zp = 0, out_zp = 0, qmin = -128, qmax = 127;
};
void depthwise_f32(const DepthwiseParams& p, size_t row_begin, size_t row_end);
void depthwise_i8(const DepthwiseParams& p, size_t row_begin, size_t row_end);
// y[i] = float(x[i] - zp), i in [begin, end).
void widen_sub_to_f32(const int8_t* x, int32_t zp, float* y, size_t begin, size_t end);

// ---- pooling and elementwise run descriptions (pooling.cpp, elementwise.cpp) ----
struct PoolRun {
  Pool2dDesc d;
  const void* x = nullptr;
  void* y = nullptr;
};
struct GapRun {
  GlobalAvgPoolDesc d;
  const void* x = nullptr;
  void* y = nullptr;
  int32_t* acc = nullptr;  // channels int32 scratch per batch row (int8)
};

enum class EwOp { AddF32, AddI8, SigmoidF32, ActivationF32, Quantize, Dequantize };
struct EwRun {
  EwOp op = EwOp::AddF32;
  const void* a = nullptr;
  const void* b = nullptr;
  void* y = nullptr;
  Act act = Act::None;
  float alpha = 0, lo = 0, hi = 0;
  float ma = 1, mb = 1, scale = 1;  // AddI8 multipliers; (de)quantize scale
  int32_t za = 0, zb = 0, zp = 0, qmin = -128, qmax = 127;
};

}  // namespace faceattr::kernels::simd
