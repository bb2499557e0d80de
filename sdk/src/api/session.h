// The object behind the opaque faceattr_session handle.
#pragma once

#include <memory>

#include "faceattr/faceattr.h"
#include "kernels/kernels.h"
#include "pipeline/face_pipeline.h"
#include "util/log.h"
#include "util/status.h"
#include "util/thread_pool.h"

struct faceattr_session {
  faceattr_session_params params{};
  faceattr::Logger logger;
  faceattr_backend backend = FACEATTR_BACKEND_REFERENCE;

  // Declared before the pipeline: its kernels keep pointers to these pools.
  std::unique_ptr<faceattr::ThreadPool> pool;
  void* xnn_pool = nullptr;  // pthreadpool_t, owned
  faceattr::kernels::ExecContext ctx;

  // The networks, the LNet decoder and every buffer of a prediction (planned at create).
  faceattr::pipeline::FacePipeline pipeline;
  faceattr_timings timings{};

  ~faceattr_session();
};

namespace faceattr::api {

// Backend actually used for a request (AUTO -> XNNPACK, else SIMD, else REFERENCE);
// FACEATTR_ERR_UNSUPPORTED when the requested one is not compiled in.
Status resolve_backend(int requested, faceattr_backend* out);  // a faceattr_backend value
kernels::Family family_of(faceattr_backend b);

// Creates the thread pools of `s->params.n_threads` and fills s->ctx.
Status create_exec_context(faceattr_session* s);

}  // namespace faceattr::api
