// int8 indirect GEMM (see simd_kernels.h): inputs pre-widened to int16
// (x - zero_point); pairs of channels are broadcast as one 32-bit lane and
// multiplied with interleaved int16 weight pairs by ReorderWidenMulAccumulate
// (pmaddwd on x86, i32x4.dot_i16x8 on wasm; VNNI's vpdpwssd on AVX3_DL). Exact
// int32 accumulation; the requantisation matches the reference bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_gemm_i8.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/kernel_util.h"
#include "kernels/simd/simd_kernels.h"

// AVX3_DL (AVX-512 with VNNI): this file's code for that target is compiled
// with avx512vnni added. Highway 1.0.3's AVX3_DL target attribute names
// "avxvnni" (the VEX-encoded AVX-VNNI of Alder Lake and later) instead, which
// GCC 12 does not accept for the AVX-512 VNNI intrinsics. With avxvnni on, GCC
// also encodes a 256-bit vpdpbusd as VEX, which Ice Lake and Zen 4 (AVX512-VNNI
// without AVX-VNNI) cannot run, so only the 512-bit forms (always EVEX) are
// used. Highway picks AVX3_DL only on CPUs with AVX512-VNNI (CPUID 7.ECX[11]).
// The pragma comes after the include-guarded headers, so only this target's
// code (its namespace and the per-target -inl.h files) is affected. GCC only:
// clang's target attributes do not add up like GCC's pragmas, so a clang
// build runs the AVX3 code here on AVX3_DL.
#if HWY_TARGET == HWY_AVX3_DL && HWY_COMPILER_GCC_ACTUAL
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#define FACEATTR_GEMM_VNNI 1
#else
#define FACEATTR_GEMM_VNNI 0
#endif

#include "kernels/simd/conv2d_gemm-inl.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/vec_array-inl.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// Rows per register tile: R x V int32 sums + V weight vectors + 1 broadcast + 1
// product (pmaddwd does not accumulate) fit 16 registers: 6 x 2, 3 x 3. AVX3_DL
// has 32 registers and vpdpwssd accumulates in place (no product register):
// 8 x 2 or 6 x 3 sums, at least the 10 independent sums that two 5-cycle
// vpdpwssd per cycle need, while every shorter tail tile (instantiated and
// unrolled) keeps the code small. Targets other than AVX2 / AVX-512 keep 4 x 2 (V8
// reserves an xmm register in wasm, and SSE4's pmaddwd overwrites its operand).
#if FACEATTR_GEMM_VNNI
constexpr size_t RowsFor(size_t vectors) { return vectors == 3 ? 6 : 8; }
#elif HWY_TARGET <= HWY_AVX2
constexpr size_t RowsFor(size_t vectors) { return vectors == 3 ? 3 : 6; }
#elif HWY_TARGET == HWY_WASM
#define FACEATTR_GEMM_I8_WIDE 1
constexpr size_t RowsFor(size_t vectors) { return vectors == 4 ? 2 : vectors == 3 ? 3 : 4; }
#else
constexpr size_t RowsFor(size_t vectors) { return vectors == 3 ? 3 : 4; }
#endif

// acc + the int16 pair products of x and w summed per int32 lane, exactly (no
// saturation): one vpdpwssd on AVX3_DL, else ReorderWidenMulAccumulate
// (whose `odd` sums only NEON and the emulated targets use).
template <class D32, class V32, class V16>
HWY_INLINE V32 DotPairsAccumulate(D32 d32, V16 x, V16 w, V32 acc, V32& odd) {
#if FACEATTR_GEMM_VNNI
  static_assert(sizeof(acc.raw) == 64, "AVX3_DL: 512-bit vectors only (EVEX)");
  (void)d32;
  (void)odd;
  return V32{_mm512_dpwssd_epi32(acc.raw, x.raw, w.raw)};
#else
  return hn::ReorderWidenMulAccumulate(d32, x, w, acc, odd);
#endif
}

#ifndef FACEATTR_GEMM_I8_WIDE
#define FACEATTR_GEMM_I8_WIDE 0
#endif

