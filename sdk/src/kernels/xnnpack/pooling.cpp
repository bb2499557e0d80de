// XNNPACK pooling: max pool (f32, s8), average pool (f32; XNNPACK divides by
// the in-bounds count, as the contract requires), global average pool
// (f32, qs8). No int8 average pool: XNNPACK has it only for qu8.
#include "kernels/xnnpack/xnn_runtime.h"

namespace faceattr::kernels::xnnpack {
namespace {

class Pool final : public XnnKernel {
 public:
  explicit Pool(const Pool2dDesc& d) : XnnKernel(1), d_(d) {
    xnn_operator_t op = nullptr;
    xnn_status st = xnn_status_unsupported_parameter;
    const float inf = std::numeric_limits<float>::infinity();
    if (d.kind == PoolKind::Max && d.dtype == DType::F32) {
      st = xnn_create_max_pooling2d_nhwc_f32(d.pad_top, d.pad_right, d.pad_bottom, d.pad_left, d.kernel_h,
                                             d.kernel_w, d.stride_h, d.stride_w, 1, 1, d.channels, d.channels,
                                             d.channels, -inf, inf, 0, &op);
    } else if (d.kind == PoolKind::Max) {
      st = xnn_create_max_pooling2d_nhwc_s8(d.pad_top, d.pad_right, d.pad_bottom, d.pad_left, d.kernel_h,
                                            d.kernel_w, d.stride_h, d.stride_w, 1, 1, d.channels, d.channels,
                                            d.channels, -128, 127, 0, &op);
    } else if (d.dtype == DType::F32) {
      st = xnn_create_average_pooling2d_nhwc_f32(d.pad_top, d.pad_right, d.pad_bottom, d.pad_left, d.kernel_h,
                                                 d.kernel_w, d.stride_h, d.stride_w, d.channels, d.channels,
                                                 d.channels, -inf, inf, 0, &op);
    }
    add_op(st, op);
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    xnn_status st;
    if (d_.kind == PoolKind::Max && d_.dtype == DType::F32) {
      st = xnn_setup_max_pooling2d_nhwc_f32(ops_[0].get(), d_.batch, d_.in_h, d_.in_w, in<float>(0),
                                            out<float>(), tp);
    } else if (d_.kind == PoolKind::Max) {
      st = xnn_setup_max_pooling2d_nhwc_s8(ops_[0].get(), d_.batch, d_.in_h, d_.in_w, in<int8_t>(0),
                                           out<int8_t>(), tp);
    } else {
      st = xnn_setup_average_pooling2d_nhwc_f32(ops_[0].get(), d_.batch, d_.in_h, d_.in_w, in<float>(0),
                                                out<float>(), tp);
    }
    return st == xnn_status_success;
  }

 private:
  Pool2dDesc d_;
};

class GlobalAvgPool final : public XnnKernel {
 public:
  explicit GlobalAvgPool(const GlobalAvgPoolDesc& d) : XnnKernel(1), d_(d) {
    xnn_operator_t op = nullptr;
    xnn_status st;
    if (d.dtype == DType::F32) {
      const float inf = std::numeric_limits<float>::infinity();
      st = xnn_create_global_average_pooling_nwc_f32(d.channels, d.channels, d.channels, -inf, inf, 0, &op);
    } else {
      st = xnn_create_global_average_pooling_nwc_qs8(
          d.channels, d.channels, d.channels, to_i8(d.in_q.zero_point), d.in_q.scale,
          to_i8(d.out_q.zero_point), d.out_q.scale, -128, 127, 0, &op);
    }
    add_op(st, op);
  }

 protected:
  bool setup(pthreadpool_t tp) override {
    const size_t width = static_cast<size_t>(d_.in_h) * d_.in_w;
    xnn_status st;
    if (d_.dtype == DType::F32) {
      st = xnn_setup_global_average_pooling_nwc_f32(ops_[0].get(), d_.batch, width, in<float>(0),
                                                    out<float>(), tp);
    } else {
      st = xnn_setup_global_average_pooling_nwc_qs8(ops_[0].get(), d_.batch, width, in<int8_t>(0),
                                                    out<int8_t>(), tp);
    }
    return st == xnn_status_success;
  }

 private:
  GlobalAvgPoolDesc d_;
};

}  // namespace

KernelPtr make_pool2d(const Pool2dDesc& d) {
  if (!pool2d_desc_valid(d) || !ensure_initialized()) return nullptr;
  if (d.kind == PoolKind::Average && d.dtype == DType::I8) return nullptr;
  return if_created(std::make_unique<Pool>(d));
}

KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc& d) {
  if (!global_avg_pool_desc_valid(d) || !ensure_initialized()) return nullptr;
  return if_created(std::make_unique<GlobalAvgPool>(d));
}

}  // namespace faceattr::kernels::xnnpack
