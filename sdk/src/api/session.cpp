// faceattr_session_* entry points. Every fallible call clears the thread's
// last error, returns a status and, on failure, records its message.
#include "api/session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>

#include "image/preprocess.h"
#include "util/enum_value.h"
#include "util/last_error.h"

using faceattr::invalid_argument;
using faceattr::Status;

namespace {

// std::bad_alloc only exists as an exception when exceptions are enabled (not in the wasm build).
#if defined(__cpp_exceptions)
#define FACEATTR_GUARD_BEGIN try {
#define FACEATTR_GUARD_END                                                                           \
  }                                                                                                  \
  catch (const std::bad_alloc&) {                                                                    \
    return faceattr::report(Status(FACEATTR_ERR_OUT_OF_MEMORY, "out of memory"));                    \
  }                                                                                                  \
  catch (...) {                                                                                      \
    return faceattr::report(Status(FACEATTR_ERR_INTERNAL, "internal error (unexpected exception)")); \
  }
#else
#define FACEATTR_GUARD_BEGIN {
#define FACEATTR_GUARD_END }
#endif

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Status check_params(const faceattr_session_params& p) {
  if (p.n_threads < 1 || p.n_threads > 256)
    return invalid_argument("params.n_threads must be in [1, 256], got " + std::to_string(p.n_threads));
  const int log_level = faceattr::enum_value(p.log_level);
  if (log_level < FACEATTR_LOG_DEBUG || log_level > FACEATTR_LOG_ERROR)
    return invalid_argument("params.log_level out of range");
  if (p.max_faces < 1) return invalid_argument("params.max_faces must be >= 1");
  if (p.min_face_size < 1) return invalid_argument("params.min_face_size must be >= 1");
  if (p.max_image_pixels < 1) return invalid_argument("params.max_image_pixels must be >= 1");
  return Status::ok();
}

// LNet contract (docs/model-format.md, "LNet models"): one f32 output [1, map_h, map_w, 1], input
// sides multiples of the map sides. Fills the map geometry of `s`.
Status check_lnet(const faceattr::model::Model& m, faceattr_session* s) {
  if (m.outputs.size() != 1)
    return faceattr::model_format_error("LNet model must have exactly one output (the response map), got " +
                                        std::to_string(m.outputs.size()));
  const faceattr::model::Tensor& out = m.tensors[static_cast<size_t>(m.outputs[0])];
  const auto& d = out.shape;
  if (out.dtype != faceattr::model::DType::F32 || d.size() != 4 || d[0] != 1 || d[3] != 1 || d[1] < 1 ||
      d[2] < 1) {
    std::string shape;
    for (size_t i = 0; i < d.size(); ++i) shape += (i ? "," : "") + std::to_string(d[i]);
    return faceattr::model_format_error("LNet output '" + out.name + "' must be f32 [1,map_h,map_w,1], got " +
                                        (out.dtype == faceattr::model::DType::F32 ? "f32" : "non-f32") +
                                        " [" + shape + "]");
  }
  if (m.input_width % d[2] != 0 || m.input_height % d[1] != 0)
    return faceattr::model_format_error(
        "LNet input " + std::to_string(m.input_width) + "x" + std::to_string(m.input_height) +
        " is not a multiple of its response map " + std::to_string(d[2]) + "x" + std::to_string(d[1]));
  s->map_h = d[1];
  s->map_w = d[2];
  s->cell_w = static_cast<float>(m.input_width / d[2]);
  s->cell_h = static_cast<float>(m.input_height / d[1]);
  return Status::ok();
}

