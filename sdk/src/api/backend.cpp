// Backend resolution and the execution context (thread pools) of a session.
#include <mutex>
#include <new>
#include <string>

#include "api/session.h"

#if defined(FACEATTR_HAVE_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

namespace faceattr::api {

kernels::Family family_of(faceattr_backend b) {
  switch (b) {
    case FACEATTR_BACKEND_XNNPACK:
      return kernels::Family::Xnnpack;
    case FACEATTR_BACKEND_SIMD:
      return kernels::Family::Simd;
    default:
      return kernels::Family::Reference;
  }
}

Status resolve_backend(int requested, faceattr_backend* out) {
  switch (requested) {
    case FACEATTR_BACKEND_AUTO:
      // The project's Highway kernels come first: on the shipped models they
      // beat Debian's XNNPACK 1.4-3x at 1 thread and 1.8x on fp32 at 2 threads;
      // int8 at 2 threads is within +-20% either way (bench/RESULTS.md).
      // XNNPACK serves builds without them.
      if (faceattr_backend_available(FACEATTR_BACKEND_SIMD)) {
        *out = FACEATTR_BACKEND_SIMD;
      } else if (faceattr_backend_available(FACEATTR_BACKEND_XNNPACK)) {
        *out = FACEATTR_BACKEND_XNNPACK;
      } else {
        *out = FACEATTR_BACKEND_REFERENCE;
      }
      return Status::ok();
    case FACEATTR_BACKEND_REFERENCE:
    case FACEATTR_BACKEND_XNNPACK:
    case FACEATTR_BACKEND_SIMD: {
      const auto b = static_cast<faceattr_backend>(requested);
      if (!faceattr_backend_available(b))
        return Status(FACEATTR_ERR_UNSUPPORTED, std::string("backend '") + faceattr_backend_name(b) +
                                                    "' is not available in this build");
      *out = b;
      return Status::ok();
    }
  }
  return invalid_argument("unknown backend " + std::to_string(requested));
}

Status create_exec_context(faceattr_session* s) {
  const int n = s->params.n_threads;
  s->pool.reset(new (std::nothrow) ThreadPool(n));
  if (!s->pool) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot create the thread pool");
  s->ctx.n_threads = n;
  s->ctx.pool = s->pool.get();
#if defined(FACEATTR_HAVE_XNNPACK)
  if (s->backend == FACEATTR_BACKEND_XNNPACK) {
    static std::once_flag once;
    static xnn_status init_status = xnn_status_uninitialized;
    std::call_once(once, [] { init_status = xnn_initialize(nullptr); });
    if (init_status != xnn_status_success)
      return Status(FACEATTR_ERR_UNSUPPORTED, "XNNPACK failed to initialise on this CPU");
    // pthreadpool with 1 thread would add overhead for nothing: null means "run inline".
    if (n > 1) {
      pthreadpool_t tp = pthreadpool_create(static_cast<size_t>(n));
      if (tp == nullptr) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot create the XNNPACK thread pool");
      s->xnn_pool = tp;
    }
    s->ctx.xnn_threadpool = s->xnn_pool;
  }
#endif
  return Status::ok();
}

}  // namespace faceattr::api

faceattr_session::~faceattr_session() {
  pipeline.release();  // kernels go before the pools they use
#if defined(FACEATTR_HAVE_XNNPACK)
  if (xnn_pool != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(xnn_pool));
#endif
}
