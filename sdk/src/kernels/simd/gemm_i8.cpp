// int8 indirect GEMM (see simd_kernels.h): inputs pre-widened to int16
// (x - zero_point); pairs of channels are broadcast as one 32-bit lane and
// multiplied with interleaved int16 weight pairs by ReorderWidenMulAccumulate
// (pmaddwd on x86, i32x4.dot_i16x8 on wasm). Exact int32 accumulation; the
// requantisation matches the reference bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/gemm_i8.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

constexpr size_t kRowsI8 = 4;

size_t PanelWidthI8() { return 2 * hn::Lanes(hn::ScalableTag<int32_t>()); }
size_t RowsI8() { return kRowsI8; }

#if HWY_TARGET == HWY_SCALAR
// The scalar target has no 16-bit lane pairs: plain loops over the same packing.
template <size_t R>
HWY_INLINE void TileI8(const GemmI8Params& p, size_t m, size_t panel) {
  const size_t nr = 2;
  const size_t kp = (p.kc + 1) / 2;
  const int16_t* w = p.packed + panel * p.taps * kp * nr * 2;
  const int16_t* const* ind = p.ind + m * p.taps;
  const size_t n0 = panel * nr;
  const size_t valid = std::min(nr, p.n - n0);
  for (size_t r = 0; r < R; ++r) {
    for (size_t j = 0; j < valid; ++j) {
      int32_t acc = p.bias[n0 + j];
      for (size_t t = 0; t < p.taps; ++t) {
        const int16_t* xr = ind[r * p.taps + t] + p.x_offset;
        const int16_t* wt = w + t * kp * nr * 2;
        for (size_t c = 0; c < 2 * kp; ++c) acc += xr[c] * wt[(c / 2) * nr * 2 + 2 * j + (c % 2)];
      }
      if (p.y32 != nullptr) {
        p.y32[(m + r) * p.y_stride + p.y_offset + n0 + j] = acc;
        continue;
      }
      p.y[(m + r) * p.y_stride + p.y_offset + n0 + j] =
          requantize_scaled(static_cast<float>(acc) * p.mult[n0 + j], p.act, p.alpha, p.zp, p.qmin, p.qmax);
    }
  }
}
#else
template <size_t R>
HWY_INLINE void TileI8(const GemmI8Params& p, size_t m, size_t panel) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Repartition<int16_t, decltype(d32)> d16;
  const hn::Rebind<float, decltype(d32)> df;
  const hn::Rebind<int8_t, decltype(d32)> d8;
  using V32 = hn::Vec<decltype(d32)>;
  using V16 = hn::Vec<decltype(d16)>;
  const size_t N = hn::Lanes(d32);
  const size_t nr = 2 * N;
  const size_t kp = (p.kc + 1) / 2;
  const int16_t* w = p.packed + panel * p.taps * kp * nr * 2;
  V32 acc0[R], acc1[R], odd0[R], odd1[R];
  const V32 b0 = hn::LoadU(d32, p.bias + panel * nr), b1 = hn::LoadU(d32, p.bias + panel * nr + N);
  for (size_t r = 0; r < R; ++r) {
    acc0[r] = b0;
    acc1[r] = b1;
    odd0[r] = odd1[r] = hn::Zero(d32);
  }
  const int16_t* const* ind = p.ind + m * p.taps;
  for (size_t t = 0; t < p.taps; ++t) {
    const int16_t* xr[R];
    for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
    for (size_t j = 0; j < kp; ++j) {
      const V16 w0 = hn::LoadU(d16, w), w1 = hn::LoadU(d16, w + 2 * N);
      w += 2 * nr;
      for (size_t r = 0; r < R; ++r) {
        int32_t pair;
        std::memcpy(&pair, xr[r] + 2 * j, sizeof(pair));
        const V16 xv = hn::BitCast(d16, hn::Set(d32, pair));
        acc0[r] = hn::ReorderWidenMulAccumulate(d32, xv, w0, acc0[r], odd0[r]);
        acc1[r] = hn::ReorderWidenMulAccumulate(d32, xv, w1, acc1[r], odd1[r]);
      }
    }
  }
  const size_t n0 = panel * nr;
  const size_t valid = std::min(nr, p.n - n0);
  const auto m0 = hn::LoadU(df, p.mult + panel * nr), m1 = hn::LoadU(df, p.mult + panel * nr + N);
  for (size_t r = 0; r < R; ++r) {
    const V32 s0 = hn::RearrangeToOddPlusEven(acc0[r], odd0[r]);
    const V32 s1 = hn::RearrangeToOddPlusEven(acc1[r], odd1[r]);
    if (p.y32 != nullptr) {  // raw sums (Winograd): no requantisation
      int32_t* yr = p.y32 + (m + r) * p.y_stride + p.y_offset + n0;
      if (valid == nr) {
        hn::StoreU(s0, d32, yr);
        hn::StoreU(s1, d32, yr + N);
      } else {
        HWY_ALIGN int32_t tmp[2 * HWY_MAX_BYTES / sizeof(int32_t)];
        hn::Store(s0, d32, tmp);
        hn::Store(s1, d32, tmp + N);
        std::memcpy(yr, tmp, valid * sizeof(int32_t));
      }
      continue;
    }
    const auto q0 =
        RequantizeF32(df, hn::Mul(hn::ConvertTo(df, s0), m0), p.act, p.alpha, p.zp, p.qmin, p.qmax);
    const auto q1 =
        RequantizeF32(df, hn::Mul(hn::ConvertTo(df, s1), m1), p.act, p.alpha, p.zp, p.qmin, p.qmax);
    int8_t* yr = p.y + (m + r) * p.y_stride + p.y_offset + n0;
    if (valid == nr) {
      hn::StoreU(hn::DemoteTo(d8, q0), d8, yr);
      hn::StoreU(hn::DemoteTo(d8, q1), d8, yr + N);
    } else {
      HWY_ALIGN int8_t tmp[2 * HWY_MAX_BYTES / sizeof(int32_t)];
      hn::Store(hn::DemoteTo(d8, q0), d8, tmp);
      hn::Store(hn::DemoteTo(d8, q1), d8, tmp + N);
      std::memcpy(yr, tmp, valid);
    }
  }
}

