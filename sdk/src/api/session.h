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

namespace faceattr::api {
// A face found by LNet: its box in frame pixels, its score in [0, 1] and the box
// of the frame that ANet reads (the face box centre-cropped to ANet's aspect).
struct FaceCrop {
  image::CropBox frame, anet;
  float score = 0;
};
}  // namespace faceattr::api

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
  std::vector<faceattr::api::FaceCrop> crops;      // max_faces

  // Prediction results, sized at create time (predict allocates nothing):
  // without LNet one face, with LNet max_faces faces of n_attributes values each.
  size_t n_attributes = 0;
  std::vector<float> probs;
  std::vector<uint8_t> present;
  std::vector<faceattr_face> faces;
  faceattr_timings timings{};

  // LNet response map of the last successful predict (copied out of the arena).
  std::vector<float> response;
  std::vector<float> fine_map;  // the maps of all LNet passes during a predict (passes reuse the arena)
  faceattr_response_map response_map{};
  bool response_valid = false;

  ~faceattr_session();
};

namespace faceattr::api {

// Backend actually used for a request (AUTO -> XNNPACK, else SIMD, else REFERENCE);
// FACEATTR_ERR_UNSUPPORTED when the requested one is not compiled in.
Status resolve_backend(int requested, faceattr_backend* out);  // a faceattr_backend value
kernels::Family family_of(faceattr_backend b);

// The LNet stages of faceattr_session_predict, for callers that run the networks
// elsewhere (the browser module's WebGPU backend, wasm/webgpu_stages.cpp); both
// allocate nothing. lnet_input_of validates `image` and letterboxes it into
// `lnet_input` (LNet's [1, H, W, 3] f32 input); FACEATTR_ERR_UNSUPPORTED without
// LNet. faces_of_response decodes a response map (map_h x map_w) into at most
// params.max_faces faces in `out`, strongest first, and returns their count.
// LNet runs lnet_passes(s) times per frame (1; 2 for a decoder with a coarse pass;
// the levels of an image-pyramid decoder): pass k on the frame letterboxed by
// lnet_input_of(..., lnet_pass_shrink(s, k)). faces_of_passes decodes the maps of
// all passes (with fewer, the decoder uses what it has: fewer faces found).
Status lnet_input_of(const faceattr_session* s, const faceattr_image& image, float* lnet_input,
                     image::Letterbox* g, float shrink = 1.0f);
int lnet_passes(const faceattr_session* s);
float lnet_pass_shrink(const faceattr_session* s, int pass);
bool lnet_wants_coarse_pass(const faceattr_session* s);  // lnet_passes(s) == 2, not a pyramid
int faces_of_passes(faceattr_session* s, const float* const* maps, const image::Letterbox* gs, int n_maps,
                    FaceCrop* out);
// One map (+ optionally the coarse pass's): faces_of_passes of those.
int faces_of_response(faceattr_session* s, const float* map, const image::Letterbox& g, FaceCrop* out,
                      const float* coarse = nullptr, const image::Letterbox* coarse_g = nullptr);

// Creates the thread pools of `s->params.n_threads` and fills s->ctx.
Status create_exec_context(faceattr_session* s);

}  // namespace faceattr::api
