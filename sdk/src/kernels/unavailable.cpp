// The families left out of the build (FACEATTR_WITH_SIMD / FACEATTR_WITH_XNNPACK
// OFF): runtime_available() is false and every factory returns nullptr, so the
// dispatcher falls back to the reference family.
#include "kernels/kernel_util.h"

#define FACEATTR_UNAVAILABLE_FAMILY(family)                                                         \
  namespace family {                                                                                \
  bool runtime_available() { return false; }                                                        \
  KernelPtr make_conv2d(const Conv2dDesc&, const ConvWeights&) { return nullptr; }                  \
  KernelPtr make_fully_connected(const FullyConnectedDesc&, const ConvWeights&) { return nullptr; } \
  KernelPtr make_pool2d(const Pool2dDesc&) { return nullptr; }                                      \
  KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc&) { return nullptr; }                      \
  KernelPtr make_add(const AddDesc&) { return nullptr; }                                            \
  KernelPtr make_concat(const ConcatDesc&) { return nullptr; }                                      \
  KernelPtr make_sigmoid(const UnaryDesc&) { return nullptr; }                                      \
  KernelPtr make_activation(const UnaryDesc&) { return nullptr; }                                   \
  KernelPtr make_quantize(const UnaryDesc&) { return nullptr; }                                     \
  KernelPtr make_dequantize(const UnaryDesc&) { return nullptr; }                                   \
  }

namespace faceattr::kernels {

#if !defined(FACEATTR_HAVE_SIMD)
FACEATTR_UNAVAILABLE_FAMILY(simd)
SimdTargetInfo simd::target_info() { return {}; }
#endif
#if !defined(FACEATTR_HAVE_XNNPACK)
FACEATTR_UNAVAILABLE_FAMILY(xnnpack)
#endif

}  // namespace faceattr::kernels
