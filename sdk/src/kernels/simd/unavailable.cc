// Built instead of the simd kernels when FACEATTR_WITH_SIMD=OFF: every factory returns
// nullptr, so the dispatcher falls back to the reference family.
#include "kernels/kernel_util.h"

namespace faceattr::kernels::simd {

bool runtime_available() { return false; }

KernelPtr make_conv2d(const Conv2dDesc&, const ConvWeights&) { return nullptr; }
KernelPtr make_fully_connected(const FullyConnectedDesc&, const ConvWeights&) { return nullptr; }
KernelPtr make_pool2d(const Pool2dDesc&) { return nullptr; }
KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc&) { return nullptr; }
KernelPtr make_add(const AddDesc&) { return nullptr; }
KernelPtr make_concat(const ConcatDesc&) { return nullptr; }
KernelPtr make_sigmoid(const UnaryDesc&) { return nullptr; }
KernelPtr make_activation(const UnaryDesc&) { return nullptr; }
KernelPtr make_quantize(const UnaryDesc&) { return nullptr; }
KernelPtr make_dequantize(const UnaryDesc&) { return nullptr; }

}  // namespace faceattr::kernels::simd