size_t PanelWidthI8(size_t vectors) { return vectors * hn::Lanes(hn::ScalableTag<int32_t>()); }
size_t RowsI8(size_t vectors) { return vectors == 4 && !FACEATTR_GEMM_I8_WIDE ? 0 : RowsFor(vectors); }

#if HWY_TARGET == HWY_SCALAR
// The scalar target has no 16-bit lane pairs: plain loops over the same packing.
template <size_t R, size_t V>
struct TileI8 {
  static HWY_INLINE void Run(const GemmI8Params& p, size_t m, size_t panel) {
    const size_t nr = V;
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
};
#else
// Two vectors of int32 lanes stored as 2N int8 in order, saturating (the upper
// clamp of the floor_saturate epilogue). AVX2: one pack to int16, one to int8
// and one lane permute for both vectors (DemoteTo takes three operations and a
// store per vector); wasm: two narrows and one 8-byte store for both (DemoteTo:
// two narrows and a store per vector).
template <class D32, class V32>
HWY_INLINE void StorePairI8(D32 d32, V32 a, V32 b, int8_t* dst) {
#if HWY_TARGET == HWY_AVX2
  (void)d32;
  const __m256i i16 = _mm256_packs_epi32(a.raw, b.raw);  // a0-3 b0-3 | a4-7 b4-7
  const __m256i i8 = _mm256_packs_epi16(i16, i16);       // dwords: a0-3 b0-3 a0-3 b0-3 | a4-7 b4-7 ...
  const __m256i order = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(order));
#elif HWY_TARGET == HWY_WASM
  (void)d32;
  const v128_t i16 = wasm_i16x8_narrow_i32x4(a.raw, b.raw);
  wasm_v128_store64_lane(dst, wasm_i8x16_narrow_i16x8(i16, i16), 0);
#else
  const hn::Rebind<int8_t, D32> d8;
  hn::StoreU(hn::DemoteTo(d8, a), d8, dst);
  hn::StoreU(hn::DemoteTo(d8, b), d8, dst + hn::Lanes(d32));
#endif
}

// Requantises and stores an R x V tile whose V vectors are all valid outputs.
template <EpilogueAct kAct, size_t R, size_t V, class D32, class DF, class Tile, class Mult>
HWY_INLINE void StoreFullTileI8(D32 d32, DF df, const Tile& acc, const Mult& mult, int8_t* y, size_t y_stride,
                                float alpha, int32_t zp, int32_t qmin, int32_t qmax) {
  const hn::Rebind<int8_t, D32> d8;
  using V32 = hn::Vec<D32>;
  const size_t N = hn::Lanes(d32);
  FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
    int8_t* yr = y + r * y_stride;
    FACEATTR_VEC_ARRAY(V32, q, V);
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      q[v] = RequantizeTile<kAct>(df, hn::Mul(hn::ConvertTo(df, acc[v][r]), mult[v]), alpha, zp, qmin, qmax);
    }
    size_t v = 0;
    FACEATTR_UNROLL for (; v + 2 <= V; v += 2) StorePairI8(d32, q[v], q[v + 1], yr + v * N);
    if (v < V) hn::StoreU(hn::DemoteTo(d8, q[v]), d8, yr + v * N);
  }
}

