// faceattr_session_* entry points. Every fallible call clears the thread's
// last error, returns a status and, on failure, records its message.
#include "api/session.h"

#include <algorithm>
#include <chrono>
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
  if (lnet_model != nullptr) {
    faceattr::model::Model lnet;
    FACEATTR_RETURN_IF_ERROR(faceattr::model::load_model(lnet_model, lnet_size, &lnet));
    if (lnet.kind != "lnet")
      return invalid_argument("the LNet slot holds a \"" + lnet.kind + "\" model, expected \"lnet\"");
    return Status(
        FACEATTR_ERR_UNSUPPORTED,
        "LNet face localisation is not implemented in this SDK version; pass no LNet model to take the "
        "whole image as one face");
  }

  FACEATTR_RETURN_IF_ERROR(faceattr::api::create_exec_context(s.get()));
  FACEATTR_RETURN_IF_ERROR(
      s->anet.load(std::move(anet), faceattr::api::family_of(s->backend), s->ctx, &s->logger));
  const size_t n_attr = s->anet.model().attribute_names.size();
  s->probs.assign(n_attr, 0.0f);
  s->present.assign(n_attr, 0);
  s->face.probs = s->probs.data();
  s->face.present = s->present.data();
  s->logger.log(FACEATTR_LOG_INFO, "session: model '%s' (%zu attributes), backend %s, %d threads",
                s->anet.model().name.c_str(), n_attr, faceattr_backend_name(s->backend), params.n_threads);
  *out = s.release();
  return Status::ok();
}

// Centre-crops `image` to the ANet aspect, resamples into the network input and runs ANet.
Status run_crop(faceattr_session* s, const faceattr_image& image, faceattr::image::CropBox* box_out,
                faceattr_timings* t) {
  FACEATTR_RETURN_IF_ERROR(faceattr::image::validate_image(image, s->params.max_image_pixels));
  const faceattr::model::Model& m = s->anet.model();
  const auto t0 = std::chrono::steady_clock::now();
  const faceattr::image::CropBox box = faceattr::image::centre_crop_box(
      image.width, image.height, static_cast<float>(m.input_width) / m.input_height);
  FACEATTR_RETURN_IF_ERROR(faceattr::image::crop_resize_normalize(image, box, m.input_width, m.input_height,
                                                                  m.mean, m.std, s->anet.input_ptr()));
  t->preprocess_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(s->anet.run(s->params.abort_callback, s->params.abort_user_data));
  t->anet_ms = ms_since(t1);
  t->lnet_ms = 0;
  if (box_out) *box_out = box;
  return Status::ok();
}

}  // namespace

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
  faceattr::image::CropBox box;
  faceattr_timings t{};
  const Status st = run_crop(session, *image, &box, &t);
  if (!st.is_ok()) return faceattr::report(st);
  const float* out = session->anet.output_ptr();
  const auto& thr = session->anet.model().thresholds;
  for (size_t i = 0; i < session->probs.size(); ++i) {
    session->probs[i] = out[i];
    session->present[i] = out[i] >= thr[i] ? 1 : 0;
  }
  session->face.box[0] = box.x;
  session->face.box[1] = box.y;
  session->face.box[2] = box.w;
  session->face.box[3] = box.h;
  session->face.score = 1.0f;
  session->timings = t;
  *faces = &session->face;
  *n_faces = 1;
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
  std::memcpy(probs, session->anet.output_ptr(), session->probs.size() * sizeof(float));
  session->timings = t;
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

int32_t faceattr_session_n_attributes(const faceattr_session* session) {
  return session ? static_cast<int32_t>(session->probs.size()) : -1;
}

const char* faceattr_session_attribute_name(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->probs.size())) return nullptr;
  return session->anet.model().attribute_names[static_cast<size_t>(index)].c_str();
}

float faceattr_session_attribute_threshold(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->probs.size())) return -1.0f;
  return session->anet.model().thresholds[static_cast<size_t>(index)];
}

faceattr_backend faceattr_session_backend(const faceattr_session* session) {
  return session ? session->backend : FACEATTR_BACKEND_REFERENCE;
}

const char* faceattr_session_model_metadata(const faceattr_session* session, int32_t which, const char* key) {
  if (session == nullptr || key == nullptr || which != 0) return nullptr;
  const faceattr::model::Model& m = session->anet.model();
  if (const char* v = m.find_metadata(key)) return v;
  if (std::strcmp(key, "name") == 0) return m.name.c_str();
  if (std::strcmp(key, "description") == 0) return m.description.c_str();
  if (std::strcmp(key, "kind") == 0) return m.kind.c_str();
  return nullptr;
}

faceattr_status faceattr_session_last_timings(const faceattr_session* session, faceattr_timings* out) {
  faceattr::clear_last_error();
  if (session == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_last_timings: null argument"));
  *out = session->timings;
  return FACEATTR_OK;
}

}  // extern "C"
