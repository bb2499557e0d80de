#include "graph/network.h"

#include <cstring>
#include <new>
#include <string>

#include "graph/arena_plan.h"

namespace faceattr {
namespace {

using kernels::Family;

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

struct ArenaFree {
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(graph::kArenaAlign)); }
};

}  // namespace

struct Network::Impl {
  model::Model model;
  kernels::ExecContext ctx;
  std::unique_ptr<uint8_t, ArenaFree> arena;
  size_t arena_bytes = 0;
  graph::ArenaPlan plan;
  std::vector<kernels::KernelPtr> kernels;
  std::vector<Family> families;
  std::vector<std::vector<float>> w_scales;  // expanded per-channel int8 weight scales, per node
  Family preferred = Family::Reference;

  void* tensor_ptr(int t) { return arena.get() + plan.offsets[t]; }

  Status make_kernel(size_t index, const kernels::Dispatch& dispatch, kernels::KernelPtr* out, Family* used);
};

Status Network::Impl::make_kernel(size_t index, const kernels::Dispatch& dispatch, kernels::KernelPtr* out,
                                  Family* used) {
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
        std::vector<float>& s = w_scales[index];
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

Network::Network() = default;
Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

Status Network::load(const void* bytes, size_t size, Family preferred, const kernels::ExecContext& ctx,
                     const Logger* logger) {
  model::Model m;
  FACEATTR_RETURN_IF_ERROR(model::load_model(bytes, size, &m));
  return load(std::move(m), preferred, ctx, logger);
}

Status Network::load(model::Model&& m, Family preferred, const kernels::ExecContext& ctx,
                     const Logger* logger) {
  impl_.reset();
  std::unique_ptr<Impl> impl(new (std::nothrow) Impl);
  if (!impl) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "network: out of memory");
  impl->model = std::move(m);
  impl->ctx = ctx;
  impl->preferred = preferred;
  impl->plan = graph::plan_arena(impl->model);
  if (impl->plan.total_bytes > model::kMaxActivationBytes)
    return model_format_error("network: activation arena would exceed 1 GiB");
  impl->arena_bytes = impl->plan.total_bytes + graph::kArenaTailBytes;
  impl->arena.reset(static_cast<uint8_t*>(
      ::operator new[](impl->arena_bytes, std::align_val_t(graph::kArenaAlign), std::nothrow)));
  if (!impl->arena)
    return Status(
        FACEATTR_ERR_OUT_OF_MEMORY,
        "network: cannot allocate the " + std::to_string(impl->arena_bytes) + "-byte activation arena");
  std::memset(impl->arena.get(), 0, impl->arena_bytes);

  const model::Model& mm = impl->model;
  kernels::Dispatch dispatch;
  dispatch.preferred = preferred;
  impl->kernels.resize(mm.nodes.size());
  impl->families.resize(mm.nodes.size(), Family::Reference);
  impl->w_scales.resize(mm.nodes.size());
  std::vector<const void*> inputs;
  for (size_t i = 0; i < mm.nodes.size(); ++i) {
    const model::Node& n = mm.nodes[i];
    FACEATTR_RETURN_IF_ERROR(impl->make_kernel(i, dispatch, &impl->kernels[i], &impl->families[i]));
    if (logger && impl->families[i] != preferred)
      logger->log(FACEATTR_LOG_DEBUG, "node '%s' (%s): %s kernel (no %s kernel)", n.name.c_str(),
                  model::op_name(n.op), kernels::family_name(impl->families[i]),
                  kernels::family_name(preferred));
    inputs.clear();
    const size_t n_bound =
        (n.op == model::Op::Conv2d || n.op == model::Op::FullyConnected) ? 1 : n.inputs.size();
    for (size_t k = 0; k < n_bound; ++k) inputs.push_back(impl->tensor_ptr(n.inputs[k]));
    if (!impl->kernels[i]->bind(inputs.data(), inputs.size(), impl->tensor_ptr(n.output), impl->ctx))
      return Status(FACEATTR_ERR_INTERNAL, std::string("node '") + n.name + "' (" + model::op_name(n.op) +
                                               "): the " + kernels::family_name(impl->families[i]) +
                                               " kernel failed to bind its buffers");
  }
  if (logger)
    logger->log(FACEATTR_LOG_INFO, "network '%s': %zu nodes, %zu tensors, arena %zu bytes", mm.name.c_str(),
                mm.nodes.size(), mm.tensors.size(), impl->arena_bytes);
  impl_ = std::move(impl);
  return Status::ok();
}

bool Network::loaded() const { return impl_ != nullptr; }
const model::Model& Network::model() const { return impl_->model; }

float* Network::input_ptr() { return static_cast<float*>(impl_->tensor_ptr(impl_->model.input)); }
size_t Network::input_elements() const { return impl_->model.tensors[impl_->model.input].elements; }
const float* Network::output_ptr() const { return static_cast<const float*>(output_data(0)); }
size_t Network::output_elements() const { return impl_->model.tensors[impl_->model.outputs[0]].elements; }
const void* Network::output_data(size_t i) const {
  if (i >= impl_->model.outputs.size()) return nullptr;
  return impl_->tensor_ptr(impl_->model.outputs[i]);
}

Status Network::run(faceattr_abort_callback abort_cb, void* abort_user_data) {
  if (!impl_) return Status(FACEATTR_ERR_INTERNAL, "network: run before load");
  for (size_t i = 0; i < impl_->kernels.size(); ++i) {
    if (abort_cb != nullptr && abort_cb(abort_user_data) != 0)
      return Status(FACEATTR_ERR_CANCELLED,
                    "cancelled by the abort callback before node " + std::to_string(i));
    impl_->kernels[i]->run(impl_->ctx);
  }
  return Status::ok();
}

const std::vector<Family>& Network::node_families() const { return impl_->families; }
size_t Network::arena_bytes() const { return impl_ ? impl_->arena_bytes : 0; }

Family Network::main_family() const {
  int counts[3] = {0, 0, 0};
  for (size_t i = 0; i < impl_->families.size(); ++i) {
    const model::Op op = impl_->model.nodes[i].op;
    if (op == model::Op::Conv2d || op == model::Op::FullyConnected)
      ++counts[static_cast<int>(impl_->families[i])];
  }
  int best = static_cast<int>(impl_->preferred);
  for (int f = 0; f < 3; ++f)
    if (counts[f] > counts[best]) best = f;
  return static_cast<Family>(best);
}

}  // namespace faceattr
