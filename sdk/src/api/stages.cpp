// The staged pipeline's entry points (faceattr.h, "Models and the staged
// pipeline"): FacePipeline's stages behind the C API, for callers that run the
// networks themselves. They allocate nothing.
#include <algorithm>
#include <cmath>
#include <string>

#include "api/session.h"
#include "image/preprocess.h"
#include "util/last_error.h"

using faceattr::invalid_argument;
using faceattr::Status;
using faceattr::api::busy_status;
using faceattr::api::SessionCall;
using faceattr::pipeline::FacePipeline;

namespace {

static_assert(FACEATTR_MAX_LNET_PASSES == FacePipeline::kMaxPasses,
              "the header's pass count is the pipeline's");

// LNet passes of a localising session (the JS and C callers size their buffers by it).
int passes_of(const FacePipeline& pl) { return pl.localizes() ? std::max(1, pl.lnet_passes()) : 0; }

Status unless_localizing(const FacePipeline& pl, const char* call) {
  if (pl.localizes()) return Status::ok();
  return Status(FACEATTR_ERR_UNSUPPORTED,
                std::string(call) + (pl.has_lnet() ? ": the session does not localise (params.localize = 0)"
                                                   : ": the session has no LNet model"));
}

void set_face(const faceattr::image::CropBox& box, float score, const faceattr::image::CropBox& crop,
              faceattr_face_crop* out) {
  out->box[0] = box.x, out->box[1] = box.y, out->box[2] = box.w, out->box[3] = box.h;
  out->score = score;
  out->crop[0] = crop.x, out->crop[1] = crop.y, out->crop[2] = crop.w, out->crop[3] = crop.h;
}

}  // namespace