Status create_session(const void* anet_model, size_t anet_size, const void* lnet_model, size_t lnet_size,
                      const faceattr_session_params& params, faceattr_session** out) {
  FACEATTR_RETURN_IF_ERROR(check_params(params));
  if (anet_model == nullptr || anet_size == 0)
    return invalid_argument("an ANet model is required (null or empty buffer)");
  if ((lnet_model == nullptr) != (lnet_size == 0))
    return invalid_argument("lnet_model and lnet_size must both be set or both be null/0");

  std::unique_ptr<faceattr_session> s(new (std::nothrow) faceattr_session);
  if (!s) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot allocate a session");
  s->params = params;
  s->logger.callback = params.log_callback;
  s->logger.user_data = params.log_user_data;
  s->logger.min_level = params.log_level;
  FACEATTR_RETURN_IF_ERROR(faceattr::api::resolve_backend(faceattr::enum_value(params.backend), &s->backend));

  faceattr::model::Model anet;
  FACEATTR_RETURN_IF_ERROR(faceattr::model::load_model(anet_model, anet_size, &anet));
  if (anet.kind != "anet")
    return invalid_argument("the ANet slot holds a \"" + anet.kind + "\" model, expected \"anet\"");
  faceattr::model::Model lnet;
  faceattr::pipeline::DecodeParams decode_params;
  if (lnet_model != nullptr) {
    Status st = faceattr::model::load_model(lnet_model, lnet_size, &lnet);
    if (!st.is_ok()) return Status(st.code(), "LNet model: " + st.message());
    if (lnet.kind != "lnet")
      return invalid_argument("the LNet slot holds a \"" + lnet.kind + "\" model, expected \"lnet\"");
    FACEATTR_RETURN_IF_ERROR(check_lnet(lnet, s.get()));
    FACEATTR_RETURN_IF_ERROR(faceattr::pipeline::decode_params_from_model(lnet, &decode_params));
    if (decode_params.pyramid_levels >= 2.0f) {
      // Every pyramid level must keep at least one input pixel each way.
      const double smallest = std::pow(static_cast<double>(decode_params.pyramid_factor),
                                       static_cast<double>(decode_params.pyramid_levels) - 1.0);
      if (smallest > std::min(lnet.input_width, lnet.input_height))
        return faceattr::model_format_error(
            "LNet metadata lnet.pyramid_levels / lnet.pyramid_factor: the last level shrinks the " +
            std::to_string(lnet.input_width) + "x" + std::to_string(lnet.input_height) + " input " +
            std::to_string(smallest) + " times");
    }
    s->has_lnet = true;
  }

  FACEATTR_RETURN_IF_ERROR(faceattr::api::create_exec_context(s.get()));
  FACEATTR_RETURN_IF_ERROR(
      s->anet.load(std::move(anet), faceattr::api::family_of(s->backend), s->ctx, &s->logger));
  const std::string lnet_name = lnet.name;
  if (s->has_lnet) {
    FACEATTR_RETURN_IF_ERROR(
        s->lnet.load(std::move(lnet), faceattr::api::family_of(s->backend), s->ctx, &s->logger));
    s->decoder.reset(new (std::nothrow) faceattr::pipeline::Decoder(decode_params, s->map_h, s->map_w,
                                                                    s->cell_w, s->cell_h, params.max_faces));
    if (!s->decoder) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot allocate the LNet decoder");
    s->boxes.resize(static_cast<size_t>(params.max_faces));
    s->crops.resize(static_cast<size_t>(params.max_faces));
    s->response.assign(static_cast<size_t>(s->map_h) * static_cast<size_t>(s->map_w), 0.0f);
    s->fine_map.assign(s->response.size() * static_cast<size_t>(s->decoder->passes()), 0.0f);
  }
  const size_t n_attr = s->anet.model().attribute_names.size();
  const size_t n_faces = s->has_lnet ? static_cast<size_t>(params.max_faces) : 1;
  s->n_attributes = n_attr;
  s->probs.assign(n_faces * n_attr, 0.0f);
  s->present.assign(n_faces * n_attr, 0);
  s->faces.assign(n_faces, faceattr_face{});
  for (size_t f = 0; f < n_faces; ++f) {
    s->faces[f].probs = s->probs.data() + f * n_attr;
    s->faces[f].present = s->present.data() + f * n_attr;
  }
  s->logger.log(FACEATTR_LOG_INFO, "session: model '%s' (%zu attributes), backend %s, %d threads",
                s->anet.model().name.c_str(), n_attr, faceattr_backend_name(s->backend), params.n_threads);
  if (s->has_lnet)
    s->logger.log(FACEATTR_LOG_INFO, "session: LNet '%s', input %dx%d, response map %dx%d, max %d faces",
                  lnet_name.c_str(), s->lnet.model().input_width, s->lnet.model().input_height, s->map_w,
                  s->map_h, params.max_faces);
  *out = s.release();
  return Status::ok();
}

