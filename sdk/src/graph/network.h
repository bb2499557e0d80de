// A loaded network ready to run: validated model, one activation arena, one
// bound kernel per node. Used by the C API session and directly by tests and
// benchmarks (to run a raw network without pre/post-processing).
//
//   faceattr::Network net;
//   Status st = net.load(bytes, size, kernels::Family::Xnnpack, ctx);
//   std::copy(pixels, pixels + net.input_elements(), net.input_ptr());
//   st = net.run();
//   const float* probs = net.output_ptr();
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "faceattr/faceattr.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "util/log.h"
#include "util/status.h"

namespace faceattr {

class Network {
 public:
  Network();
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Parses and validates `size` bytes (copied; the buffer may be freed after),
  // plans the arena and creates/binds one kernel per node, trying `preferred`
  // first and falling back to the reference family per node. `ctx` (and the
  // pools it points to) must outlive the Network.
  Status load(const void* bytes, size_t size, kernels::Family preferred, const kernels::ExecContext& ctx,
              const Logger* logger = nullptr);
  // Same, from an already validated model (ownership moves in).
  Status load(model::Model&& m, kernels::Family preferred, const kernels::ExecContext& ctx,
              const Logger* logger = nullptr);

  bool loaded() const;
  const model::Model& model() const;

  // The network input [1, H, W, 3] f32 NHWC, and the first output tensor
  // (f32 for an ANet). Both point into the arena and never move; run() leaves
  // the input untouched, so it can be filled once and run many times.
  float* input_ptr();
  size_t input_elements() const;
  const float* output_ptr() const;
  size_t output_elements() const;
  // Any output (index into model().outputs), f32 or int8 by the tensor's dtype.
  const void* output_data(size_t i) const;

  // Runs all nodes; polls `abort_cb` between nodes (FACEATTR_ERR_CANCELLED). Allocates nothing.
  Status run(faceattr_abort_callback abort_cb = nullptr, void* abort_user_data = nullptr);
  // Runs nodes [begin, end) only (in order; the nodes before `begin` must have
  // run), polling `abort_cb` as run() does: lets a profiler time each node, and
  // the explainer copy activations before later nodes reuse their bytes.
  Status run_nodes(size_t begin, size_t end, faceattr_abort_callback abort_cb = nullptr,
                   void* abort_user_data = nullptr);
  // Any tensor's bytes in the arena (activations: valid until a later node reuses them).
  const void* tensor_data(int tensor) const;
  size_t node_count() const;

  // Diagnostics: the family serving each node, and the arena size in bytes.
  const std::vector<kernels::Family>& node_families() const;
  size_t arena_bytes() const;
  // Family serving most of the multiply-accumulate work (conv/fc nodes), else the preferred one.
  kernels::Family main_family() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceattr
