// The simd family's fully connected layer: a 1x1 convolution over a
// batch x 1 x 1 image, on the indirect GEMM (conv2d_algorithms.h).
#include "kernels/kernel_util.h"
#include "kernels/simd/conv2d_algorithms.h"

namespace faceattr::kernels::simd {

KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (!fully_connected_desc_valid(d, w)) return nullptr;
  return make_conv2d_gemm(conv2d_desc_of(d), w);
}

}  // namespace faceattr::kernels::simd