// Largest box of `aspect` (width / height) centred in `b`.
faceattr::image::CropBox centre_crop_of(const faceattr::image::CropBox& b, float aspect) {
  faceattr::image::CropBox c = b;
  if (b.w >= b.h * aspect) {
    c.w = b.h * aspect;
  } else {
    c.h = b.w / aspect;
  }
  c.x = b.x + (b.w - c.w) * 0.5f;
  c.y = b.y + (b.h - c.h) * 0.5f;
  return c;
}

// Resamples `box` of `image` into ANet's input and runs ANet; adds to the timings.
Status run_anet_on(faceattr_session* s, const faceattr_image& image, const faceattr::image::CropBox& box,
                   faceattr_timings* t) {
  const faceattr::model::Model& m = s->anet.model();
  const auto t0 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(faceattr::image::crop_resize_normalize(
      image, box, m.input_width, m.input_height, m.mean, m.std, s->anet.input_ptr(),
      faceattr::image::Resampler::Simd, s->ctx.pool));
  t->preprocess_ms += ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(s->anet.run(s->params.abort_callback, s->params.abort_user_data));
  t->anet_ms += ms_since(t1);
  return Status::ok();
}

// Copies ANet's output into face slot `f` (probs, present).
void store_probs(faceattr_session* s, size_t f) {
  const float* out = s->anet.output_ptr();
  const auto& thr = s->anet.model().thresholds;
  float* probs = s->probs.data() + f * s->n_attributes;
  uint8_t* present = s->present.data() + f * s->n_attributes;
  for (size_t i = 0; i < s->n_attributes; ++i) {
    probs[i] = out[i];
    present[i] = out[i] >= thr[i] ? 1 : 0;
  }
}

// Centre-crops `image` to the ANet aspect, resamples into the network input and runs ANet.
Status run_crop(faceattr_session* s, const faceattr_image& image, faceattr::image::CropBox* box_out,
                faceattr_timings* t) {
  FACEATTR_RETURN_IF_ERROR(faceattr::image::validate_image(image, s->params.max_image_pixels));
  const faceattr::model::Model& m = s->anet.model();
  const faceattr::image::CropBox box = faceattr::image::centre_crop_box(
      image.width, image.height, static_cast<float>(m.input_width) / m.input_height);
  FACEATTR_RETURN_IF_ERROR(run_anet_on(s, image, box, t));
  if (box_out) *box_out = box;
  return Status::ok();
}