// Requantises and stores an R x V tile of int32 sums to output rows m.. and
// channels n0.. of p (GemmI8Params or GemmU8Params): whole vectors for a full
// panel, else through a scratch row (the last, partial panel).
template <size_t R, size_t V, class D32, class P, class Tile>
HWY_INLINE void StoreTileI8(D32 d32, const P& p, size_t m, size_t n0, const Tile& sums) {
  const hn::Rebind<float, D32> df;
  const hn::Rebind<int8_t, D32> d8;
  const size_t N = hn::Lanes(d32), nr = V * N;
  const size_t valid = std::min(nr, p.n - n0);
  // The requantisation parameters in locals first: the int8 (and vector) stores
  // may alias *p, and the compiler reloaded (and re-broadcast) them for every row.
  const Act act = p.act;
  const float alpha = p.alpha;
  const int32_t zp = p.zp, qmin = p.qmin, qmax = p.qmax;
  const size_t y_stride = p.y_stride;
  int8_t* const y = p.y + m * y_stride + p.y_offset + n0;
  using VF = hn::Vec<decltype(df)>;
  FACEATTR_VEC_ARRAY(VF, mult, V);
  FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) mult[v] = hn::LoadU(df, p.mult + n0 + v * N);
  if (valid == nr) {  // a full panel: no partial stores, the activation chosen once per tile
    switch (EpilogueActFor(act, alpha, p.floor_saturate)) {
      case EpilogueAct::kNone:
        StoreFullTileI8<EpilogueAct::kNone, R, V>(d32, df, sums, mult, y, y_stride, alpha, zp, qmin, qmax);
        break;
      case EpilogueAct::kLeakyMax:
        StoreFullTileI8<EpilogueAct::kLeakyMax, R, V>(d32, df, sums, mult, y, y_stride, alpha, zp, qmin,
                                                      qmax);
        break;
      case EpilogueAct::kLeakySelect:
        StoreFullTileI8<EpilogueAct::kLeakySelect, R, V>(d32, df, sums, mult, y, y_stride, alpha, zp, qmin,
                                                         qmax);
        break;
      case EpilogueAct::kFloorSaturate:
        StoreFullTileI8<EpilogueAct::kFloorSaturate, R, V>(d32, df, sums, mult, y, y_stride, alpha, zp, qmin,
                                                           qmax);
        break;
    }
    return;
  }
  FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
    HWY_ALIGN int8_t tmp[4 * HWY_MAX_BYTES / sizeof(int32_t)];
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      const auto q =
          RequantizeF32(df, hn::Mul(hn::ConvertTo(df, sums[v][r]), mult[v]), act, alpha, zp, qmin, qmax);
      hn::StoreU(hn::DemoteTo(d8, q), d8, tmp + v * N);
    }
    std::memcpy(y + r * y_stride, tmp, valid);  // a partial panel (the last one)
  }
}

