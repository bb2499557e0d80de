// XNNPACK glue shared by the xnnpack/ kernels: one-time initialisation and an
// owning operator handle.
#pragma once

#include <xnnpack.h>

#include <memory>

namespace faceattr::kernels::xnnpack {

// Calls xnn_initialize once per process; true when XNNPACK is usable here.
bool ensure_initialized();

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const {
    if (op != nullptr) xnn_delete_operator(op);
  }
};
using OperatorPtr = std::unique_ptr<xnn_operator, OperatorDeleter>;

}  // namespace faceattr::kernels::xnnpack