extern "C" {

faceattr_status faceattr_session_stage_info(const faceattr_session* session, faceattr_stage_info* out) {
  faceattr::clear_last_error();
  if (session == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_stage_info: null argument"));
  const FacePipeline& pl = session->pipeline;
  *out = faceattr_stage_info{};
  out->face_slots = pl.face_slots();
  out->lnet_passes = passes_of(pl);
  out->anet_views = pl.anet_views();
  if (out->lnet_passes > 0) {
    const faceattr::pipeline::LnetGeometry& g = pl.lnet_geometry();
    out->map_width = g.map_w;
    out->map_height = g.map_h;
    out->map_channels = g.channels;
    out->cell_width = g.cell_w;
    out->cell_height = g.cell_h;
  }
  return FACEATTR_OK;
}

faceattr_status faceattr_session_lnet_input(faceattr_session* session, const faceattr_image* image,
                                            int32_t pass, float* input, faceattr_letterbox* letterbox) {
  faceattr::clear_last_error();
  if (session == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_lnet_input: null session"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_lnet_input"));
  const FacePipeline& pl = session->pipeline;
  const Status localizing = unless_localizing(pl, "faceattr_session_lnet_input");
  if (!localizing.is_ok()) return faceattr::report(localizing);
  if (image == nullptr || input == nullptr || letterbox == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_lnet_input: null argument"));
  if (pass < 0 || pass >= passes_of(pl))
    return faceattr::report(invalid_argument("faceattr_session_lnet_input: pass " + std::to_string(pass) +
                                             " out of range [0, " + std::to_string(passes_of(pl)) + ")"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  faceattr::image::Letterbox g;
  const Status st = pl.lnet_input(*image, pass, input, &g);
  if (!st.is_ok()) return faceattr::report(st);
  letterbox->content_width = g.content_w;
  letterbox->content_height = g.content_h;
  letterbox->scale_x = g.scale_x;
  letterbox->scale_y = g.scale_y;
  return FACEATTR_OK;
}

faceattr_status faceattr_session_decode_faces(faceattr_session* session, const float* const* maps,
                                              const faceattr_letterbox* letterboxes, int32_t n_maps,
                                              faceattr_face_crop* faces, int32_t* n_faces) {
  faceattr::clear_last_error();
  if (n_faces != nullptr) *n_faces = 0;
  if (session == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_decode_faces: null session"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_decode_faces"));
  FacePipeline& pl = session->pipeline;
  const Status localizing = unless_localizing(pl, "faceattr_session_decode_faces");
  if (!localizing.is_ok()) return faceattr::report(localizing);
  if (maps == nullptr || letterboxes == nullptr || faces == nullptr || n_faces == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_decode_faces: null argument"));
  if (n_maps < 1 || n_maps > passes_of(pl))
    return faceattr::report(invalid_argument("faceattr_session_decode_faces: n_maps " +
                                             std::to_string(n_maps) + " out of range [1, " +
                                             std::to_string(passes_of(pl)) + "]"));
  faceattr::image::Letterbox gs[FacePipeline::kMaxPasses];
  for (int k = 0; k < n_maps; ++k) {
    const faceattr_letterbox& l = letterboxes[k];
    if (maps[k] == nullptr || !(l.scale_x > 0.0f) || !(l.scale_y > 0.0f) || !std::isfinite(l.scale_x) ||
        !std::isfinite(l.scale_y))
      return faceattr::report(invalid_argument("faceattr_session_decode_faces: pass " + std::to_string(k) +
                                               " has a null map or a letterbox that is not one of "
                                               "faceattr_session_lnet_input (scale not positive)"));
    gs[k] = faceattr::image::Letterbox{l.content_width, l.content_height, l.scale_x, l.scale_y};
  }
  const int n = pl.faces_of_maps(maps, gs, n_maps, session->stage_crops.data());
  for (int k = 0; k < n; ++k) {
    const faceattr::pipeline::FaceCrop& c = session->stage_crops[static_cast<size_t>(k)];
    set_face(c.frame, c.score, c.anet, &faces[k]);
  }
  *n_faces = n;
  return FACEATTR_OK;
}

faceattr_status faceattr_session_whole_image_crop(const faceattr_session* session,
                                                  const faceattr_image* image, faceattr_face_crop* out) {
  faceattr::clear_last_error();
  if (session == nullptr || image == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_whole_image_crop: null argument"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  const faceattr::image::CropBox box = session->pipeline.whole_image_box(image->width, image->height);
  set_face(box, 1.0f, box, out);
  return FACEATTR_OK;
}

faceattr_status faceattr_session_anet_input(faceattr_session* session, const faceattr_image* image,
                                            const float crop[4], float* input) {
  faceattr::clear_last_error();
  if (session == nullptr || image == nullptr || crop == nullptr || input == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_anet_input: null argument"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_anet_input"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  return faceattr::report(session->pipeline.anet_input(
      *image, faceattr::image::CropBox{crop[0], crop[1], crop[2], crop[3]}, input));
}

faceattr_status faceattr_session_anet_view_input(faceattr_session* session, const faceattr_image* image,
                                                 const float crop[4], int32_t view, float* input) {
  faceattr::clear_last_error();
  if (session == nullptr || image == nullptr || crop == nullptr || input == nullptr)
    return faceattr::report(invalid_argument("faceattr_session_anet_view_input: null argument"));
  if (view < 0 || view >= session->pipeline.anet_views())
    return faceattr::report(
        invalid_argument("faceattr_session_anet_view_input: view " + std::to_string(view) + " outside [0, " +
                         std::to_string(session->pipeline.anet_views()) + ") (params.anet_views)"));
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_session_anet_view_input"));
  const Status valid = faceattr::image::validate_image(*image, session->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  return faceattr::report(session->pipeline.anet_view_input(
      *image, faceattr::image::CropBox{crop[0], crop[1], crop[2], crop[3]}, view, input));
}

faceattr_status faceattr_combine_views(const float* first, const float* second, int32_t n, float* out) {
  faceattr::clear_last_error();
  if (first == nullptr || second == nullptr || out == nullptr || n < 0)
    return faceattr::report(invalid_argument("faceattr_combine_views: null argument or negative count"));
  faceattr::pipeline::combine_views(first, second, static_cast<size_t>(n), out);
  return FACEATTR_OK;
}

}  // extern "C"
