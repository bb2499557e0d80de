// XNNPACK elementwise ops: add (f32, qs8; activation as clamp), sigmoid (f32,
// qs8), activation (f32 clamp / leaky relu / copy; int8 clamp when input and
// output quantisation match), convert f32 <-> qs8, and channel concat as one
// strided copy per input.
#include "kernels/xnnpack/xnn_runtime.h"

namespace faceattr::kernels::xnnpack {
namespace {

class Add final : public XnnKernel {
 public:
  explicit Add(const AddDesc& d) : XnnKernel(2), d_(d) {
    xnn_operator_t op = nullptr;
    xnn_status st;
    if (d.dtype == DType::F32) {
      float lo, hi;
      act_frange(d.act, &lo, &hi);
      st = xnn_create_add_nd_f32(lo, hi, 0, &op);
    } else {
      int32_t lo, hi;
      act_qrange(d.act, d.out_q, &lo, &hi);
      st = xnn_create_add_nd_qs8(to_i8(d.a_q.zero_point), d.a_q.scale, to_i8(d.b_q.zero_point), d.b_q.scale,
                                 to_i8(d.out_q.zero_point), d.out_q.scale, to_i8(lo), to_i8(hi), 0, &op);
    }
    add_op(st, op);
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    const size_t shape[1] = {d_.size};
    xnn_status st;
    if (d_.dtype == DType::F32) {
      st = xnn_setup_add_nd_f32(ops_[0].get(), 1, shape, 1, shape, in<float>(0), in<float>(1), out<float>(),
                                tp);
    } else {
      st = xnn_setup_add_nd_qs8(ops_[0].get(), 1, shape, 1, shape, in<int8_t>(0), in<int8_t>(1),
                                out<int8_t>(), tp);
    }
    return st == xnn_status_success;
  }

 private:
  AddDesc d_;
};

enum class UnaryOp { SigmoidF32, SigmoidI8, ClampF32, LeakyF32, CopyF32, ClampI8, Quantize, Dequantize };

class Unary final : public XnnKernel {
 public:
  Unary(const UnaryDesc& d, UnaryOp kind) : XnnKernel(1), d_(d), kind_(kind) {
    xnn_operator_t op = nullptr;
    xnn_status st = xnn_status_unsupported_parameter;
    switch (kind) {
      case UnaryOp::SigmoidF32:
        st = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op);
        break;
      case UnaryOp::SigmoidI8:
        st = xnn_create_sigmoid_nc_qs8(1, 1, 1, to_i8(d.in_q.zero_point), d.in_q.scale,
                                       to_i8(d.out_q.zero_point), d.out_q.scale, -128, 127, 0, &op);
        break;
      case UnaryOp::ClampF32: {
        float lo, hi;
        act_frange(d.act, &lo, &hi);
        st = xnn_create_clamp_nc_f32(1, 1, 1, lo, hi, 0, &op);
        break;
      }
      case UnaryOp::LeakyF32:
        st = xnn_create_leaky_relu_nc_f32(1, 1, 1, d.leaky_alpha, 0, &op);
        break;
      case UnaryOp::CopyF32:
        st = xnn_create_copy_nc_x32(1, 1, 1, 0, &op);
        break;
      case UnaryOp::ClampI8: {
        int32_t lo, hi;
        act_qrange(d.act, d.out_q, &lo, &hi);
        st = xnn_create_clamp_nc_s8(1, 1, 1, to_i8(lo), to_i8(hi), 0, &op);
        break;
      }
      case UnaryOp::Quantize:
        st = xnn_create_convert_nc_f32_qs8(1, 1, 1, d.out_q.scale, to_i8(d.out_q.zero_point), -128, 127, 0,
                                           &op);
        break;
      case UnaryOp::Dequantize:
        st = xnn_create_convert_nc_qs8_f32(1, 1, 1, d.in_q.scale, to_i8(d.in_q.zero_point), 0, &op);
        break;
    }
    add_op(st, op);
  }

