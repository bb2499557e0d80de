// XNNPACK fully connected layer. fp32: fully_connected_nc_f32 with the
// activation as an output clamp, LeakyRelu as a second in-place operator.
// int8: a 1x1 qc8 convolution over a batch x 1 x 1 image (conv2d.cpp),
// because XNNPACK's qs8 FC has only one weight scale.
#include "kernels/xnnpack/xnn_runtime.h"

namespace faceattr::kernels::xnnpack {
namespace {

class FullyConnectedF32 final : public XnnKernel {
 public:
  FullyConnectedF32(const FullyConnectedDesc& d, const ConvWeights& w) : XnnKernel(1), batch_(d.batch) {
    float lo, hi;
    act_frange(d.act, &lo, &hi);
    add_op([&](xnn_operator_t* op) {
      return xnn_create_fully_connected_nc_f32(d.in_features, d.out_features, d.in_features, d.out_features,
                                               static_cast<const float*>(w.weights),
                                               static_cast<const float*>(w.bias), lo, hi, 0, op);
    });
    out_size_ = static_cast<size_t>(d.batch) * d.out_features;
    if (d.act == Act::LeakyRelu) {
      add_op([&](xnn_operator_t* op) { return xnn_create_leaky_relu_nc_f32(1, 1, 1, d.leaky_alpha, 0, op); });
    }
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    if (xnn_setup_fully_connected_nc_f32(ops_[0].get(), batch_, in<float>(0), out<float>(), tp) !=
        xnn_status_success)
      return false;
    return ops_.size() < 2 || xnn_setup_leaky_relu_nc_f32(ops_[1].get(), out_size_, out<float>(),
                                                          out<float>(), tp) == xnn_status_success;
  }

 private:
  size_t batch_, out_size_ = 0;
};

}  // namespace

KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (!fully_connected_desc_valid(d, w) || !ensure_initialized()) return nullptr;
  if (d.dtype == DType::F32) return if_created(std::make_unique<FullyConnectedF32>(d, w));
  return make_conv2d(conv2d_desc_of(d), w);
}

}  // namespace faceattr::kernels::xnnpack
