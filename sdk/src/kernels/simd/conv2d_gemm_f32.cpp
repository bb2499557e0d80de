// fp32 indirect GEMM (see simd_kernels.h): register tiles of R output rows x
// V vectors of output channels (6 x 2, or 4 x 3 for channel counts that two-
// vector panels would pad, such as 24 with 8 lanes), broadcast-FMA over the
// packed weights, bias/activation fused in the epilogue. On AVX-512 CPUs that
// split 512-bit FMAs (Zen 4), layers that 512-bit panels would pad run the AVX2
// target's loops (gemm_f32_narrow).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_gemm_f32.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernels/simd/conv2d_gemm-inl.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"
#include "kernels/simd/vec_array-inl.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// Rows per register tile: R x V accumulators + V weight vectors + 1 broadcast fit 16 registers.
// WASM SIMD128 has no FMA (MulAdd is a multiply and an add: one more temporary) and V8
// keeps one xmm register for itself: 4 x 2 and 3 x 3 there.
#if HWY_TARGET == HWY_WASM
constexpr size_t RowsFor(size_t vectors) { return vectors == 3 ? 3 : 4; }
#else
constexpr size_t RowsFor(size_t vectors) { return vectors == 3 ? 4 : 6; }
#endif

size_t PanelWidthF32(size_t vectors) { return vectors * hn::Lanes(hn::ScalableTag<float>()); }
size_t RowsF32(size_t vectors) { return RowsFor(vectors); }

// Activation of a full R x V tile, chosen at compile time: none (the Winograd
// GEMMs), clamp to [lo, hi] (ReLU, ReLU6) or the leaky slope.
constexpr int kActNone = 0, kActClamp = 1, kActLeaky = 2;
template <int kAct, size_t R, size_t V, class D, class Tile>
HWY_INLINE void StoreFullTileF32(D d, const Tile& acc, float* y, size_t y_stride, float alpha, float lo,
                                 float hi) {
  using Vec = hn::Vec<D>;
  const size_t N = hn::Lanes(d);
  const Vec vlo = hn::Set(d, lo), vhi = hn::Set(d, hi), valpha = hn::Set(d, alpha);
  FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      Vec a = acc[v][r];
      if (kAct == kActClamp) a = hn::Min(hn::Max(a, vlo), vhi);
      if (kAct == kActLeaky) a = hn::IfThenElse(hn::Lt(a, hn::Zero(d)), hn::Mul(a, valpha), a);
      hn::StoreU(a, d, y + r * y_stride + v * N);
    }
  }
}

// One R x V register tile of output rows m.. of a panel (GemmPanels).
template <size_t R, size_t V>
struct TileF32 {
  static HWY_INLINE void Run(const GemmF32Params& p, size_t m, size_t panel) {
    const hn::ScalableTag<float> d;
    using Vec = hn::Vec<decltype(d)>;
    const size_t N = hn::Lanes(d);
    const size_t nr = V * N;
    const float* w = p.packed + panel * p.taps * p.kc * nr;
    const float* bias = p.bias + panel * nr;
    FACEATTR_VEC_ARRAY2(Vec, acc, V, R);
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      const Vec b = hn::LoadU(d, bias + v * N);
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) acc[v][r] = b;
    }
    const float* const* ind = p.ind + m * p.taps;
    for (size_t t = 0; t < p.taps; ++t) {
      const float* xr[R];
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
      for (size_t c = 0; c < p.kc; ++c) {
        FACEATTR_VEC_ARRAY(Vec, wv, V);
        FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) wv[v] = hn::LoadU(d, w + v * N);
        w += nr;
        FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
          const Vec xv = hn::Set(d, xr[r][c]);
          FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) acc[v][r] = hn::MulAdd(xv, wv[v], acc[v][r]);
        }
      }
    }
    const size_t n0 = panel * nr;
    const size_t valid = std::min(nr, p.n - n0);
    // The parameters in locals first: float stores may alias p's float fields, and
    // the compiler reloaded (and re-broadcast) them for every row.
    const size_t y_stride = p.y_stride;
    float* const y = p.y + m * y_stride + p.y_offset + n0;
    const Act act = p.act;
    const float alpha = p.alpha, lo = p.lo, hi = p.hi;
    if (valid == nr) {  // a full panel: the activation chosen once per tile
      if (act == Act::None) {
        StoreFullTileF32<kActNone, R, V>(d, acc, y, y_stride, alpha, lo, hi);
      } else if (act == Act::LeakyRelu) {
        StoreFullTileF32<kActLeaky, R, V>(d, acc, y, y_stride, alpha, lo, hi);
      } else {
        StoreFullTileF32<kActClamp, R, V>(d, acc, y, y_stride, alpha, lo, hi);
      }
      return;
    }
    FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
      HWY_ALIGN float tmp[3 * HWY_MAX_BYTES / sizeof(float)];
      FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
        hn::StoreU(ApplyActF32(d, acc[v][r], act, alpha, lo, hi), d, tmp + v * N);
      }
      std::memcpy(y + r * y_stride, tmp, valid * sizeof(float));  // a partial panel (the last one)
    }
  }
};

