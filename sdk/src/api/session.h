// The objects behind the opaque faceattr_session and faceattr_model handles.
#pragma once

#include <atomic>
#include <memory>
#include <string>
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

  // Set while a call that reads or writes the state above runs (api::SessionCall):
  // a second, concurrent call returns FACEATTR_ERR_BUSY instead of racing it.
  mutable std::atomic<bool> busy{false};

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

// One call's hold on a session: entered() when no other call holds it, else the
// call must return busy_status() and touch nothing. The exchange (acquire) and
// the release at the end order one call's writes before the next call's reads,
// so calls from different threads, one at a time, need no other locking. Never
// waits.
class SessionCall {
 public:
  explicit SessionCall(const faceattr_session* s)
      : s_(s), entered_(!s->busy.exchange(true, std::memory_order_acquire)) {}
  ~SessionCall() {
    if (entered_) s_->busy.store(false, std::memory_order_release);
  }
  SessionCall(const SessionCall&) = delete;
  SessionCall& operator=(const SessionCall&) = delete;
  bool entered() const { return entered_; }

 private:
  const faceattr_session* s_;
  bool entered_;
};

// FACEATTR_ERR_BUSY for `call` (the entry point's name).
Status busy_status(const char* call);

// Whether the session's ANet has thresholds for `policy` (a faceattr_threshold_policy value):
// FACEATTR_ERR_INVALID_ARGUMENT for an unknown value, FACEATTR_ERR_UNSUPPORTED for a policy
// the model lacks; `who` starts the message.
Status check_threshold_policy(const pipeline::FacePipeline& pl, int policy, const std::string& who);

}  // namespace faceattr::api