 protected:
  // Elementwise ops treat the tensor as `size` rows of one channel.
  bool setup(pthreadpool_t tp) override {
    xnn_operator_t op = ops_[0].get();
    const size_t n = d_.size;
    xnn_status st = xnn_status_invalid_parameter;
    switch (kind_) {
      case UnaryOp::SigmoidF32:
        st = xnn_setup_sigmoid_nc_f32(op, n, in<float>(0), out<float>(), tp);
        break;
      case UnaryOp::SigmoidI8:
        st = xnn_setup_sigmoid_nc_qs8(op, n, in<int8_t>(0), out<int8_t>(), tp);
        break;
      case UnaryOp::ClampF32:
        st = xnn_setup_clamp_nc_f32(op, n, in<float>(0), out<float>(), tp);
        break;
      case UnaryOp::LeakyF32:
        st = xnn_setup_leaky_relu_nc_f32(op, n, in<float>(0), out<float>(), tp);
        break;
      case UnaryOp::CopyF32:
        st = xnn_setup_copy_nc_x32(op, n, in<float>(0), out<float>(), tp);
        break;
      case UnaryOp::ClampI8:
        st = xnn_setup_clamp_nc_s8(op, n, in<int8_t>(0), out<int8_t>(), tp);
        break;
      case UnaryOp::Quantize:
        st = xnn_setup_convert_nc_f32_qs8(op, n, in<float>(0), out<int8_t>(), tp);
        break;
      case UnaryOp::Dequantize:
        st = xnn_setup_convert_nc_qs8_f32(op, n, in<int8_t>(0), out<float>(), tp);
        break;
    }
    return st == xnn_status_success;
  }

 private:
  UnaryDesc d_;
  UnaryOp kind_;
};

class Concat final : public XnnKernel {
 public:
  explicit Concat(const ConcatDesc& d) : XnnKernel(d.channels.size()), d_(d) {
    size_t total = 0;
    for (int c : d.channels) total += static_cast<size_t>(c);
    for (int c : d.channels) {
      xnn_operator_t op = nullptr;
      const xnn_status st = d.dtype == DType::F32 ? xnn_create_copy_nc_x32(c, c, total, 0, &op)
                                                  : xnn_create_copy_nc_x8(c, c, total, 0, &op);
      add_op(st, op);
    }
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    const size_t elem = d_.dtype == DType::F32 ? sizeof(float) : 1;
    size_t offset = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      void* y = out<unsigned char>() + offset * elem;
      const xnn_status st = d_.dtype == DType::F32
                                ? xnn_setup_copy_nc_x32(ops_[i].get(), d_.outer, in<void>(i), y, tp)
                                : xnn_setup_copy_nc_x8(ops_[i].get(), d_.outer, in<void>(i), y, tp);
      if (st != xnn_status_success) return false;
      offset += static_cast<size_t>(d_.channels[i]);
    }
    return true;
  }

 private:
  ConcatDesc d_;
};

bool same_q(QParam a, QParam b) { return a.scale == b.scale && a.zero_point == b.zero_point; }

}  // namespace

KernelPtr make_add(const AddDesc& d) {
  if (!add_desc_valid(d) || !ensure_initialized() || d.act == Act::LeakyRelu) return nullptr;
  return if_created(std::make_unique<Add>(d));
}

KernelPtr make_concat(const ConcatDesc& d) {
  if (!concat_desc_valid(d) || !ensure_initialized()) return nullptr;
  return if_created(std::make_unique<Concat>(d));
}

KernelPtr make_sigmoid(const UnaryDesc& d) {
  if (!sigmoid_desc_valid(d) || !ensure_initialized()) return nullptr;
  return if_created(
      std::make_unique<Unary>(d, d.dtype == DType::F32 ? UnaryOp::SigmoidF32 : UnaryOp::SigmoidI8));
}

KernelPtr make_activation(const UnaryDesc& d) {
  if (!activation_desc_valid(d) || !ensure_initialized()) return nullptr;
  if (d.dtype == DType::I8) {
    if (d.act == Act::LeakyRelu || !same_q(d.in_q, d.out_q)) return nullptr;
    return if_created(std::make_unique<Unary>(d, UnaryOp::ClampI8));
  }
  const UnaryOp kind = d.act == Act::LeakyRelu ? UnaryOp::LeakyF32
                       : d.act == Act::None    ? UnaryOp::CopyF32
                                               : UnaryOp::ClampF32;
  return if_created(std::make_unique<Unary>(d, kind));
}

KernelPtr make_quantize(const UnaryDesc& d) {
  if (!quantize_desc_valid(d) || !ensure_initialized()) return nullptr;
  return if_created(std::make_unique<Unary>(d, UnaryOp::Quantize));
}

KernelPtr make_dequantize(const UnaryDesc& d) {
  if (!dequantize_desc_valid(d) || !ensure_initialized()) return nullptr;
  return if_created(std::make_unique<Unary>(d, UnaryOp::Dequantize));
}

}  // namespace faceattr::kernels::xnnpack