void GemmF32(const GemmF32Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  GemmPanelsByWidth<TileF32, RowsFor(2), RowsFor(3)>(p, m_begin, m_end, panel_begin, panel_end);
}

void GemvF32(const GemmF32Params& p, const float* w, size_t m_begin, size_t m_end) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t kc = p.kc;
  for (size_t m = m_begin; m < m_end; ++m) {
    auto acc0 = hn::Zero(d), acc1 = hn::Zero(d);
    float tail = 0.0f;
    for (size_t t = 0; t < p.taps; ++t) {
      const float* x = p.ind[m * p.taps + t] + p.x_offset;
      const float* wt = w + t * kc;
      size_t c = 0;
      for (; c + 2 * N <= kc; c += 2 * N) {
        acc0 = hn::MulAdd(hn::LoadU(d, x + c), hn::LoadU(d, wt + c), acc0);
        acc1 = hn::MulAdd(hn::LoadU(d, x + c + N), hn::LoadU(d, wt + c + N), acc1);
      }
      for (; c + N <= kc; c += N) acc0 = hn::MulAdd(hn::LoadU(d, x + c), hn::LoadU(d, wt + c), acc0);
      for (; c < kc; ++c) tail += x[c] * wt[c];
    }
    const float v = p.bias[0] + hn::GetLane(hn::SumOfLanes(d, hn::Add(acc0, acc1))) + tail;
    p.y[m * p.y_stride + p.y_offset] =
        p.act == Act::LeakyRelu ? (v < 0.0f ? v * p.alpha : v) : std::min(std::max(v, p.lo), p.hi);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <atomic>

#include "kernels/simd/hwy_dispatch.h"

#if HWY_ARCH_X86 && !defined(__EMSCRIPTEN__)
#include <cpuid.h>
#endif

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(PanelWidthF32);
FACEATTR_HWY_EXPORT(RowsF32);
FACEATTR_HWY_EXPORT(GemmF32);
FACEATTR_HWY_EXPORT(GemvF32);

namespace {

#if HWY_ARCH_X86 && !defined(__EMSCRIPTEN__) && (HWY_TARGETS & HWY_AVX2)
#define FACEATTR_F32_NARROW 1
// AMD family 19h (Zen 3, Zen 4): those with AVX-512 (Zen 4) split each 512-bit
// FMA into two 256-bit halves.
bool splits_512_bit_fma() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  const bool amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u;  // "AuthenticAMD"
  if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return false;
  const unsigned family = ((a >> 8) & 0xfu) + (((a >> 8) & 0xfu) == 0xfu ? (a >> 20) & 0xffu : 0u);
  return family == 0x19;
}
#endif

std::atomic<bool> g_forced{false};

}  // namespace

int gemm_f32_narrow() {
#ifdef FACEATTR_F32_NARROW
  // An AVX-512 target runs (16 float lanes) and this CPU can run the AVX2 loops.
  if (FACEATTR_HWY_CALL(PanelWidthF32)(1) < 16 || (hwy::SupportedTargets() & HWY_AVX2) == 0) return 0;
  if (g_forced.load(std::memory_order_relaxed)) return 2;
  static const bool splits = splits_512_bit_fma();
  return splits ? 1 : 0;
#else
  return 0;
#endif
}

void set_gemm_f32_narrow(bool forced) { g_forced.store(forced, std::memory_order_relaxed); }

size_t gemm_f32_panel_width(size_t vectors, bool narrow) {
#ifdef FACEATTR_F32_NARROW
  if (narrow) return N_AVX2::PanelWidthF32(vectors);
#endif
  (void)narrow;
  return FACEATTR_HWY_CALL(PanelWidthF32)(vectors);
}
size_t gemm_f32_rows(size_t vectors, bool narrow) {
#ifdef FACEATTR_F32_NARROW
  if (narrow) return N_AVX2::RowsF32(vectors);
#endif
  (void)narrow;
  return FACEATTR_HWY_CALL(RowsF32)(vectors);
}
void gemm_f32(const GemmF32Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
#ifdef FACEATTR_F32_NARROW
  if (p.narrow) return N_AVX2::GemmF32(p, m_begin, m_end, panel_begin, panel_end);
#endif
  FACEATTR_HWY_CALL(GemmF32)(p, m_begin, m_end, panel_begin, panel_end);
}
void gemv_f32(const GemmF32Params& p, const float* w, size_t m_begin, size_t m_end) {
  FACEATTR_HWY_CALL(GemvF32)(p, w, m_begin, m_end);
}

}  // namespace faceattr::kernels::simd
#endif
