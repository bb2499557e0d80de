// faceattr_tracker_*: face tracks over a stream (faceattr.h, "Video"). The
// tracker drives its session's pipeline: a full localiser pass, or a local
// search near each tracked face, then ANet; pipeline::Tracker does the rest.
#include "pipeline/tracker.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "api/guard.h"
#include "api/session.h"
#include "image/preprocess.h"
#include "util/last_error.h"

using faceattr::invalid_argument;
using faceattr::Status;
using faceattr::api::busy_status;
using faceattr::api::SessionCall;
namespace pipeline = faceattr::pipeline;

namespace {

// A local search runs the LNet on kLocalCells x kLocalCells map cells (80x80 pixels for
// the shipped LNet's 16-pixel cells: 0.13 of its full 256x192 input) over a window that
// gives the face at least kWindowPerSide face sides (room to move between frames).
constexpr int kLocalCells = 5;
constexpr float kWindowPerSide = 2.0f;

}  // namespace

struct faceattr_tracker {
  faceattr_session* session = nullptr;
  faceattr_tracker_params params{};
  pipeline::Tracker core;
  int n_features = 0;
  std::vector<pipeline::FaceCrop> crops;  // the local searches' faces
  std::vector<pipeline::Detection> dets;
  std::vector<float> features;  // per detection, n_features
  int frames_since_full = 0;
  faceattr_tracker_stats stats{};
  faceattr_threshold_policy policy = FACEATTR_THRESHOLDS_ACCURACY;  // the thresholds `core` holds
};

faceattr_tracker_params faceattr_tracker_default_params(void) {
  faceattr_tracker_params p{};
  p.fps = 30.0f;
  p.min_cutoff = 0.5f;
  p.beta = 3.0f;
  p.d_cutoff = 1.0f;
  p.window = 8;
  p.hysteresis = 0.1f;
  p.match_iou = 0.3f;
  p.appearance_min = 0.5f;
  p.max_missed = 10;
  p.max_tracks = 0;
  p.detect_interval = 6;
  p.local_min_score = 0.5f;
  return p;
}