// frame -> letterboxed LNet input -> response map -> boxes -> per box: centre crop at ANet's
// aspect -> ANet. Writes faces [0, *n_faces) of the session; allocates nothing.
Status run_pipeline(faceattr_session* s, const faceattr_image& image, int32_t* n_faces, faceattr_timings* t) {
  const auto t0 = std::chrono::steady_clock::now();
  faceattr::image::Letterbox g;
  FACEATTR_RETURN_IF_ERROR(faceattr::api::lnet_input_of(s, image, s->lnet.input_ptr(), &g));
  t->preprocess_ms += ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(s->lnet.run(s->params.abort_callback, s->params.abort_user_data));
  t->lnet_ms = ms_since(t1);
  // Each pass's map leaves the arena before the next pass overwrites it.
  const size_t cells = s->response.size();
  std::copy(s->lnet.output_ptr(), s->lnet.output_ptr() + cells, s->fine_map.begin());
  constexpr int kMaxPasses = 8;
  const int passes = std::min(kMaxPasses, faceattr::api::lnet_passes(s));
  faceattr::image::Letterbox gs[kMaxPasses];
  const float* maps[kMaxPasses];
  gs[0] = g;
  maps[0] = s->fine_map.data();
  for (int k = 1; k < passes; ++k) {
    const auto t2 = std::chrono::steady_clock::now();
    FACEATTR_RETURN_IF_ERROR(faceattr::api::lnet_input_of(s, image, s->lnet.input_ptr(), &gs[k],
                                                          faceattr::api::lnet_pass_shrink(s, k)));
    t->preprocess_ms += ms_since(t2);
    const auto t3 = std::chrono::steady_clock::now();
    FACEATTR_RETURN_IF_ERROR(s->lnet.run(s->params.abort_callback, s->params.abort_user_data));
    t->lnet_ms += ms_since(t3);
    float* dst = s->fine_map.data() + cells * static_cast<size_t>(k);
    std::copy(s->lnet.output_ptr(), s->lnet.output_ptr() + cells, dst);
    maps[k] = dst;
  }

  const int n = faceattr::api::faces_of_passes(s, maps, gs, passes, s->crops.data());
  for (int k = 0; k < n; ++k) {
    const faceattr::api::FaceCrop& c = s->crops[static_cast<size_t>(k)];
    FACEATTR_RETURN_IF_ERROR(run_anet_on(s, image, c.anet, t));
    store_probs(s, static_cast<size_t>(k));
    faceattr_face& face = s->faces[static_cast<size_t>(k)];
    face.box[0] = c.frame.x;
    face.box[1] = c.frame.y;
    face.box[2] = c.frame.w;
    face.box[3] = c.frame.h;
    face.score = c.score;
  }

  std::copy(s->fine_map.begin(), s->fine_map.begin() + static_cast<std::ptrdiff_t>(cells), s->response.begin());
  faceattr_response_map& r = s->response_map;
  r.data = s->response.data();
  r.width = s->map_w;
  r.height = s->map_h;
  r.origin_x = 0.0f;
  r.origin_y = 0.0f;
  r.cell_width = s->cell_w / g.scale_x;
  r.cell_height = s->cell_h / g.scale_y;
  s->response_valid = true;
  *n_faces = static_cast<int32_t>(n);
  return Status::ok();
}

}  // namespace

