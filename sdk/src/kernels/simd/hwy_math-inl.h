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
  if (act == Act::LeakyRelu) return hn::IfThenElse(v < hn::Zero(d), hn::Mul(v, hn::Set(d, alpha)), v);
  return hn::Min(hn::Max(v, hn::Set(d, lo)), hn::Set(d, hi));
}

// Requantises values in output steps (acc * multiplier) to int32 lanes:
// leaky slope, round half away, + zero point, clamp to [qmin, qmax].
template <class DF, class VF>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> RequantizeF32(DF df, VF scaled, Act act, float alpha, int32_t zp,
                                                         int32_t qmin, int32_t qmax) {
  if (act == Act::LeakyRelu) {
    scaled = hn::IfThenElse(scaled < hn::Zero(df), hn::Mul(scaled, hn::Set(df, alpha)), scaled);
  }
  VF r = hn::Add(RoundHalfAway(df, scaled), hn::Set(df, static_cast<float>(zp)));
  r = hn::Min(hn::Max(r, hn::Set(df, static_cast<float>(qmin))), hn::Set(df, static_cast<float>(qmax)));
  return hn::ConvertTo(hn::RebindToSigned<DF>(), r);
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
