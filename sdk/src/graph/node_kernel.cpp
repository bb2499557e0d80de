#include "graph/node_kernel.h"

#include <string>

namespace faceattr::graph {
namespace {

kernels::Act act_of(model::Act a) { return static_cast<kernels::Act>(static_cast<int>(a)); }

kernels::QParam qparam_of(const model::Tensor& t) {
  kernels::QParam q;
  if (!t.scales.empty()) {
    q.scale = t.scales[0];
    q.zero_point = t.zero_points[0];
  }
  return q;
}

kernels::DType kdtype(model::DType d) {
  return d == model::DType::I8 ? kernels::DType::I8 : kernels::DType::F32;
}

}  // namespace

size_t bound_input_count(const model::Node& n) {
  return (n.op == model::Op::Conv2d || n.op == model::Op::FullyConnected) ? 1 : n.inputs.size();
}

Status make_node_kernel(const model::Model& model, size_t index, const kernels::Dispatch& dispatch,
                        std::vector<float>* w_scales, kernels::KernelPtr* out, kernels::Family* used) {
  const model::Node& n = model.nodes[index];
  const model::Tensor& x = model.tensors[n.inputs[0]];
  const model::Tensor& y = model.tensors[n.output];
  switch (n.op) {
    case model::Op::Conv2d:
    case model::Op::FullyConnected: {
      const model::Tensor& w = model.tensors[n.inputs[1]];
      const int bias = n.inputs.size() > 2 ? n.inputs[2] : -1;
      kernels::ConvWeights cw;
      cw.weights = w.data;
      cw.bias = bias >= 0 ? model.tensors[bias].data : nullptr;
      const int out_c = w.shape[0];
      if (x.dtype == model::DType::I8) {
        std::vector<float>& s = *w_scales;
        s.assign(static_cast<size_t>(out_c), w.scales[0]);
        if (w.scales.size() == static_cast<size_t>(out_c)) s = w.scales;
        cw.w_scales = s.data();
      }
      if (n.op == model::Op::Conv2d) {
        kernels::Conv2dDesc d;
        d.batch = x.shape[0];
        d.in_h = x.shape[1], d.in_w = x.shape[2], d.in_c = x.shape[3];
        d.out_h = y.shape[1], d.out_w = y.shape[2], d.out_c = y.shape[3];
        d.kernel_h = n.kernel_h, d.kernel_w = n.kernel_w;
        d.stride_h = n.stride_h, d.stride_w = n.stride_w;
        d.pad_top = n.pad_top, d.pad_left = n.pad_left, d.pad_bottom = n.pad_bottom,
        d.pad_right = n.pad_right;
        d.groups = n.groups;
        d.act = act_of(n.act);
        d.leaky_alpha = n.leaky_alpha;
        d.dtype = kdtype(x.dtype);
        d.in_q = qparam_of(x);
        d.out_q = qparam_of(y);
        *out = dispatch.conv2d(d, cw, used);
      } else {
        kernels::FullyConnectedDesc d;
        d.batch = x.shape[0];
        d.in_features = static_cast<int>(x.elements / static_cast<size_t>(x.shape[0]));
        d.out_features = out_c;
        d.act = act_of(n.act);
        d.leaky_alpha = n.leaky_alpha;
        d.dtype = kdtype(x.dtype);
        d.in_q = qparam_of(x);
        d.out_q = qparam_of(y);
        *out = dispatch.fully_connected(d, cw, used);
      }
      break;
    }
    case model::Op::MaxPool2d:
    case model::Op::AvgPool2d: {
      kernels::Pool2dDesc d;
      d.kind = n.op == model::Op::MaxPool2d ? kernels::PoolKind::Max : kernels::PoolKind::Average;
      d.batch = x.shape[0];
      d.in_h = x.shape[1], d.in_w = x.shape[2], d.channels = x.shape[3];
      d.out_h = y.shape[1], d.out_w = y.shape[2];
      d.kernel_h = n.kernel_h, d.kernel_w = n.kernel_w;
      d.stride_h = n.stride_h, d.stride_w = n.stride_w;
      d.pad_top = n.pad_top, d.pad_left = n.pad_left, d.pad_bottom = n.pad_bottom, d.pad_right = n.pad_right;
      d.dtype = kdtype(x.dtype);
      d.in_q = qparam_of(x);
      d.out_q = qparam_of(y);
      *out = dispatch.pool2d(d, used);
      break;
    }
    case model::Op::GlobalAvgPool: {
      kernels::GlobalAvgPoolDesc d;
      d.batch = x.shape[0];
      d.in_h = x.shape[1], d.in_w = x.shape[2], d.channels = x.shape[3];
      d.dtype = kdtype(x.dtype);
      d.in_q = qparam_of(x);
      d.out_q = qparam_of(y);
      *out = dispatch.global_avg_pool(d, used);
      break;
    }
    case model::Op::Add: {
      kernels::AddDesc d;
      d.size = y.elements;
      d.act = act_of(n.act);
      d.leaky_alpha = n.leaky_alpha;
      d.dtype = kdtype(x.dtype);
      d.a_q = qparam_of(x);
      d.b_q = qparam_of(model.tensors[n.inputs[1]]);
      d.out_q = qparam_of(y);
      *out = dispatch.add(d, used);
      break;
    }
    case model::Op::Concat: {
      kernels::ConcatDesc d;
      d.outer = static_cast<size_t>(y.shape[0]) * y.shape[1] * y.shape[2];
      for (int t : n.inputs) d.channels.push_back(model.tensors[t].shape[3]);
      d.dtype = kdtype(x.dtype);
      *out = dispatch.concat(d, used);
      break;
    }
    case model::Op::Sigmoid:
    case model::Op::Activation:
    case model::Op::Quantize:
    case model::Op::Dequantize: {
      kernels::UnaryDesc d;
      d.size = y.elements;
      d.act = act_of(n.act);
      d.leaky_alpha = n.leaky_alpha;
      d.dtype = kdtype(x.dtype);
      d.in_q = qparam_of(x);
      d.out_q = qparam_of(y);
      if (n.op == model::Op::Sigmoid) *out = dispatch.sigmoid(d, used);
      if (n.op == model::Op::Activation) *out = dispatch.activation(d, used);
      if (n.op == model::Op::Quantize) *out = dispatch.quantize(d, used);
      if (n.op == model::Op::Dequantize) *out = dispatch.dequantize(d, used);
      break;
    }
  }
  if (!*out)
    return Status(FACEATTR_ERR_UNSUPPORTED, std::string("node '") + n.name + "' (" + model::op_name(n.op) +
                                                "): no kernel supports this configuration");
  return Status::ok();
}

}  // namespace faceattr::graph