namespace faceattr::api {

Status lnet_input_of(const faceattr_session* s, const faceattr_image& image, float* lnet_input,
                     faceattr::image::Letterbox* g, float shrink) {
  if (!s->has_lnet) return Status(FACEATTR_ERR_UNSUPPORTED, "the session has no LNet model");
  FACEATTR_RETURN_IF_ERROR(faceattr::image::validate_image(image, s->params.max_image_pixels));
  const faceattr::model::Model& lm = s->lnet.model();
  // The rows split over the session's threads (the same values as one thread).
  return faceattr::image::letterbox_normalize(image, lm.input_width, lm.input_height, lm.mean, lm.std,
                                              lnet_input, g, shrink, faceattr::image::Resampler::Simd,
                                              s->ctx.pool);
}

int lnet_passes(const faceattr_session* s) {
  return s->has_lnet && s->decoder ? s->decoder->passes() : 0;
}

float lnet_pass_shrink(const faceattr_session* s, int pass) {
  return s->has_lnet && s->decoder ? s->decoder->pass_shrink(pass) : 1.0f;
}

bool lnet_wants_coarse_pass(const faceattr_session* s) {
  return s->has_lnet && s->decoder && s->decoder->wants_coarse_map();
}

int faces_of_response(faceattr_session* s, const float* map, const faceattr::image::Letterbox& g,
                      FaceCrop* out, const float* coarse, const faceattr::image::Letterbox* coarse_g) {
  const float* maps[2] = {map, coarse};
  faceattr::image::Letterbox gs[2] = {g, coarse_g ? *coarse_g : faceattr::image::Letterbox{}};
  return faces_of_passes(s, maps, gs, coarse && coarse_g ? 2 : 1, out);
}

int faces_of_passes(faceattr_session* s, const float* const* maps, const faceattr::image::Letterbox* gs,
                    int n_maps, FaceCrop* out) {
  if (!s->has_lnet || !maps || !gs || n_maps < 1) return 0;
  const faceattr::image::Letterbox& g = gs[0];
  // min_face_size is in frame pixels; the decoder drops boxes certainly below it (in LNet
  // pixels), the exact test on the frame box follows.
  const float min_face = static_cast<float>(s->params.min_face_size);
  const float min_side = min_face * std::min(g.scale_x, g.scale_y);
  // Pass k's input pixel (x, y) is pass 0's pixel (x * ratio_x[k], y * ratio_y[k]); a pass
  // without a usable geometry ends the list.
  constexpr int kMaxPasses = 8;
  float rx[kMaxPasses], ry[kMaxPasses];
  int n = 0;
  for (; n < std::min(n_maps, kMaxPasses); ++n) {
    if (!maps[n] || !(gs[n].scale_x > 0) || !(gs[n].scale_y > 0)) break;
    rx[n] = g.scale_x / gs[n].scale_x;
    ry[n] = g.scale_y / gs[n].scale_y;
  }
  if (n == 0) return 0;
  const int found = s->decoder->decode_passes(maps, rx, ry, n, min_side, s->boxes.data());
  const faceattr::model::Model& am = s->anet.model();
  const float anet_aspect = static_cast<float>(am.input_width) / static_cast<float>(am.input_height);
  int kept = 0;
  for (int k = 0; k < found && kept < s->params.max_faces; ++k) {
    const faceattr::pipeline::FaceBox& b = s->boxes[static_cast<size_t>(k)];
    const faceattr::image::CropBox frame{b.x / g.scale_x, b.y / g.scale_y, b.w / g.scale_x, b.h / g.scale_y};
    if (!(frame.w > 0.0f) || !(frame.h > 0.0f) || !std::isfinite(frame.x) || !std::isfinite(frame.y) ||
        !std::isfinite(frame.w) || !std::isfinite(frame.h))
      continue;
    if (std::min(frame.w, frame.h) < min_face) continue;
    FaceCrop& c = out[kept++];
    c.frame = frame;
    c.anet = centre_crop_of(frame, anet_aspect);
    c.score = std::min(1.0f, std::max(0.0f, b.score));
  }
  return kept;
}

}  // namespace faceattr::api

extern "C" {

faceattr_session_params faceattr_session_default_params(void) {
  faceattr_session_params p;
  std::memset(&p, 0, sizeof p);
  p.n_threads = 1;
  p.backend = FACEATTR_BACKEND_AUTO;
  p.log_callback = nullptr;
  p.log_user_data = nullptr;
  p.log_level = FACEATTR_LOG_WARN;
  p.abort_callback = nullptr;
  p.abort_user_data = nullptr;
  p.max_faces = 8;
  p.min_face_size = 24;
  p.max_image_pixels = int64_t{64} * 1000 * 1000;
  return p;
}

faceattr_status faceattr_session_create(const void* anet_model, size_t anet_size, const void* lnet_model,
                                        size_t lnet_size, const faceattr_session_params* params,
                                        faceattr_session** out) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (out == nullptr) return faceattr::report(invalid_argument("faceattr_session_create: out is null"));
  *out = nullptr;
  const faceattr_session_params p = params ? *params : faceattr_session_default_params();
  return faceattr::report(create_session(anet_model, anet_size, lnet_model, lnet_size, p, out));
  FACEATTR_GUARD_END
}