template <size_t R, size_t V>
struct TileI8 {
  static HWY_INLINE void Run(const GemmI8Params& p, size_t m, size_t panel) {
    const hn::ScalableTag<int32_t> d32;
    const hn::Repartition<int16_t, decltype(d32)> d16;
    using V32 = hn::Vec<decltype(d32)>;
    using V16 = hn::Vec<decltype(d16)>;
    const size_t N = hn::Lanes(d32);
    const size_t nr = V * N;
    const size_t kp = (p.kc + 1) / 2;
    const int16_t* w = p.packed + panel * p.taps * kp * nr * 2;
    // Where `odd` stays unused (x86, wasm: RearrangeToOddPlusEven returns `acc`) the
    // sums start at the bias, which the epilogue then need not hold in registers (the
    // wide wasm tile's 4 bias vectors made V8 spill). Elsewhere they start at zero and
    // the bias is added after RearrangeToOddPlusEven: on NEON that is a pairwise add
    // of the two partial sums (vpaddq), which would mix neighbouring lanes of a bias
    // put in `acc`.
    // SVE's RearrangeToOddPlusEven is a plain Add, so the bias can start the sums there too.
    constexpr bool kBiasInSums = HWY_ARCH_X86 || HWY_TARGET == HWY_WASM || HWY_HAVE_SCALABLE;
    FACEATTR_VEC_ARRAY2(V32, acc, V, R);
    FACEATTR_VEC_ARRAY2(V32, odd, V, R);
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      const V32 start = kBiasInSums ? hn::LoadU(d32, p.bias + panel * nr + v * N) : hn::Zero(d32);
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
        acc[v][r] = start;
        odd[v][r] = hn::Zero(d32);
      }
    }
    const int16_t* const* ind = p.ind + m * p.taps;
    for (size_t t = 0; t < p.taps; ++t) {
      const int16_t* xr[R];
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
      for (size_t j = 0; j < kp; ++j) {
        FACEATTR_VEC_ARRAY(V16, wv, V);
        FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) wv[v] = hn::LoadU(d16, w + 2 * v * N);
        w += 2 * nr;
        FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
          int32_t pair;
          std::memcpy(&pair, xr[r] + 2 * j, sizeof(pair));
          const V16 xv = hn::BitCast(d16, hn::Set(d32, pair));
          FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) acc[v][r] =
              DotPairsAccumulate(d32, xv, wv[v], acc[v][r], odd[v][r]);
        }
      }
    }
    const size_t n0 = panel * nr;
    const size_t valid = std::min(nr, p.n - n0);
    if (p.y32 != nullptr) {  // raw sums (Winograd): no requantisation
      // (Locals: vector stores may alias anything, so p's fields were reloaded per row.)
      int32_t* const y32 = p.y32 + m * p.y_stride + p.y_offset + n0;
      const size_t y32_stride = p.y_stride;
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
        int32_t* yr = y32 + r * y32_stride;
        HWY_ALIGN int32_t tmp[4 * HWY_MAX_BYTES / sizeof(int32_t)];
        FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
          V32 s = hn::RearrangeToOddPlusEven(acc[v][r], odd[v][r]);
          if constexpr (!kBiasInSums) s = hn::Add(s, hn::LoadU(d32, p.bias + n0 + v * N));
          if (valid == nr) {
            hn::StoreU(s, d32, yr + v * N);
          } else {
            hn::StoreU(s, d32, tmp + v * N);
          }
        }
        if (valid != nr) std::memcpy(yr, tmp, valid * sizeof(int32_t));
      }
      return;
    }
    FACEATTR_VEC_ARRAY2(V32, sums, V, R);
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
        sums[v][r] = hn::RearrangeToOddPlusEven(acc[v][r], odd[v][r]);
        if constexpr (!kBiasInSums) sums[v][r] = hn::Add(sums[v][r], hn::LoadU(d32, p.bias + n0 + v * N));
      }
    }
    StoreTileI8<R, V>(d32, p, m, n0, sums);
  }
};

#endif  // HWY_TARGET == HWY_SCALAR

void GemmI8(const GemmI8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
#if FACEATTR_GEMM_I8_WIDE
  if (p.vectors == 4) {
    GemmPanels<TileI8, 4, RowsFor(4)>(p, m_begin, m_end, panel_begin, panel_end);
    return;
  }
#endif
  GemmPanelsByWidth<TileI8, RowsFor(2), RowsFor(3)>(p, m_begin, m_end, panel_begin, panel_end);
}

void GemvI8(const GemmI8Params& p, const int16_t* w, size_t m_begin, size_t m_end) {
  const size_t kc2 = (p.kc + 1) / 2 * 2;  // an odd kc reads one past, times the zero pad weight
  for (size_t m = m_begin; m < m_end; ++m) {
    int32_t sum = p.bias[0];
    size_t c0 = 0;  // channels [0, c0) of every tap summed by the vector loop
#if HWY_TARGET != HWY_SCALAR
    const hn::ScalableTag<int32_t> d32;
    const hn::Repartition<int16_t, decltype(d32)> d16;
    const size_t N16 = hn::Lanes(d16);
    auto acc = hn::Zero(d32), odd = hn::Zero(d32);
    c0 = kc2 / N16 * N16;
#if FACEATTR_GEMM_VNNI
    // The last channels by a masked (non-faulting) load: left to a scalar
    // loop, GCC vectorised it into a VEX vpdpwssd (see the top of the file).
    const auto tail = hn::FirstN(d16, kc2 - c0);
#endif
    for (size_t t = 0; t < p.taps; ++t) {
      const int16_t* x = p.ind[m * p.taps + t] + p.x_offset;
      const int16_t* wt = w + t * kc2;
      for (size_t c = 0; c < c0; c += N16)
        acc = DotPairsAccumulate(d32, hn::LoadU(d16, x + c), hn::LoadU(d16, wt + c), acc, odd);
#if FACEATTR_GEMM_VNNI
      acc = DotPairsAccumulate(d32, hn::MaskedLoad(tail, d16, x + c0), hn::MaskedLoad(tail, d16, wt + c0),
                               acc, odd);
#endif
    }
    sum += hn::GetLane(hn::SumOfLanes(d32, hn::RearrangeToOddPlusEven(acc, odd)));
#if FACEATTR_GEMM_VNNI
    c0 = kc2;
#endif
#endif
    for (size_t t = 0; t < p.taps; ++t) {
      const int16_t* x = p.ind[m * p.taps + t] + p.x_offset;
      const int16_t* wt = w + t * kc2;
      for (size_t c = c0; c < kc2; ++c) sum += x[c] * wt[c];
    }
    if (p.y32 != nullptr) {
      p.y32[m * p.y_stride + p.y_offset] = sum;
    } else {
      p.y[m * p.y_stride + p.y_offset] =
          requantize_scaled(static_cast<float>(sum) * p.mult[0], p.act, p.alpha, p.zp, p.qmin, p.qmax);
    }
  }
}

