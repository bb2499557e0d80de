// The one place that picks a kernel family: the preferred one first, then the
// reference kernels, which implement every descriptor.
#include "kernels/kernels.h"

namespace faceattr::kernels {
namespace {

template <class Make>
KernelPtr pick(Family preferred, Family* used, Make&& make) {
  if (preferred != Family::Reference && family_available(preferred)) {
    KernelPtr k = make(preferred);
    if (k) {
      if (used) *used = preferred;
      return k;
    }
  }
  if (used) *used = Family::Reference;
  return make(Family::Reference);
}

}  // namespace

#define FACEATTR_DISPATCH(call) \
  switch (f) {                  \
    case Family::Xnnpack:       \
      return xnnpack::call;     \
    case Family::Simd:          \
      return simd::call;        \
    case Family::Reference:     \
      break;                    \
  }                             \
  return reference::call;

KernelPtr Dispatch::conv2d(const Conv2dDesc& d, const ConvWeights& w, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_conv2d(d, w)) });
}
KernelPtr Dispatch::fully_connected(const FullyConnectedDesc& d, const ConvWeights& w, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_fully_connected(d, w)) });
}
KernelPtr Dispatch::pool2d(const Pool2dDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_pool2d(d)) });
}
KernelPtr Dispatch::global_avg_pool(const GlobalAvgPoolDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_global_avg_pool(d)) });
}
KernelPtr Dispatch::add(const AddDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_add(d)) });
}
KernelPtr Dispatch::concat(const ConcatDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_concat(d)) });
}
KernelPtr Dispatch::sigmoid(const UnaryDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_sigmoid(d)) });
}
KernelPtr Dispatch::activation(const UnaryDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_activation(d)) });
}
KernelPtr Dispatch::quantize(const UnaryDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_quantize(d)) });
}
KernelPtr Dispatch::dequantize(const UnaryDesc& d, Family* used) const {
  return pick(preferred, used, [&](Family f) -> KernelPtr { FACEATTR_DISPATCH(make_dequantize(d)) });
}

#undef FACEATTR_DISPATCH

}  // namespace faceattr::kernels
