// faceattr_session_* entry points. Every fallible call clears the thread's
// last error, returns a status and, on failure, records its message.
#include "api/session.h"

#include <cstring>
#include <new>
#include <string>

#include "api/guard.h"
#include "image/preprocess.h"
#include "util/enum_value.h"
#include "util/last_error.h"

using faceattr::invalid_argument;
using faceattr::Status;
using faceattr::api::busy_status;
using faceattr::api::SessionCall;

namespace faceattr::api {

Status busy_status(const char* call) {
  return Status(FACEATTR_ERR_BUSY, std::string(call) +
                                       ": another call on this session is in progress (a session serves one "
                                       "call at a time; use one session per thread)");
}

Status check_threshold_policy(const pipeline::FacePipeline& pl, int policy, const std::string& who) {
  if (policy != FACEATTR_THRESHOLDS_ACCURACY && policy != FACEATTR_THRESHOLDS_BALANCED)
    return invalid_argument(who + ": unknown threshold policy " + std::to_string(policy) +
                            " (FACEATTR_THRESHOLDS_ACCURACY = 0, FACEATTR_THRESHOLDS_BALANCED = 1)");
  if (pl.thresholds_of(policy) == nullptr)
    return Status(FACEATTR_ERR_UNSUPPORTED,
                  who + ": the model '" + pl.anet().model().name +
                      "' has no balanced thresholds (its file carries no balanced_thresholds; only the "
                      "accuracy policy is available)");
  return Status::ok();
}

}  // namespace faceattr::api

namespace {

Status check_params(const faceattr_session_params& p) {
  if (p.n_threads < 1 || p.n_threads > 256)
    return invalid_argument("params.n_threads must be in [1, 256], got " + std::to_string(p.n_threads));
  const int log_level = faceattr::enum_value(p.log_level);
  if (log_level < FACEATTR_LOG_DEBUG || log_level > FACEATTR_LOG_ERROR)
    return invalid_argument("params.log_level out of range");
  if (p.max_faces < 1) return invalid_argument("params.max_faces must be >= 1");
  if (p.min_face_size < 1) return invalid_argument("params.min_face_size must be >= 1");
  if (p.max_image_pixels < 1) return invalid_argument("params.max_image_pixels must be >= 1");
  if (p.localize != 0 && p.localize != 1) return invalid_argument("params.localize must be 0 or 1");
  const int policy = faceattr::enum_value(p.threshold_policy);
  if (policy != FACEATTR_THRESHOLDS_ACCURACY && policy != FACEATTR_THRESHOLDS_BALANCED)
    return invalid_argument("params.threshold_policy out of range");
  if (p.anet_views != 1 && p.anet_views != 2)
    return invalid_argument("params.anet_views must be 1 or 2, got " + std::to_string(p.anet_views));
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
  if (lnet_model != nullptr) {
    Status st = faceattr::model::load_model(lnet_model, lnet_size, &lnet);
    if (!st.is_ok()) return Status(st.code(), "LNet model: " + st.message());
    if (lnet.kind != "lnet")
      return invalid_argument("the LNet slot holds a \"" + lnet.kind + "\" model, expected \"lnet\"");
  }

  FACEATTR_RETURN_IF_ERROR(faceattr::api::create_exec_context(s.get()));
  faceattr::pipeline::PipelineOptions options;
  options.max_faces = params.max_faces;
  options.min_face_size = params.min_face_size;
  options.localize = params.localize != 0;
  options.anet_views = params.anet_views;
  options.abort_callback = params.abort_callback;
  options.abort_user_data = params.abort_user_data;
  const std::string lnet_name = lnet.name;
  FACEATTR_RETURN_IF_ERROR(s->pipeline.load(std::move(anet), lnet_model != nullptr ? &lnet : nullptr,
                                            faceattr::api::family_of(s->backend), s->ctx, &s->logger,
                                            options));
  FACEATTR_RETURN_IF_ERROR(faceattr::api::check_threshold_policy(
      s->pipeline, faceattr::enum_value(params.threshold_policy), "params.threshold_policy"));
  s->pipeline.set_threshold_policy(params.threshold_policy);
  const faceattr::pipeline::FacePipeline& pl = s->pipeline;
  faceattr::api::bind_model(&pl.anet().model(), &s->models[0]);
  if (pl.has_lnet()) faceattr::api::bind_model(&pl.lnet().model(), &s->models[1]);
  s->stage_crops.resize(static_cast<size_t>(pl.face_slots()));
  s->logger.log(FACEATTR_LOG_INFO, "session: model '%s' (%zu attributes), backend %s, %d threads",
                pl.anet().model().name.c_str(), pl.n_attributes(), faceattr_backend_name(s->backend),
                params.n_threads);
  if (pl.has_lnet()) {
    const faceattr::pipeline::LnetGeometry& g = pl.lnet_geometry();
    s->logger.log(FACEATTR_LOG_INFO,
                  "session: LNet '%s', input %dx%d, response map %dx%dx%d, max %d faces, localisation %s",
                  lnet_name.c_str(), pl.lnet().model().input_width, pl.lnet().model().input_height, g.map_w,
                  g.map_h, g.channels, params.max_faces, pl.localizes() ? "on" : "off");
  }
  *out = s.release();
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
  p.max_faces = 32;
  p.min_face_size = 24;
  p.max_image_pixels = int64_t{64} * 1000 * 1000;
  p.localize = 1;
  p.threshold_policy = FACEATTR_THRESHOLDS_ACCURACY;
  p.anet_views = 1;
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
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_predict"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  faceattr_timings t{};
  int32_t n = 0;
  const Status st = session->pipeline.predict(*image, &n, &t);
  if (!st.is_ok()) return faceattr::report(st);
  session->timings = t;
  *faces = n > 0 ? session->pipeline.faces() : nullptr;
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
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_predict_crop"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  faceattr_timings t{};
  const Status st = session->pipeline.predict_crop(*image, probs, &t);
  if (!st.is_ok()) return faceattr::report(st);
  session->timings = t;
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

int32_t faceattr_session_n_attributes(const faceattr_session* session) {
  return session ? static_cast<int32_t>(session->pipeline.n_attributes()) : -1;
}

const char* faceattr_session_attribute_name(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->pipeline.n_attributes()))
    return nullptr;
  return session->pipeline.anet().model().attribute_names[static_cast<size_t>(index)].c_str();
}

