// Reference fully connected layer, fp32 and int8 (per-output-channel weight
// scales): the reference 1x1 convolution over a batch x 1 x 1 image, which
// sums in the same order as a plain dot product per output.
#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {

KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (!fully_connected_desc_valid(d, w)) return nullptr;
  return make_conv2d(conv2d_desc_of(d), w);
}

}  // namespace faceattr::kernels::reference