void faceattr_session_free(faceattr_session* session) { delete session; }

faceattr_status faceattr_session_predict(faceattr_session* session, const faceattr_image* image,
                                         const faceattr_face** faces, int32_t* n_faces) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (session == nullptr || image == nullptr || faces == nullptr || n_faces == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_predict: null argument"));
  *faces = nullptr;
  *n_faces = 0;
  faceattr_timings t{};
  int32_t n = 0;
  if (session->has_lnet) {
    const Status st = run_pipeline(session, *image, &n, &t);
    if (!st.is_ok()) return faceattr::report(st);
  } else {
    faceattr::image::CropBox box;
    const Status st = run_crop(session, *image, &box, &t);
    if (!st.is_ok()) return faceattr::report(st);
    store_probs(session, 0);
    faceattr_face& face = session->faces[0];
    face.box[0] = box.x;
    face.box[1] = box.y;
    face.box[2] = box.w;
    face.box[3] = box.h;
    face.score = 1.0f;
    n = 1;
  }
  session->timings = t;
  *faces = n > 0 ? session->faces.data() : nullptr;
  *n_faces = n;
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

faceattr_status faceattr_session_predict_crop(faceattr_session* session, const faceattr_image* image,
                                              float* probs) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (session == nullptr || image == nullptr || probs == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_predict_crop: null argument"));
  faceattr_timings t{};
  const Status st = run_crop(session, *image, nullptr, &t);
  if (!st.is_ok()) return faceattr::report(st);
  std::memcpy(probs, session->anet.output_ptr(), session->n_attributes * sizeof(float));
  session->timings = t;
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

int32_t faceattr_session_n_attributes(const faceattr_session* session) {
  return session ? static_cast<int32_t>(session->n_attributes) : -1;
}

const char* faceattr_session_attribute_name(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->n_attributes)) return nullptr;
  return session->anet.model().attribute_names[static_cast<size_t>(index)].c_str();
}

float faceattr_session_attribute_threshold(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->n_attributes)) return -1.0f;
  return session->anet.model().thresholds[static_cast<size_t>(index)];
}

faceattr_backend faceattr_session_backend(const faceattr_session* session) {
  return session ? session->backend : FACEATTR_BACKEND_REFERENCE;
}

const char* faceattr_session_model_metadata(const faceattr_session* session, int32_t which, const char* key) {
  if (session == nullptr || key == nullptr) return nullptr;
  if (which != 0 && !(which == 1 && session->has_lnet)) return nullptr;
  const faceattr::model::Model& m = which == 0 ? session->anet.model() : session->lnet.model();
  if (const char* v = m.find_metadata(key)) return v;
  if (std::strcmp(key, "name") == 0) return m.name.c_str();
  if (std::strcmp(key, "description") == 0) return m.description.c_str();
  if (std::strcmp(key, "kind") == 0) return m.kind.c_str();
  return nullptr;
}

faceattr_status faceattr_session_response_map(const faceattr_session* session, faceattr_response_map* out) {
  faceattr::clear_last_error();
  if (session == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_response_map: null argument"));
  if (!session->has_lnet)
    return faceattr::report(
        Status(FACEATTR_ERR_UNSUPPORTED, "faceattr_session_response_map: the session has no LNet model"));
  if (!session->response_valid)
    return faceattr::report(
        invalid_argument("faceattr_session_response_map: no successful faceattr_session_predict call yet"));
  *out = session->response_map;
  return FACEATTR_OK;
}

int faceattr_session_has_localizer(const faceattr_session* session) {
  return session != nullptr && session->has_lnet ? 1 : 0;
}

faceattr_status faceattr_session_last_timings(const faceattr_session* session, faceattr_timings* out) {
  faceattr::clear_last_error();
  if (session == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_last_timings: null argument"));
  *out = session->timings;
  return FACEATTR_OK;
}

}  // extern "C"
