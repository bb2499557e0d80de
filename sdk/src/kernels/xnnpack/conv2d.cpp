// XNNPACK convolution. fp32: convolution2d_nhwc_f32 with the activation as an
// output clamp, LeakyRelu as a second in-place operator. int8:
// convolution2d_nhwc_qc8 (per-channel weight scales), without LeakyRelu.
// XNNPACK rounds int8 results its own way (within 1 LSB of the reference).
#include "kernels/xnnpack/xnn_runtime.h"

namespace faceattr::kernels::xnnpack {
namespace {

bool int8_act_supported(Act act) { return act != Act::LeakyRelu; }

class ConvF32 final : public XnnKernel {
 public:
  ConvF32(const Conv2dDesc& d, const ConvWeights& w) : XnnKernel(1), batch_(d.batch), h_(d.in_h), w_(d.in_w) {
    float lo, hi;
    act_frange(d.act, &lo, &hi);
    const uint32_t g = static_cast<uint32_t>(d.groups);
    add_op([&](xnn_operator_t* op) {
      return xnn_create_convolution2d_nhwc_f32(
          d.pad_top, d.pad_right, d.pad_bottom, d.pad_left, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, 1,
          1, g, d.in_c / g, d.out_c / g, d.in_c, d.out_c, static_cast<const float*>(w.weights),
          static_cast<const float*>(w.bias), lo, hi, 0, op);
    });
    out_size_ = static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.out_c;
    if (d.act == Act::LeakyRelu) {
      add_op([&](xnn_operator_t* op) { return xnn_create_leaky_relu_nc_f32(1, 1, 1, d.leaky_alpha, 0, op); });
    }
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    if (xnn_setup_convolution2d_nhwc_f32(ops_[0].get(), batch_, h_, w_, in<float>(0), out<float>(), tp) !=
        xnn_status_success)
      return false;
    return ops_.size() < 2 || xnn_setup_leaky_relu_nc_f32(ops_[1].get(), out_size_, out<float>(),
                                                          out<float>(), tp) == xnn_status_success;
  }

 private:
  size_t batch_, h_, w_, out_size_ = 0;
};

// Also serves the int8 fully connected layer (fully_connected.cpp).
class ConvI8 final : public XnnKernel {
 public:
  ConvI8(const Conv2dDesc& d, const ConvWeights& w) : XnnKernel(1), batch_(d.batch), h_(d.in_h), w_(d.in_w) {
    int32_t qmin, qmax;
    act_qrange(d.act, d.out_q, &qmin, &qmax);
    const uint32_t g = static_cast<uint32_t>(d.groups);
    add_op([&](xnn_operator_t* op) {
      return xnn_create_convolution2d_nhwc_qc8(
          d.pad_top, d.pad_right, d.pad_bottom, d.pad_left, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, 1,
          1, g, d.in_c / g, d.out_c / g, d.in_c, d.out_c, to_i8(d.in_q.zero_point), d.in_q.scale, w.w_scales,
          static_cast<const int8_t*>(w.weights), static_cast<const int32_t*>(w.bias),
          to_i8(d.out_q.zero_point), d.out_q.scale, to_i8(qmin), to_i8(qmax), 0, op);
    });
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    return xnn_setup_convolution2d_nhwc_qc8(ops_[0].get(), batch_, h_, w_, in<int8_t>(0), out<int8_t>(),
                                            tp) == xnn_status_success;
  }

 private:
  size_t batch_, h_, w_;
};

}  // namespace

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w) || !ensure_initialized()) return nullptr;
  if (d.dtype == DType::F32) return if_created(std::make_unique<ConvF32>(d, w));
  if (!int8_act_supported(d.act)) return nullptr;
  return if_created(std::make_unique<ConvI8>(d, w));
}

}  // namespace faceattr::kernels::xnnpack
