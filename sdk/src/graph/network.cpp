#include "graph/network.h"

#include <cstring>
#include <new>
#include <string>

#include "graph/arena_plan.h"
#include "graph/node_kernel.h"

namespace faceattr {
namespace {

using kernels::Family;

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
};

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
    FACEATTR_RETURN_IF_ERROR(graph::make_node_kernel(impl->model, i, dispatch, &impl->w_scales[i],
                                                     &impl->kernels[i], &impl->families[i]));
    if (logger && impl->families[i] != preferred)
      logger->log(FACEATTR_LOG_DEBUG, "node '%s' (%s): %s kernel (no %s kernel)", n.name.c_str(),
                  model::op_name(n.op), kernels::family_name(impl->families[i]),
                  kernels::family_name(preferred));
    inputs.clear();
    for (size_t k = 0; k < graph::bound_input_count(n); ++k) inputs.push_back(impl->tensor_ptr(n.inputs[k]));
    void* output = impl->tensor_ptr(n.output);
    if (impl->kernels[i]->bind(inputs.data(), inputs.size(), output, impl->ctx)) continue;
    // An optimised kernel that cannot set itself up for these buffers: use the reference one.
    if (impl->families[i] != Family::Reference) {
      if (logger)
        logger->log(FACEATTR_LOG_WARN, "node '%s' (%s): %s kernel failed to bind, using reference",
                    n.name.c_str(), model::op_name(n.op), kernels::family_name(impl->families[i]));
      kernels::Dispatch reference;
      reference.preferred = Family::Reference;
      FACEATTR_RETURN_IF_ERROR(graph::make_node_kernel(impl->model, i, reference, &impl->w_scales[i],
                                                       &impl->kernels[i], &impl->families[i]));
      if (impl->kernels[i]->bind(inputs.data(), inputs.size(), output, impl->ctx)) continue;
    }
    return Status(FACEATTR_ERR_INTERNAL, std::string("node '") + n.name + "' (" + model::op_name(n.op) +
                                             "): the kernel failed to bind its buffers");
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
  return run_nodes(0, node_count(), abort_cb, abort_user_data);
}

Status Network::run_nodes(size_t begin, size_t end, faceattr_abort_callback abort_cb, void* abort_user_data) {
  if (!impl_) return Status(FACEATTR_ERR_INTERNAL, "network: run before load");
  if (begin > end || end > impl_->kernels.size())
    return Status(FACEATTR_ERR_INVALID_ARGUMENT, "network: node range out of bounds");
  for (size_t i = begin; i < end; ++i) {
    if (abort_cb != nullptr && abort_cb(abort_user_data) != 0)
      return Status(FACEATTR_ERR_CANCELLED,
                    "cancelled by the abort callback before node " + std::to_string(i));
    impl_->kernels[i]->run(impl_->ctx);
  }
  return Status::ok();
}

const void* Network::tensor_data(int tensor) const {
  const model::Tensor& t = impl_->model.tensors[static_cast<size_t>(tensor)];
  if (t.constant) return t.data;
  return impl_->arena.get() + impl_->plan.offsets[static_cast<size_t>(tensor)];
}

size_t Network::node_count() const { return impl_ ? impl_->kernels.size() : 0; }

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