float faceattr_session_attribute_threshold(const faceattr_session* session, int32_t index) {
  if (session == nullptr || index < 0 || index >= static_cast<int32_t>(session->pipeline.n_attributes()))
    return -1.0f;
  return session->pipeline.thresholds()[index];
}

faceattr_status faceattr_session_set_threshold_policy(faceattr_session* session,
                                                      faceattr_threshold_policy policy) {
  faceattr::clear_last_error();
  if (session == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_set_threshold_policy: session is null"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_set_threshold_policy"));
  const Status st = faceattr::api::check_threshold_policy(session->pipeline, faceattr::enum_value(policy),
                                                          "faceattr_session_set_threshold_policy");
  if (!st.is_ok()) return faceattr::report(st);
  session->pipeline.set_threshold_policy(policy);
  return FACEATTR_OK;
}

faceattr_threshold_policy faceattr_session_threshold_policy(const faceattr_session* session) {
  return session ? session->pipeline.threshold_policy() : FACEATTR_THRESHOLDS_ACCURACY;
}

int faceattr_session_has_threshold_policy(const faceattr_session* session, faceattr_threshold_policy policy) {
  return session != nullptr && session->pipeline.thresholds_of(faceattr::enum_value(policy)) != nullptr ? 1
                                                                                                        : 0;
}

faceattr_backend faceattr_session_backend(const faceattr_session* session) {
  return session ? session->backend : FACEATTR_BACKEND_REFERENCE;
}

const char* faceattr_session_model_metadata(const faceattr_session* session, int32_t which, const char* key) {
  if (session == nullptr || key == nullptr) return nullptr;
  const faceattr::pipeline::FacePipeline& pl = session->pipeline;
  if (which != 0 && !(which == 1 && pl.has_lnet())) return nullptr;
  const faceattr::model::Model& m = which == 0 ? pl.anet().model() : pl.lnet().model();
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
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_response_map"));
  if (!session->pipeline.localizes())
    return faceattr::report(
        Status(FACEATTR_ERR_UNSUPPORTED,
               session->pipeline.has_lnet()
                   ? "faceattr_session_response_map: the session does not localise (params.localize = 0)"
                   : "faceattr_session_response_map: the session has no LNet model"));
  const faceattr_response_map* map = session->pipeline.response_map();
  if (map == nullptr)
    return faceattr::report(
        invalid_argument("faceattr_session_response_map: no successful faceattr_session_predict call yet"));
  *out = *map;
  return FACEATTR_OK;
}

faceattr_status faceattr_session_explain(faceattr_session* session, int32_t face_index,
                                         const int32_t* attributes, int32_t n_attributes,
                                         faceattr_explanation* out) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (session == nullptr || (n_attributes > 0 && (attributes == nullptr || out == nullptr)) ||
      n_attributes < 0)
    return faceattr::report(invalid_argument("faceattr_session_explain: null argument or negative count"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_explain"));
  return faceattr::report(session->pipeline.explain(face_index, attributes, n_attributes, out));
  FACEATTR_GUARD_END
}

int faceattr_session_has_localizer(const faceattr_session* session) {
  return session != nullptr && session->pipeline.localizes() ? 1 : 0;
}

faceattr_status faceattr_session_last_timings(const faceattr_session* session, faceattr_timings* out) {
  faceattr::clear_last_error();
  if (session == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_last_timings: null argument"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_last_timings"));
  *out = session->timings;
  return FACEATTR_OK;
}

}  // extern "C"
