// XNNPACK glue shared by the xnnpack/ kernels: one-time initialisation, an
// owning operator handle, and a kernel base that runs a list of operators.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>
#include <memory>
#include <vector>

#include "kernels/kernel_util.h"

namespace faceattr::kernels::xnnpack {

// Calls xnn_initialize once per process; true when XNNPACK is usable here.
bool ensure_initialized();

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const {
    if (op != nullptr) xnn_delete_operator(op);
  }
};
using OperatorPtr = std::unique_ptr<xnn_operator, OperatorDeleter>;

inline pthreadpool_t threadpool_of(const ExecContext& ctx) {
  return static_cast<pthreadpool_t>(ctx.xnn_threadpool);
}

inline int8_t to_i8(int32_t v) { return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v)); }

// A kernel made of XNNPACK operators run in order. Subclasses create the
// operators (appending to ops_, a null op means creation failed) and set
// them up in setup(), which bind() calls with the bound buffers.
class XnnKernel : public BoundKernel {
 public:
  explicit XnnKernel(size_t n_inputs) : BoundKernel(n_inputs) {}
  // True when every operator was created.
  bool ok() const {
    if (ops_.empty()) return false;
    for (const auto& op : ops_) {
      if (!op) return false;
    }
    return true;
  }
  void run(const ExecContext& ctx) override {
    if (!bound()) return;
    for (auto& op : ops_) xnn_run_operator(op.get(), threadpool_of(ctx));
  }

 protected:
  bool on_bind(const ExecContext& ctx) override { return setup(threadpool_of(ctx)); }
  virtual bool setup(pthreadpool_t tp) = 0;
  // Takes ownership of an operator created by xnn_create_* (null on failure).
  void add_op(xnn_status st, xnn_operator_t op) {
    if (st != xnn_status_success) {
      if (op != nullptr) xnn_delete_operator(op);
      op = nullptr;
    }
    ops_.emplace_back(op);
  }
  // Same, for a creator called as create(&op) -> xnn_status.
  template <class Create>
  void add_op(Create&& create) {
    xnn_operator_t op = nullptr;
    const xnn_status st = create(&op);
    add_op(st, op);
  }
  std::vector<OperatorPtr> ops_;
};

// Returns k when all its operators were created, else nullptr.
template <class K>
KernelPtr if_created(std::unique_ptr<K> k) {
  if (!k || !k->ok()) return nullptr;
  return k;
}

}  // namespace faceattr::kernels::xnnpack
