// The objects behind the opaque faceattr_session and faceattr_model handles.
#pragma once

#include <memory>
#include <vector>

#include "faceattr/faceattr.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "pipeline/face_pipeline.h"
#include "util/log.h"
#include "util/status.h"
#include "util/thread_pool.h"

// A loaded model, read-only: owned (faceattr_model_load) or a session's network.
struct faceattr_model {
  const faceattr::model::Model* model = nullptr;
  std::unique_ptr<faceattr::model::Model> owned;
  // The C views of the model's strings (faceattr_model_info), built once by bind_model.
  std::vector<const char*> attribute_names, metadata_keys, metadata_values;
};

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

  // faceattr_session_model: the pipeline's ANet and LNet.
  faceattr_model models[2];
  // faceattr_session_decode_faces: the decoder's faces (face_slots), before their C form.
  std::vector<faceattr::pipeline::FaceCrop> stage_crops;

  ~faceattr_session();
};

namespace faceattr::api {

// Backend actually used for a request (AUTO -> SIMD, else XNNPACK, else REFERENCE);
// FACEATTR_ERR_UNSUPPORTED when the requested one is not compiled in.
Status resolve_backend(int requested, faceattr_backend* out);  // a faceattr_backend value
kernels::Family family_of(faceattr_backend b);

// Creates the thread pools of `s->params.n_threads` and fills s->ctx.
Status create_exec_context(faceattr_session* s);

// Points `out` at `m` (which must outlive it) and builds its C string views. May allocate.
void bind_model(const model::Model* m, faceattr_model* out);

}  // namespace faceattr::api