// ---- exact u8 x s8 GEMM for weights in [-64, 64] (see simd_kernels.h) ----
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
bool U8Available() { return true; }

#if FACEATTR_GEMM_VNNI
// AVX3_DL: vpdpbusd adds the 4 u8 x s8 products of each int32 lane to its sum
// in one instruction, exactly (no int16 step). Two 8-lane vectors of a panel
// (16 outputs x 4 channels: 64 contiguous bytes of the packing) are one zmm
// register; a third (V = 3) is one ymm register, multiplied by a 256-bit
// vpdpbusd, which costs half a 512-bit one where the CPU splits 512-bit
// operations (Zen 4). R x (V - 1) sums + V - 1 weights + 1 broadcast of 32
// registers: 10 x 1 (V = 2) or 6 x 2 (V = 3), at least 10 independent sums.
constexpr size_t kRowsU8V2 = 10, kRowsU8V3 = 6;

// acc + the u8 x s8 quad products of x and w per int32 lane, 256-bit and EVEX-encoded:
// with avxvnni in the target attributes (see the top of this file) GCC would emit the
// VEX form of _mm256_dpbusd_epi32, which CPUs with AVX512-VNNI but without AVX-VNNI
// (Ice Lake, Zen 4) cannot run; "{evex}" makes the assembler use the EVEX form.
HWY_INLINE __m256i DotQuads256(__m256i acc, __m256i x, __m256i w) {
  __asm__("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
  return acc;
}

// Requantises and stores a full panel's R rows from the tile's registers: the
// first 16 outputs of each row in one zmm, the third vector (kOdd) in one ymm,
// each by one saturating vpmovsdb. Half the instructions of requantising 8
// lanes at a time.
template <EpilogueAct kAct, size_t R, bool kOdd>
HWY_INLINE void StoreFullTileU8(const GemmU8Params& p, size_t m, size_t n0, const __m512i (&acc)[R],
                                const __m256i (&acc3)[kOdd ? R : 1]) {
  const hn::Full512<float> df;
  const hn::Full256<float> df8;
  // Locals: the int8 stores may alias *p (see StoreTileI8).
  const float alpha = p.alpha;
  const int32_t zp = p.zp, qmin = p.qmin, qmax = p.qmax;
  const size_t y_stride = p.y_stride;
  int8_t* const y = p.y + m * y_stride + p.y_offset + n0;
  const auto mult01 = hn::LoadU(df, p.mult + n0);
  const auto mult2 = kOdd ? hn::LoadU(df8, p.mult + n0 + 16) : hn::Zero(df8);
  FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
    int8_t* yr = y + r * y_stride;
    const auto q = RequantizeTile<kAct>(df, hn::Mul(hn::ConvertTo(df, hn::Vec512<int32_t>{acc[r]}), mult01),
                                        alpha, zp, qmin, qmax);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(yr), _mm512_cvtsepi32_epi8(q.raw));
    if constexpr (kOdd) {
      const auto q2 = RequantizeTile<kAct>(
          df8, hn::Mul(hn::ConvertTo(df8, hn::Vec256<int32_t>{acc3[r]}), mult2), alpha, zp, qmin, qmax);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(yr + 16), _mm256_cvtsepi32_epi8(q2.raw));
    }
  }
}

