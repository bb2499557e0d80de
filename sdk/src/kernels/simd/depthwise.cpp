// Depthwise convolution (groups == in_c == out_c), vectorised over channels.
// int8 accumulates (x - zp) * w in fp32, which is exact while the window has
// at most 512 taps (|sum| < 2^24), then requantises like the reference.
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

template <bool kInt8>
void DepthwiseRows(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(p.channels);
  const auto* xf = static_cast<const float*>(p.x);
  const auto* xq = static_cast<const int8_t*>(p.x);
  const auto vzp = hn::Set(di, p.in_zp);
  for (size_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row) / p.out_h, oy = static_cast<int>(row) % p.out_h;
    const Span sy = ClipWindow(oy, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
    for (int ox = 0; ox < p.out_w; ++ox) {
      const Span sx = ClipWindow(ox, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
      const size_t out_base = ((static_cast<size_t>(b) * p.out_h + oy) * p.out_w + ox) * C;
      size_t c = 0;
      for (; c + N <= C; c += N) {
        auto acc = kInt8 ? hn::Zero(df) : hn::LoadU(df, p.bias + c);
        for (int ky = sy.begin; ky < sy.end; ++ky) {
          const size_t in_row = (static_cast<size_t>(b) * p.in_h + sy.first + ky) * p.in_w;
          for (int kx = sx.begin; kx < sx.end; ++kx) {
            const size_t xi = (in_row + sx.first + kx) * C + c;
            const auto wv = hn::LoadU(df, p.w + static_cast<size_t>(ky * p.kernel_w + kx) * C + c);
            if constexpr (kInt8) {
              const auto xv = hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, xq + xi)), vzp));
              acc = hn::MulAdd(xv, wv, acc);
            } else {
              acc = hn::MulAdd(hn::LoadU(df, xf + xi), wv, acc);
            }
          }
        }
        if constexpr (kInt8) {
          const auto sum = hn::Add(hn::ConvertTo(di, acc), hn::LoadU(di, p.bias_i32 + c));
          const auto scaled = hn::Mul(hn::ConvertTo(df, sum), hn::LoadU(df, p.mult + c));
          const auto q = RequantizeF32(df, scaled, p.act, p.alpha, p.out_zp, p.qmin, p.qmax);
          hn::StoreU(hn::DemoteTo(d8, q), d8, static_cast<int8_t*>(p.y) + out_base + c);
        } else {
          hn::StoreU(ApplyActF32(df, acc, p.act, p.alpha, p.lo, p.hi), df,
                     static_cast<float*>(p.y) + out_base + c);
        }
      }
      for (; c < C; ++c) {  // channel tail, scalar, same arithmetic
        float acc = kInt8 ? 0.0f : p.bias[c];
        for (int ky = sy.begin; ky < sy.end; ++ky) {
          const size_t in_row = (static_cast<size_t>(b) * p.in_h + sy.first + ky) * p.in_w;
          for (int kx = sx.begin; kx < sx.end; ++kx) {
            const size_t xi = (in_row + sx.first + kx) * C + c;
            const float wv = p.w[static_cast<size_t>(ky * p.kernel_w + kx) * C + c];
            const float xv = kInt8 ? static_cast<float>(xq[xi] - p.in_zp) : xf[xi];
            acc = std::fma(xv, wv, acc);
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
  DepthwiseRows<false>(p, row_begin, row_end);
}
void DepthwiseI8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  DepthwiseRows<true>(p, row_begin, row_end);
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(DepthwiseF32);
FACEATTR_HWY_EXPORT(DepthwiseI8);

void depthwise_f32(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseF32)(p, row_begin, row_end);
}
void depthwise_i8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseI8)(p, row_begin, row_end);
}

}  // namespace faceattr::kernels::simd
#endif
