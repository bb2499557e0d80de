// fp32 indirect GEMM (see simd_kernels.h): register tiles of kRows output
// rows x two vectors of output channels, broadcast-FMA over the packed
// weights, bias/activation fused in the epilogue.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/gemm_f32.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

constexpr size_t kRowsF32 = 6;  // 12 accumulators + 2 weight vectors + 1 broadcast fit 16 registers

size_t PanelWidthF32() { return 2 * hn::Lanes(hn::ScalableTag<float>()); }
size_t RowsF32() { return kRowsF32; }

template <size_t R>
HWY_INLINE void TileF32(const GemmF32Params& p, size_t m, size_t panel) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const size_t nr = 2 * N;
  const float* w = p.packed + panel * p.taps * p.kc * nr;
  const float* bias = p.bias + panel * nr;
  V acc0[R], acc1[R];
  const V b0 = hn::LoadU(d, bias), b1 = hn::LoadU(d, bias + N);
  for (size_t r = 0; r < R; ++r) {
    acc0[r] = b0;
    acc1[r] = b1;
  }
  const float* const* ind = p.ind + m * p.taps;
  for (size_t t = 0; t < p.taps; ++t) {
    const float* xr[R];
    for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
    for (size_t c = 0; c < p.kc; ++c) {
      const V w0 = hn::LoadU(d, w), w1 = hn::LoadU(d, w + N);
      w += nr;
      for (size_t r = 0; r < R; ++r) {
        const V xv = hn::Set(d, xr[r][c]);
        acc0[r] = hn::MulAdd(xv, w0, acc0[r]);
        acc1[r] = hn::MulAdd(xv, w1, acc1[r]);
      }
    }
  }
  const size_t n0 = panel * nr;
  const size_t valid = std::min(nr, p.n - n0);
  for (size_t r = 0; r < R; ++r) {
    const V a0 = ApplyActF32(d, acc0[r], p.act, p.alpha, p.lo, p.hi);
    const V a1 = ApplyActF32(d, acc1[r], p.act, p.alpha, p.lo, p.hi);
    float* yr = p.y + (m + r) * p.y_stride + p.y_offset + n0;
    if (valid == nr) {
      hn::StoreU(a0, d, yr);
      hn::StoreU(a1, d, yr + N);
    } else {
      HWY_ALIGN float tmp[2 * HWY_MAX_BYTES / sizeof(float)];
      hn::Store(a0, d, tmp);
      hn::Store(a1, d, tmp + N);
      std::memcpy(yr, tmp, valid * sizeof(float));
    }
  }
}

void GemmF32(const GemmF32Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  for (size_t panel = panel_begin; panel < panel_end; ++panel) {
    size_t m = m_begin;
    for (; m + kRowsF32 <= m_end; m += kRowsF32) TileF32<kRowsF32>(p, m, panel);
    switch (m_end - m) {
      case 5:
        TileF32<5>(p, m, panel);
        break;
      case 4:
        TileF32<4>(p, m, panel);
        break;
      case 3:
        TileF32<3>(p, m, panel);
        break;
      case 2:
        TileF32<2>(p, m, panel);
        break;
      case 1:
        TileF32<1>(p, m, panel);
        break;
      default:
        break;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(PanelWidthF32);
FACEATTR_HWY_EXPORT(RowsF32);
FACEATTR_HWY_EXPORT(GemmF32);

size_t gemm_f32_panel_width() { return FACEATTR_HWY_CALL(PanelWidthF32)(); }
size_t gemm_f32_rows() { return FACEATTR_HWY_CALL(RowsF32)(); }
void gemm_f32(const GemmF32Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  FACEATTR_HWY_CALL(GemmF32)(p, m_begin, m_end, panel_begin, panel_end);
}

}  // namespace faceattr::kernels::simd
#endif
