// Temporary: SIMD factories not written yet return nullptr (reference fallback).
#include "kernels/kernel_util.h"

namespace faceattr::kernels::simd {
KernelPtr make_pool2d(const Pool2dDesc&) { return nullptr; }
KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc&) { return nullptr; }
KernelPtr make_add(const AddDesc&) { return nullptr; }
KernelPtr make_concat(const ConcatDesc&) { return nullptr; }
KernelPtr make_sigmoid(const UnaryDesc&) { return nullptr; }
KernelPtr make_activation(const UnaryDesc&) { return nullptr; }
KernelPtr make_quantize(const UnaryDesc&) { return nullptr; }
KernelPtr make_dequantize(const UnaryDesc&) { return nullptr; }
}  // namespace faceattr::kernels::simd
