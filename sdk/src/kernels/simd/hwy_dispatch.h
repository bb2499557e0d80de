// How the simd/ sources pick a Highway target. Natively each source is
// compiled for every target of the architecture (foreach_target.h; x86 up to
// AVX3_DL, ARM's NEON and SVE targets) and the best one for the CPU is chosen
// at run time (HWY_DYNAMIC_DISPATCH, libhwy). Under Emscripten
// only the static WASM SIMD128 target is compiled and called directly, so no
// libhwy is needed. Include after the HWY_ONCE section starts.
#pragma once

#include <hwy/highway.h>

#if defined(__EMSCRIPTEN__)
#define FACEATTR_HWY_EXPORT(fn) static_assert(true, "")
#define FACEATTR_HWY_CALL(fn) HWY_STATIC_DISPATCH(fn)
#else
#define FACEATTR_HWY_EXPORT(fn) HWY_EXPORT(fn)
#define FACEATTR_HWY_CALL(fn) HWY_DYNAMIC_DISPATCH(fn)
#endif
