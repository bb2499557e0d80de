#include "kernels/xnnpack/xnn_runtime.h"

#include <mutex>

namespace faceattr::kernels::xnnpack {

bool ensure_initialized() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = xnn_initialize(nullptr) == xnn_status_success; });
  return ok;
}

bool runtime_available() { return ensure_initialized(); }

}  // namespace faceattr::kernels::xnnpack
