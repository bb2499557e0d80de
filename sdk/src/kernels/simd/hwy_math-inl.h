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

// Round half away from zero, exactly like std::round.
template <class D, class V>
HWY_INLINE V RoundHalfAway(D d, V v) {
  const V t = hn::Trunc(v);
  const V frac = hn::Sub(v, t);
  const auto away = hn::Abs(frac) >= hn::Set(d, 0.5f);
  return hn::IfThenElse(away, hn::Add(t, hn::CopySign(hn::Set(d, 1.0f), v)), t);
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