template <size_t R, size_t V>
struct TileU8 {
  static HWY_INLINE void Run(const GemmU8Params& p, size_t m, size_t panel) {
    static_assert(V == 2 || V == 3, "panels of 2 or 3 vectors");
    const hn::Full256<int32_t> d32;
    using V32 = hn::Vec<decltype(d32)>;
    constexpr size_t N = 8, nr = V * N;
    constexpr bool kOdd = V == 3;  // the third vector in a ymm register
    const size_t kq = (p.kc + 3) / 4;
    const int8_t* w = p.packed + panel * p.taps * kq * nr * 4;
    __m512i acc[R];
    __m256i acc3[kOdd ? R : 1];
    {
      const int32_t* b = p.bias + panel * nr;
      const __m512i b01 = _mm512_loadu_si512(b);
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) acc[r] = b01;
      if constexpr (kOdd) {
        const __m256i b2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2 * N));
        FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) acc3[r] = b2;
      }
    }
    const uint8_t* const* ind = p.ind + m * p.taps;
    for (size_t t = 0; t < p.taps; ++t) {
      const uint8_t* xr[R];
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
      for (size_t j = 0; j < kq; ++j) {
        const __m512i w01 = _mm512_loadu_si512(w);
        __m256i w2 = _mm256_setzero_si256();
        if constexpr (kOdd) w2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 8 * N));
        w += 4 * nr;
        FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
          int32_t quad;
          std::memcpy(&quad, xr[r] + 4 * j, sizeof(quad));
          const __m512i xv = _mm512_set1_epi32(quad);
          acc[r] = _mm512_dpbusd_epi32(acc[r], xv, w01);
          if constexpr (kOdd) acc3[r] = DotQuads256(acc3[r], _mm512_castsi512_si256(xv), w2);
        }
      }
    }
    const size_t n0 = panel * nr;
    if (n0 + nr <= p.n) {  // a full panel
      switch (EpilogueActFor(p.act, p.alpha, p.floor_saturate)) {
        case EpilogueAct::kFloorSaturate:
          StoreFullTileU8<EpilogueAct::kFloorSaturate, R, kOdd>(p, m, n0, acc, acc3);
          break;
        case EpilogueAct::kNone:
          StoreFullTileU8<EpilogueAct::kNone, R, kOdd>(p, m, n0, acc, acc3);
          break;
        case EpilogueAct::kLeakyMax:
          StoreFullTileU8<EpilogueAct::kLeakyMax, R, kOdd>(p, m, n0, acc, acc3);
          break;
        case EpilogueAct::kLeakySelect:
          StoreFullTileU8<EpilogueAct::kLeakySelect, R, kOdd>(p, m, n0, acc, acc3);
          break;
      }
      return;
    }
    V32 sums[V][R];
    FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
      sums[0][r] = V32{_mm512_castsi512_si256(acc[r])};
      sums[1][r] = V32{_mm512_extracti64x4_epi64(acc[r], 1)};
      if constexpr (kOdd) sums[V - 1][r] = V32{acc3[r]};
    }
    StoreTileI8<R, V>(d32, p, m, n0, sums);
  }
};
#else
// R x V sums + V weights + broadcast + product: 16 ymm registers, 6 x 2 or 3 x 3.
constexpr size_t kRowsU8V2 = 6, kRowsU8V3 = 3;

