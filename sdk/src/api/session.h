// The object behind the opaque faceattr_session handle.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "kernels/kernels.h"
#include "pipeline/lnet_decode.h"
#include "util/log.h"
#include "util/thread_pool.h"

struct faceattr_session {
  faceattr_session_params params{};
  faceattr::Logger logger;
  faceattr_backend backend = FACEATTR_BACKEND_REFERENCE;

  // Declared before the networks: kernels keep pointers to these pools.
  std::unique_ptr<faceattr::ThreadPool> pool;
  void* xnn_pool = nullptr;  // pthreadpool_t, owned
  faceattr::kernels::ExecContext ctx;

  faceattr::Network anet;
  faceattr::Network lnet;  // loaded only with an LNet model (has_lnet)
  bool has_lnet = false;

  // LNet decoding: map geometry in LNet-input pixels, the decoder and its boxes.
  int map_w = 0, map_h = 0;
  float cell_w = 0, cell_h = 0;
  std::unique_ptr<faceattr::pipeline::Decoder> decoder;
  std::vector<faceattr::pipeline::FaceBox> boxes;  // max_faces

  // Prediction results, sized at create time (predict allocates nothing):
  // without LNet one face, with LNet max_faces faces of n_attributes values each.
  size_t n_attributes = 0;
  std::vector<float> probs;
  std::vector<uint8_t> present;
  std::vector<faceattr_face> faces;
  faceattr_timings timings{};

  // LNet response map of the last successful predict (copied out of the arena).
  std::vector<float> response;
  faceattr_response_map response_map{};
  bool response_valid = false;

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