faceattr_status faceattr_tracker_create(faceattr_session* session, const faceattr_tracker_params* params,
                                        faceattr_tracker** out) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (out == nullptr) return faceattr::report(invalid_argument("faceattr_tracker_create: out is null"));
  *out = nullptr;
  if (session == nullptr)
    return faceattr::report(invalid_argument("faceattr_tracker_create: session is null"));
  const faceattr_tracker_params p = params ? *params : faceattr_tracker_default_params();
  const Status valid = pipeline::validate_tracker_params(p);
  if (!valid.is_ok()) return faceattr::report(valid);
  const SessionCall call(session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_tracker_create"));
  pipeline::FacePipeline& fp = session->pipeline;
  if (fp.localizes() && p.detect_interval > 1) {
    const Status st = fp.plan_local_search(kLocalCells);
    if (!st.is_ok()) return faceattr::report(st);
  }
  std::unique_ptr<faceattr_tracker> t(new (std::nothrow) faceattr_tracker);
  if (!t)
    return faceattr::report(Status(FACEATTR_ERR_OUT_OF_MEMORY, "faceattr_tracker_create: out of memory"));
  t->session = session;
  t->params = p;
  const int max_tracks = p.max_tracks > 0 ? p.max_tracks : fp.face_slots();
  t->n_features = fp.feature_size();
  t->policy = fp.threshold_policy();
  t->core.plan(p, max_tracks, static_cast<int>(fp.n_attributes()), fp.thresholds(), t->n_features);
  const size_t slots = static_cast<size_t>(std::max(max_tracks, fp.face_slots()));
  t->crops.assign(slots, pipeline::FaceCrop{});
  t->dets.assign(slots, pipeline::Detection{});
  t->features.assign(slots * static_cast<size_t>(t->n_features), 0.0f);
  *out = t.release();
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

void faceattr_tracker_free(faceattr_tracker* tracker) { delete tracker; }

faceattr_status faceattr_tracker_reset(faceattr_tracker* tracker) {
  faceattr::clear_last_error();
  if (tracker == nullptr)
    return faceattr::report(invalid_argument("faceattr_tracker_reset: tracker is null"));
  const SessionCall call(tracker->session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_tracker_reset"));
  tracker->core.reset();
  tracker->frames_since_full = 0;
  tracker->stats = faceattr_tracker_stats{};
  return FACEATTR_OK;
}

namespace {

// Follows the session's threshold policy (faceattr_session_set_threshold_policy) into the
// tracker's decisions. Called while the tracker holds the session.
void follow_threshold_policy(faceattr_tracker* t) {
  const pipeline::FacePipeline& fp = t->session->pipeline;
  if (fp.threshold_policy() == t->policy) return;
  t->policy = fp.threshold_policy();
  t->core.set_thresholds(fp.thresholds());
}

// The window around `b` that the local LNet (in_w x in_h pixels) reads, centred on `b`:
// at the full pass's scale (`full_scale` LNet pixels per frame pixel), so that the local
// LNet sees the face at the size the full pass saw it and sizes its box alike, unless
// that leaves less than kWindowPerSide face sides across.
faceattr::image::CropBox window_of(const faceattr::image::CropBox& b, int in_w, int in_h, float full_scale) {
  const float side = std::sqrt(std::max(0.0f, b.w * b.h));
  const float scale =
      std::min(full_scale, static_cast<float>(std::min(in_w, in_h)) / (kWindowPerSide * side));
  const float w = static_cast<float>(in_w) / scale, h = static_cast<float>(in_h) / scale;
  return faceattr::image::CropBox{b.x + 0.5f * b.w - 0.5f * w, b.y + 0.5f * b.h - 0.5f * h, w, h};
}

// One frame through the session: local searches when every live track was seen on the
// last frame and a full pass is not due, else (or when a search fails) the full pass.
// Fills t->dets[0 .. *n).
Status run_frame(faceattr_tracker* t, const faceattr_image& image, double t_ms, int* n, bool* full,
                 faceattr_timings* timings) {
  pipeline::FacePipeline& fp = t->session->pipeline;
  const int live = t->core.n_live();
  *full = !fp.localizes() || fp.local_input_width() == 0 || t->params.detect_interval <= 1 || live == 0 ||
          live > fp.face_slots() || !t->core.all_live_seen() ||
          t->frames_since_full + 1 >= t->params.detect_interval;
  int found = 0;
  if (!*full) {
    const faceattr::model::Model& lm = fp.lnet().model();
    const faceattr::image::Letterbox g =
        faceattr::image::letterbox_geometry(image.width, image.height, lm.input_width, lm.input_height);
    const float full_scale = std::min(g.scale_x, g.scale_y);
    for (int k = 0; k < t->core.max_tracks() && !*full; ++k) {
      faceattr::image::CropBox expect;
      if (!t->core.expected_box(k, t_ms, &expect)) continue;
      pipeline::FaceCrop& c = t->crops[static_cast<size_t>(found)];
      FACEATTR_RETURN_IF_ERROR(fp.search_near(
          image, window_of(expect, fp.local_input_width(), fp.local_input_height(), full_scale), expect, &c,
          timings));
      if (c.score < t->params.local_min_score || c.score <= 0.0f ||
          faceattr::image::box_iou(c.frame, expect) < t->params.match_iou)
        *full = true;  // not confirmed near its box: look at the whole frame
      else
        ++found;
    }
  }
  if (!*full) {
    FACEATTR_RETURN_IF_ERROR(fp.predict_crops(image, t->crops.data(), found, timings));
    *n = found;
  } else {
    int32_t m = 0;
    FACEATTR_RETURN_IF_ERROR(fp.predict(image, &m, timings));
    *n = m;
  }
  const faceattr_face* faces = fp.faces();
  const size_t nf = static_cast<size_t>(t->n_features);
  *n = std::min(*n, static_cast<int>(t->dets.size()));
  for (int k = 0; k < *n; ++k) {
    pipeline::Detection& d = t->dets[static_cast<size_t>(k)];
    const faceattr_face& f = faces[k];
    d.box = faceattr::image::CropBox{f.box[0], f.box[1], f.box[2], f.box[3]};
    d.score = f.score;
    d.probs = f.probs;
    d.face_index = k;
    d.feature = nullptr;
    // A face cut by the frame's border looks unlike itself: its feature is not compared.
    const float vw =
        std::min(f.box[0] + f.box[2], static_cast<float>(image.width)) - std::max(f.box[0], 0.0f);
    const float vh =
        std::min(f.box[1] + f.box[3], static_cast<float>(image.height)) - std::max(f.box[1], 0.0f);
    d.whole = vw > 0.0f && vh > 0.0f && vw * vh >= 0.9f * f.box[2] * f.box[3];
    if (nf > 0) {
      float* feat = t->features.data() + static_cast<size_t>(k) * nf;
      fp.features(k, feat);
      d.feature = feat;
    }
  }
  return Status::ok();
}

}  // namespace

faceattr_status faceattr_tracker_track(faceattr_tracker* tracker, const faceattr_image* image,
                                       double timestamp_ms, const faceattr_track** tracks,
                                       int32_t* n_tracks) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (tracker == nullptr || image == nullptr || tracks == nullptr || n_tracks == nullptr)
    return faceattr::report(invalid_argument("faceattr_tracker_track: null argument"));
  *tracks = nullptr;
  *n_tracks = 0;
  faceattr_session* s = tracker->session;
  const SessionCall call(s);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_tracker_track"));
  const Status valid = faceattr::image::validate_image(*image, s->params.max_image_pixels);
  if (!valid.is_ok()) return faceattr::report(valid);
  follow_threshold_policy(tracker);
  const double t_ms = tracker->core.frame_time(timestamp_ms);
  faceattr_timings timings{};
  int n = 0;
  bool full = true;
  const Status st = run_frame(tracker, *image, t_ms, &n, &full, &timings);
  if (!st.is_ok()) return faceattr::report(st);
  s->timings = timings;
  tracker->core.update(tracker->dets.data(), n, t_ms);
  faceattr_tracker_stats& stats = tracker->stats;
  ++stats.frames;
  if (full) {
    ++stats.full_passes;
    tracker->frames_since_full = 0;
  } else {
    ++stats.local_passes;
    ++tracker->frames_since_full;
  }
  stats.tracks_started = tracker->core.tracks_started();
  *tracks = tracker->core.n_seen() > 0 ? tracker->core.seen() : nullptr;
  *n_tracks = tracker->core.n_seen();
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

faceattr_status faceattr_tracker_update(faceattr_tracker* tracker, const faceattr_face* faces,
                                        int32_t n_faces, const float* features, int32_t n_features,
                                        double timestamp_ms, const faceattr_track** tracks,
                                        int32_t* n_tracks) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (tracker == nullptr || tracks == nullptr || n_tracks == nullptr || n_faces < 0 ||
      (n_faces > 0 && faces == nullptr))
    return faceattr::report(invalid_argument("faceattr_tracker_update: null argument or negative count"));
  *tracks = nullptr;
  *n_tracks = 0;
  if (features != nullptr && n_features != tracker->n_features)
    return faceattr::report(
        invalid_argument("faceattr_tracker_update: n_features must be the ANet's pooled feature size (" +
                         std::to_string(tracker->n_features) + "), got " + std::to_string(n_features)));
  const SessionCall call(tracker->session);
  if (!call.entered()) return faceattr::report(busy_status("faceattr_tracker_update"));
  const int n = std::min(n_faces, static_cast<int32_t>(tracker->dets.size()));
  for (int k = 0; k < n; ++k) {
    const faceattr_face& f = faces[k];
    if (f.probs == nullptr || !std::isfinite(f.box[0]) || !std::isfinite(f.box[1]) || !(f.box[2] > 0.0f) ||
        !(f.box[3] > 0.0f) || !std::isfinite(f.box[2]) || !std::isfinite(f.box[3]) || !(f.score >= 0.0f))
      return faceattr::report(invalid_argument("faceattr_tracker_update: face " + std::to_string(k) +
                                               " has no probs, a non-finite box, a non-positive size or a "
                                               "negative score"));
    pipeline::Detection& d = tracker->dets[static_cast<size_t>(k)];
    d.box = faceattr::image::CropBox{f.box[0], f.box[1], f.box[2], f.box[3]};
    d.score = std::min(1.0f, f.score);
    d.probs = f.probs;
    d.feature = features ? features + static_cast<size_t>(k) * static_cast<size_t>(n_features) : nullptr;
    d.face_index = -1;
    d.whole = true;
  }
  follow_threshold_policy(tracker);
  const double t_ms = tracker->core.frame_time(timestamp_ms);
  tracker->core.update(tracker->dets.data(), n, t_ms);
  ++tracker->stats.frames;
  tracker->stats.tracks_started = tracker->core.tracks_started();
  *tracks = tracker->core.n_seen() > 0 ? tracker->core.seen() : nullptr;
  *n_tracks = tracker->core.n_seen();
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

faceattr_status faceattr_tracker_get_stats(const faceattr_tracker* tracker, faceattr_tracker_stats* out) {
  faceattr::clear_last_error();
  if (tracker == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_tracker_get_stats: null argument"));
  *out = tracker->stats;
  return FACEATTR_OK;
}