#endif  // HWY_TARGET == HWY_SCALAR

void GemmI8(const GemmI8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  for (size_t panel = panel_begin; panel < panel_end; ++panel) {
    size_t m = m_begin;
    for (; m + kRowsI8 <= m_end; m += kRowsI8) TileI8<kRowsI8>(p, m, panel);
    switch (m_end - m) {
      case 3:
        TileI8<3>(p, m, panel);
        break;
      case 2:
        TileI8<2>(p, m, panel);
        break;
      case 1:
        TileI8<1>(p, m, panel);
        break;
      default:
        break;
    }
  }
}

void WidenSubI8(const int8_t* x, int32_t zp, int16_t* y, size_t begin, size_t end) {
  const hn::ScalableTag<int16_t> d16;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const size_t N = hn::Lanes(d16);
  const auto vzp = hn::Set(d16, static_cast<int16_t>(zp));
  size_t i = begin;
  for (; i + N <= end; i += N) hn::StoreU(hn::Sub(hn::PromoteTo(d16, hn::LoadU(d8, x + i)), vzp), d16, y + i);
  for (; i < end; ++i) y[i] = static_cast<int16_t>(x[i] - zp);
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(PanelWidthI8);
FACEATTR_HWY_EXPORT(RowsI8);
FACEATTR_HWY_EXPORT(GemmI8);
FACEATTR_HWY_EXPORT(WidenSubI8);

size_t gemm_i8_panel_width() { return FACEATTR_HWY_CALL(PanelWidthI8)(); }
size_t gemm_i8_rows() { return FACEATTR_HWY_CALL(RowsI8)(); }
void gemm_i8(const GemmI8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  FACEATTR_HWY_CALL(GemmI8)(p, m_begin, m_end, panel_begin, panel_end);
}
void widen_sub_i8(const int8_t* x, int32_t zp, int16_t* y, size_t begin, size_t end) {
  FACEATTR_HWY_CALL(WidenSubI8)(x, zp, y, begin, end);
}

}  // namespace faceattr::kernels::simd
#endif
