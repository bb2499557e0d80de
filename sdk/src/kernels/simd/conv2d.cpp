// The simd family's 2-D convolution: the choice between its algorithms
// (conv2d_algorithms.h). Depthwise layers take the channel-vectorised direct
// loop, 3x3 stride-1 dense layers Winograd where it suits them (not int8 layers
// that take the u8 x s8 GEMM), and everything else (grouped, strided, padded,
// 1x1) the indirect GEMM.
#include <algorithm>

#include "kernels/kernel_util.h"
#include "kernels/simd/conv2d_algorithms.h"

namespace faceattr::kernels::simd {
namespace {

// int8 depthwise accumulates exactly in fp32 up to this many taps.
constexpr int kMaxExactDepthwiseTaps = 512;
// int8 Winograd from this many input channels on. Natively 24 channels measured
// slower than direct; in wasm (WASM SIMD128, 4-lane dot products) LNet's 30x40x24
// layer takes 0.90x of the direct GEMM's time (faceattr_wasm_layers, node).
#if defined(__EMSCRIPTEN__)
constexpr int kMinWinogradI8Channels = 24;
#else
constexpr int kMinWinogradI8Channels = 32;
#endif

bool is_depthwise(const Conv2dDesc& d) { return d.groups == d.in_c && d.out_c == d.in_c; }

bool is_dense_3x3_stride1(const Conv2dDesc& d) {
  return d.groups == 1 && d.kernel_h == 3 && d.kernel_w == 3 && d.stride_h == 1 && d.stride_w == 1;
}

// fp32 Winograd is worth it when the GEMMs dominate: enough channels on both sides.
bool winograd_f32_suits(const Conv2dDesc& d) {
  return d.dtype == DType::F32 && is_dense_3x3_stride1(d) && d.in_c >= 8 && d.out_c >= 8 && d.pad_top <= 2 &&
         d.pad_left <= 2;
}

bool winograd_i8_suits(const Conv2dDesc& d) {
  return d.dtype == DType::I8 && is_dense_3x3_stride1(d) && d.in_c >= kMinWinogradI8Channels && d.out_c >= 8;
}

}  // namespace

bool conv2d_i8_takes_u8(const Conv2dDesc& d, const ConvWeights& w) {
  if (d.dtype != DType::I8 || d.groups != 1 || d.out_c < 2 || !gemm_u8_available()) return false;
  const auto* wq = static_cast<const int8_t*>(w.weights);
  const size_t n = static_cast<size_t>(d.out_c) * d.kernel_h * d.kernel_w * d.in_c;
  return std::all_of(wq, wq + n, [](int8_t v) { return v >= -64 && v <= 64; });
}

KernelPtr make_conv2d_gemm(const Conv2dDesc& d, const ConvWeights& w) {
  if (d.dtype == DType::F32) return make_conv2d_gemm_f32(d, w);
  if (conv2d_i8_takes_u8(d, w)) return make_conv2d_gemm_u8(d, w);
  return make_conv2d_gemm_i8(d, w);
}

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w)) return nullptr;
  if (is_depthwise(d) && (d.dtype == DType::F32 || d.kernel_h * d.kernel_w <= kMaxExactDepthwiseTaps)) {
    return make_conv2d_depthwise(d, w);
  }
  if (winograd_f32_suits(d)) return make_conv2d_winograd_f32(d, w);
  // int8 Winograd works on int16 (pmaddwd: 2 products per int32 lane and
  // instruction); the direct u8 x s8 GEMM multiplies 4 (vpmaddubsw + vpmaddwd,
  // or VNNI's vpdpbusd), which outweighs Winograd's 2.25x fewer products:
  // every 3x3 stride-1 layer of the shipped 7-bit ANet and LNet ran faster direct.
  if (winograd_i8_suits(d) && !conv2d_i8_takes_u8(d, w)) {
    if (KernelPtr k = make_conv2d_winograd_i8(d, w)) return k;
  }
  return make_conv2d_gemm(d, w);
}

}  // namespace faceattr::kernels::simd
