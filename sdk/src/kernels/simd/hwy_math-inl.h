// Per-target helpers shared by the simd/ Highway sources (included inside
// HWY_NAMESPACE, once per target; hence no include guard).
#if defined(FACEATTR_SIMD_HWY_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FACEATTR_SIMD_HWY_MATH_INL_H_
#undef FACEATTR_SIMD_HWY_MATH_INL_H_
#else
#define FACEATTR_SIMD_HWY_MATH_INL_H_
#endif

#include <hwy/highway.h>

#include "kernels/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Round half away from zero, exactly like std::round: trunc(v +- (0.5 - 2^-25)).
// Adding the largest float below 0.5 rounds (to nearest even) up to the next
// integer exactly when |frac(v)| >= 0.5; checked against std::round for every
// finite float (4 operations instead of 8 in the requantisation epilogues).
template <class D, class V>
HWY_INLINE V RoundHalfAway(D d, V v) {
  return hn::Trunc(hn::Add(v, hn::CopySignToAbs(hn::Set(d, 0.49999997f), v)));
}

// Fused activation on fp32 values: clamp to [lo, hi] or leaky slope.
template <class D, class V>
HWY_INLINE V ApplyActF32(D d, V v, Act act, float alpha, float lo, float hi) {
  if (act == Act::LeakyRelu) return hn::IfThenElse(hn::Lt(v, hn::Zero(d)), hn::Mul(v, hn::Set(d, alpha)), v);
  return hn::Min(hn::Max(v, hn::Set(d, lo)), hn::Set(d, hi));
}

// float -> int32 truncation of values known to be well inside the int32 range:
// on x86 the bare cvttps2dq, without the overflow fix-up that hn::ConvertTo adds
// (4 more operations per vector).
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
HWY_INLINE __m128i CvttRaw(__m128 v) { return _mm_cvttps_epi32(v); }
#if HWY_TARGET <= HWY_AVX2
HWY_INLINE __m256i CvttRaw(__m256 v) { return _mm256_cvttps_epi32(v); }
#endif
#if HWY_TARGET <= HWY_AVX3
HWY_INLINE __m512i CvttRaw(__m512 v) { return _mm512_cvttps_epi32(v); }
#endif
#endif
template <class DI, class VF>
HWY_INLINE hn::Vec<DI> TruncInRange(DI di, VF v) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  (void)di;
  return hn::Vec<DI>{CvttRaw(v.raw)};
#else
  return hn::ConvertTo(di, v);
#endif
}

// Requantises values in output steps (acc * multiplier) to int32 lanes:
// leaky slope, round half away, + zero point, clamp to [qmin, qmax], exactly
// as requantize_scaled. With a = v +- (0.5 - 2^-25), trunc(a) is v rounded
// half away (RoundHalfAway); trunc is monotone and keeps integers, so
// clamp(trunc(a) + zp, qmin, qmax) = trunc(clamp(a, qmin - zp, qmax - zp)) + zp.
// Clamping first leaves every lane within a few hundred of zero, where the bare
// truncating conversion is exact: no separate rounding, no overflow fix-up
// (7 operations instead of 12). NaN clamps to qmin (Max(NaN, x) = x on x86 and
// in Highway's wasm Max), as in the reference.
template <class DF, class VF>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> RequantizeF32(DF df, VF scaled, Act act, float alpha, int32_t zp,
                                                         int32_t qmin, int32_t qmax) {
  if (act == Act::LeakyRelu) {
    scaled = hn::IfThenElse(hn::Lt(scaled, hn::Zero(df)), hn::Mul(scaled, hn::Set(df, alpha)), scaled);
  }
  const hn::RebindToSigned<DF> di;
  const VF a = hn::Add(scaled, hn::CopySignToAbs(hn::Set(df, 0.49999997f), scaled));
  const VF c = hn::Min(hn::Max(a, hn::Set(df, static_cast<float>(qmin - zp))),
                       hn::Set(df, static_cast<float>(qmax - zp)));
  return hn::Add(TruncInRange(di, c), hn::Set(di, zp));
}

// How an int8 requantising epilogue applies the fused activation, chosen once
// per tile (or loop): none (the clamp to [qmin, qmax] is all), leaky as
// max(s, alpha s) (the same value as the select for 0 <= alpha <= 1, in 2
// operations instead of 3), leaky as the select (any other alpha), or
// floor_saturate (see RequantizeFloorSaturate), which the planner allows per
// layer.
enum class EpilogueAct { kNone, kLeakyMax, kLeakySelect, kFloorSaturate };

inline EpilogueAct EpilogueActFor(Act act, float alpha, bool floor_saturate) {
  if (floor_saturate) return EpilogueAct::kFloorSaturate;
  if (act != Act::LeakyRelu) return EpilogueAct::kNone;
  return alpha >= 0.0f && alpha <= 1.0f ? EpilogueAct::kLeakyMax : EpilogueAct::kLeakySelect;
}

// The floor_saturate requantisation, for a layer whose activation is not leaky,
// with L = qmin - zp >= 0, qmax = 127 and every |s| < 2^30 (the planner's
// bound from the weights, bias and input range): with s clamped below to L
// first, s + (0.5 - 2^-25) >= 0 truncates to s rounded half away (as
// RoundHalfAway), at least L; |s| < 2^30 keeps the truncation and the zero
// point in range, and the caller's signed saturating narrow to int8 (DemoteTo,
// packsswb, vpmovsdb) is the clamp to qmax = 127. 4 operations and the narrow
// instead of 7: no sign-dependent rounding term, no upper clamp.
template <class DF, class VF>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> RequantizeFloorSaturate(DF df, VF scaled, int32_t zp,
                                                                   int32_t qmin) {
  const hn::RebindToSigned<DF> di;
  const VF s = hn::Max(scaled, hn::Set(df, static_cast<float>(qmin - zp)));
  return hn::Add(TruncInRange(di, hn::Add(s, hn::Set(df, 0.49999997f))), hn::Set(di, zp));
}

// Output steps (sums x multipliers) to int32 lanes, as requantize_scaled: the
// leaky slope per kAct, then RequantizeF32's rounding, zero point and clamp; for
// kFloorSaturate lanes that only a saturating narrow clamps to [qmin, 127].
template <EpilogueAct kAct, class DF, class VF>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> RequantizeTile(DF df, VF scaled, float alpha, int32_t zp,
                                                          int32_t qmin, int32_t qmax) {
  if constexpr (kAct == EpilogueAct::kFloorSaturate) {
    (void)alpha;
    (void)qmax;
    return RequantizeFloorSaturate(df, scaled, zp, qmin);
  } else {
    if constexpr (kAct == EpilogueAct::kLeakyMax)
      scaled = hn::Max(scaled, hn::Mul(scaled, hn::Set(df, alpha)));
    constexpr Act act = kAct == EpilogueAct::kLeakySelect ? Act::LeakyRelu : Act::None;
    return RequantizeF32(df, scaled, act, alpha, zp, qmin, qmax);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