// One R x V tile of 8-lane int32 sums (256-bit vectors also on AVX-512
// targets): per group of 4 channels, each row's 4 input bytes are broadcast,
// pmaddubsw multiplies them with the V weight vectors (8 outputs x 4 channels)
// into int16 pair sums (|u w + u' w'| <= 255 * 128 < 2^15: never saturates),
// pmaddwd by ones adds the pairs to int32, paddd accumulates.
template <size_t R, size_t V>
struct TileU8 {
  static HWY_INLINE void Run(const GemmU8Params& p, size_t m, size_t panel) {
    const hn::Full256<int32_t> d32;
    using V32 = hn::Vec<decltype(d32)>;
    constexpr size_t N = 8, nr = V * N;
    const size_t kq = (p.kc + 3) / 4;
    const int8_t* w = p.packed + panel * p.taps * kq * nr * 4;
    __m256i acc[V][R];
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.bias + panel * nr + v * N));
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) acc[v][r] = b;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t* const* ind = p.ind + m * p.taps;
    for (size_t t = 0; t < p.taps; ++t) {
      const uint8_t* xr[R];
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) xr[r] = ind[r * p.taps + t] + p.x_offset;
      for (size_t j = 0; j < kq; ++j) {
        __m256i wv[V];
        FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
          wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * 4 * N));
        }
        w += 4 * nr;
        FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) {
          int32_t quad;
          std::memcpy(&quad, xr[r] + 4 * j, sizeof(quad));
          const __m256i xv = _mm256_set1_epi32(quad);
          FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
            acc[v][r] = _mm256_add_epi32(acc[v][r], _mm256_madd_epi16(_mm256_maddubs_epi16(xv, wv[v]), ones));
          }
        }
      }
    }
    V32 sums[V][R];
    FACEATTR_UNROLL for (size_t v = 0; v < V; ++v) {
      FACEATTR_UNROLL for (size_t r = 0; r < R; ++r) sums[v][r] = V32{acc[v][r]};
    }
    StoreTileI8<R, V>(d32, p, m, panel * nr, sums);
  }
};

#endif  // FACEATTR_GEMM_VNNI

size_t RowsU8(size_t vectors) { return vectors == 3 ? kRowsU8V3 : kRowsU8V2; }
void GemmU8(const GemmU8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  GemmPanelsByWidth<TileU8, kRowsU8V2, kRowsU8V3>(p, m_begin, m_end, panel_begin, panel_end);
}
#else
bool U8Available() { return false; }
size_t RowsU8(size_t vectors) { return vectors == 3 ? 3 : 6; }

// Targets without pmaddubsw (scalar, SSE4 stand-in, wasm) never pick this
// path; plain loops over the same packing keep gemm_u8 defined and exact.
void GemmU8(const GemmU8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  const size_t nr = kGemmU8Lanes * p.vectors, kq = (p.kc + 3) / 4;
  for (size_t panel = panel_begin; panel < panel_end; ++panel) {
    const int8_t* w = p.packed + panel * p.taps * kq * nr * 4;
    const size_t n0 = panel * nr, valid = std::min(nr, p.n - n0);
    for (size_t m = m_begin; m < m_end; ++m) {
      for (size_t j = 0; j < valid; ++j) {
        int32_t acc = p.bias[n0 + j];
        for (size_t t = 0; t < p.taps; ++t) {
          const uint8_t* xr = p.ind[m * p.taps + t] + p.x_offset;
          for (size_t c = 0; c < p.kc; ++c) acc += xr[c] * w[((t * kq + c / 4) * nr + j) * 4 + c % 4];
        }
        p.y[m * p.y_stride + p.y_offset + n0 + j] =
            requantize_scaled(static_cast<float>(acc) * p.mult[n0 + j], p.act, p.alpha, p.zp, p.qmin, p.qmax);
      }
    }
  }
}
#endif

void FlipI8ToU8(const int8_t* x, uint8_t* y, size_t n) {
  const hn::ScalableTag<uint8_t> du;
  const size_t N = hn::Lanes(du);
  const auto sign = hn::Set(du, uint8_t{0x80});
  const auto* xu = reinterpret_cast<const uint8_t*>(x);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Xor(hn::LoadU(du, xu + i), sign), du, y + i);
  for (; i < n; ++i) y[i] = static_cast<uint8_t>(xu[i] ^ 0x80u);
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

// For faceattr_get_simd_info: this target's name, how its int8 GEMMs
// multiply, and its vector width.
const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

