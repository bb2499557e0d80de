// Depthwise convolution (groups == in_c == out_c), vectorised over channels.
// int8 first widens the input to fp32 (x - zp) once per run, then accumulates
// in fp32, which is exact while the window has at most 512 taps
// (|sum| < 2^24), and requantises like the reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/depthwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// Window bounds of one output position along one axis, clipped to the input.
struct Span {
  int first, begin, end;  // input index of tap 0; valid taps [begin, end)
};
HWY_INLINE Span ClipWindow(int o, int stride, int pad, int kernel, int in) {
  const int first = o * stride - pad;
  return {first, std::max(0, -first), std::min(kernel, in - first)};
}

// NV vectors of channels [c, c + NV * N) of one output pixel. x is fp32: the
// input itself, or for int8 the pre-widened (x - zero point) copy.
template <size_t NV, bool kInt8>
HWY_INLINE void DepthwiseBlock(const DepthwiseParams& p, const float* x, size_t in_base, const Span& sy,
                               const Span& sx, size_t c, size_t out_base) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(p.channels);
  V acc[NV];
  for (size_t v = 0; v < NV; ++v) acc[v] = kInt8 ? hn::Zero(df) : hn::LoadU(df, p.bias + c + v * N);
  for (int ky = sy.begin; ky < sy.end; ++ky) {
    const float* xrow = x + in_base + (static_cast<size_t>(sy.first + ky) * p.in_w + sx.first) * C + c;
    const float* wrow = p.w + static_cast<size_t>(ky * p.kernel_w) * C + c;
    for (int kx = sx.begin; kx < sx.end; ++kx) {
      const float* xp = xrow + static_cast<size_t>(kx) * C;
      const float* wp = wrow + static_cast<size_t>(kx) * C;
      for (size_t v = 0; v < NV; ++v)
        acc[v] = hn::MulAdd(hn::LoadU(df, xp + v * N), hn::LoadU(df, wp + v * N), acc[v]);
    }
  }
  for (size_t v = 0; v < NV; ++v) {
    const size_t cv = c + v * N;
    if constexpr (kInt8) {
      const auto sum = hn::Add(hn::ConvertTo(di, acc[v]), hn::LoadU(di, p.bias_i32 + cv));
      const auto scaled = hn::Mul(hn::ConvertTo(df, sum), hn::LoadU(df, p.mult + cv));
      const auto q = RequantizeF32(df, scaled, p.act, p.alpha, p.out_zp, p.qmin, p.qmax);
      hn::StoreU(hn::DemoteTo(d8, q), d8, static_cast<int8_t*>(p.y) + out_base + cv);
    } else {
      hn::StoreU(ApplyActF32(df, acc[v], p.act, p.alpha, p.lo, p.hi), df,
                 static_cast<float*>(p.y) + out_base + cv);
    }
  }
}

template <bool kInt8>
void DepthwiseRows(const DepthwiseParams& p, const float* x, size_t row_begin, size_t row_end) {
  const size_t N = hn::Lanes(hn::ScalableTag<float>());
  const size_t C = static_cast<size_t>(p.channels);
  for (size_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row) / p.out_h, oy = static_cast<int>(row) % p.out_h;
    const Span sy = ClipWindow(oy, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
    const size_t in_base = static_cast<size_t>(b) * p.in_h * p.in_w * C;
    for (int ox = 0; ox < p.out_w; ++ox) {
      const Span sx = ClipWindow(ox, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
      const size_t out_base = ((static_cast<size_t>(b) * p.out_h + oy) * p.out_w + ox) * C;
      size_t c = 0;
      for (; c + 4 * N <= C; c += 4 * N) DepthwiseBlock<4, kInt8>(p, x, in_base, sy, sx, c, out_base);
      switch ((C - c) / N) {
        case 3:
          DepthwiseBlock<3, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        case 2:
          DepthwiseBlock<2, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        case 1:
          DepthwiseBlock<1, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        default:
          break;
      }
      c += (C - c) / N * N;
      for (; c < C; ++c) {  // channel tail, scalar, same arithmetic
        float acc = kInt8 ? 0.0f : p.bias[c];
        for (int ky = sy.begin; ky < sy.end; ++ky) {
          for (int kx = sx.begin; kx < sx.end; ++kx) {
            const size_t xi = in_base + (static_cast<size_t>(sy.first + ky) * p.in_w + sx.first + kx) * C + c;
            acc = std::fma(x[xi], p.w[static_cast<size_t>(ky * p.kernel_w + kx) * C + c], acc);
          }
        }
        if constexpr (kInt8) {
          const int32_t sum = static_cast<int32_t>(acc) + p.bias_i32[c];
          static_cast<int8_t*>(p.y)[out_base + c] = requantize_scaled(
              static_cast<float>(sum) * p.mult[c], p.act, p.alpha, p.out_zp, p.qmin, p.qmax);
        } else {
          static_cast<float*>(p.y)[out_base + c] =
              p.act == Act::LeakyRelu ? apply_act(acc, p.act, p.alpha) : std::min(std::max(acc, p.lo), p.hi);
        }
      }
    }
  }
}

void DepthwiseF32(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  DepthwiseRows<false>(p, static_cast<const float*>(p.x), row_begin, row_end);
}
void DepthwiseI8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  DepthwiseRows<true>(p, p.widened, row_begin, row_end);
}

void WidenSubToF32(const int8_t* x, int32_t zp, float* y, size_t begin, size_t end) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto vzp = hn::Set(di, zp);
  size_t i = begin;
  for (; i + N <= end; i += N) {
    hn::StoreU(hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, x + i)), vzp)), df, y + i);
  }
  for (; i < end; ++i) y[i] = static_cast<float>(x[i] - zp);
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(DepthwiseF32);
FACEATTR_HWY_EXPORT(DepthwiseI8);
FACEATTR_HWY_EXPORT(WidenSubToF32);

void depthwise_f32(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseF32)(p, row_begin, row_end);
}
void depthwise_i8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseI8)(p, row_begin, row_end);
}
void widen_sub_to_f32(const int8_t* x, int32_t zp, float* y, size_t begin, size_t end) {
  FACEATTR_HWY_CALL(WidenSubToF32)(x, zp, y, begin, end);
}

}  // namespace faceattr::kernels::simd
#endif