const char* Int8Path() {
#if FACEATTR_GEMM_VNNI
  return "vpdpbusd (u8 x s8, weights in [-64, 64]); vpdpwssd (int16)";
#elif HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return "vpmaddubsw + vpmaddwd (u8 x s8, weights in [-64, 64]); vpmaddwd (int16)";
#elif HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR
  return "pmaddwd (int16)";
#elif HWY_TARGET == HWY_WASM || HWY_TARGET == HWY_WASM_EMU256
  return "i32x4.dot_i16x8 (int16)";
#elif HWY_TARGET == HWY_NEON
  return "smlal + smlal2 (int16)";
#elif HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE2_128
  return "smlalb + smlalt (int16)";
#elif HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE_256
  return "sxth + mla (int16)";
#else
  return "scalar int16 products";
#endif
}

int VectorBits() { return static_cast<int>(hn::Lanes(hn::ScalableTag<uint8_t>()) * 8); }

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if FACEATTR_GEMM_VNNI
#pragma GCC pop_options
#endif
#undef FACEATTR_GEMM_VNNI
#undef FACEATTR_GEMM_I8_WIDE

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(PanelWidthI8);
FACEATTR_HWY_EXPORT(RowsI8);
FACEATTR_HWY_EXPORT(GemmI8);
FACEATTR_HWY_EXPORT(GemvI8);
FACEATTR_HWY_EXPORT(WidenSubI8);
FACEATTR_HWY_EXPORT(U8Available);
FACEATTR_HWY_EXPORT(RowsU8);
FACEATTR_HWY_EXPORT(GemmU8);
FACEATTR_HWY_EXPORT(FlipI8ToU8);
FACEATTR_HWY_EXPORT(TargetName);
FACEATTR_HWY_EXPORT(Int8Path);
FACEATTR_HWY_EXPORT(VectorBits);

size_t gemm_i8_panel_width(size_t vectors) { return FACEATTR_HWY_CALL(PanelWidthI8)(vectors); }
size_t gemm_i8_rows(size_t vectors) { return FACEATTR_HWY_CALL(RowsI8)(vectors); }
void gemm_i8(const GemmI8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  FACEATTR_HWY_CALL(GemmI8)(p, m_begin, m_end, panel_begin, panel_end);
}
void gemv_i8(const GemmI8Params& p, const int16_t* w, size_t m_begin, size_t m_end) {
  FACEATTR_HWY_CALL(GemvI8)(p, w, m_begin, m_end);
}
void widen_sub_i8(const int8_t* x, int32_t zp, int16_t* y, size_t begin, size_t end) {
  FACEATTR_HWY_CALL(WidenSubI8)(x, zp, y, begin, end);
}
bool gemm_u8_available() { return FACEATTR_HWY_CALL(U8Available)(); }
size_t gemm_u8_rows(size_t vectors) { return FACEATTR_HWY_CALL(RowsU8)(vectors); }
void gemm_u8(const GemmU8Params& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  FACEATTR_HWY_CALL(GemmU8)(p, m_begin, m_end, panel_begin, panel_end);
}
void flip_i8_to_u8(const int8_t* x, uint8_t* y, size_t n) { FACEATTR_HWY_CALL(FlipI8ToU8)(x, y, n); }

SimdTargetInfo target_info() {
  // Every simd/ file is compiled for the same targets (HWY_TARGETS), so this
  // file's dispatch is the family's.
  static const std::string compiled = [] {
    std::string names;
    for (int64_t t = HWY_TARGETS; t != 0; t &= t - 1) {
      names += std::string(names.empty() ? "" : " ") + hwy::TargetName(t & -t);
    }
    return names;
  }();
  SimdTargetInfo info;
  info.target = FACEATTR_HWY_CALL(TargetName)();
  info.compiled = compiled.c_str();
  info.int8_path = FACEATTR_HWY_CALL(Int8Path)();
  info.vector_bits = FACEATTR_HWY_CALL(VectorBits)();
  return info;
}

}  // namespace faceattr::kernels::simd
#endif
