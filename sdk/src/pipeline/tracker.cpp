// Face tracks over a stream (see tracker.h).
#include "pipeline/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace faceattr::pipeline {

namespace {

constexpr float kPi = 3.14159265358979f;

float smoothing(float cutoff_hz, float dt_s) {
  const float tau = 1.0f / (2.0f * kPi * cutoff_hz);
  return 1.0f / (1.0f + tau / dt_s);
}

Status bad(const char* field, const char* range) {
  return Status(FACEATTR_ERR_INVALID_ARGUMENT,
                std::string("faceattr_tracker_params.") + field + " must be " + range);
}

// Appearance features are compared centred (their mean over channels taken out: ANet's
// pooled features follow ReLUs, so raw vectors of any two faces point alike) and at
// unit length.
void normalise(float* v, size_t n) {
  double mean = 0;
  for (size_t i = 0; i < n; ++i) mean += v[i];
  mean = n > 0 ? mean / static_cast<double>(n) : 0.0;
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    v[i] -= static_cast<float>(mean);
    ss += static_cast<double>(v[i]) * v[i];
  }
  const float inv = ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.0f;
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace

float OneEuro::filter(float x, float dt_s, float min_cutoff, float beta, float d_cutoff, float speed_unit) {
  if (!init_) {
    init_ = true;
    x_ = x;
    dx_ = 0.0f;
    return x;
  }
  dt_s = std::max(dt_s, 1e-4f);
  dx_ += smoothing(d_cutoff, dt_s) * ((x - x_) / dt_s - dx_);
  const float cutoff = min_cutoff + beta * std::fabs(dx_) / std::max(speed_unit, 1e-3f);
  x_ += smoothing(cutoff, dt_s) * (x - x_);
  return x_;
}

Status validate_tracker_params(const faceattr_tracker_params& p) {
  if (!(p.fps > 0.0f && p.fps <= 1000.0f)) return bad("fps", "in (0, 1000]");
  if (!(p.min_cutoff > 0.0f && p.min_cutoff <= 1000.0f)) return bad("min_cutoff", "in (0, 1000] Hz");
  if (!(p.beta >= 0.0f && p.beta <= 1000.0f)) return bad("beta", "in [0, 1000]");
  if (!(p.d_cutoff > 0.0f && p.d_cutoff <= 1000.0f)) return bad("d_cutoff", "in (0, 1000] Hz");
  if (p.window < 1 || p.window > 64) return bad("window", "in [1, 64]");
  if (!(p.hysteresis >= 0.0f && p.hysteresis < 0.5f)) return bad("hysteresis", "in [0, 0.5)");
  if (!(p.match_iou > 0.0f && p.match_iou <= 1.0f)) return bad("match_iou", "in (0, 1]");
  if (!(p.appearance_min >= 0.0f && p.appearance_min <= 1.0f)) return bad("appearance_min", "in [0, 1]");
  if (p.max_missed < 0 || p.max_missed > 100000) return bad("max_missed", "in [0, 100000]");
  if (p.max_tracks < 0 || p.max_tracks > 1024)
    return bad("max_tracks", "in [0, 1024] (0: the session's max_faces)");
  if (p.detect_interval < 1 || p.detect_interval > 100000) return bad("detect_interval", "in [1, 100000]");
  if (!(p.local_min_score >= 0.0f && p.local_min_score <= 1.0f)) return bad("local_min_score", "in [0, 1]");
  return Status::ok();
}

void Tracker::plan(const faceattr_tracker_params& p, int max_tracks, int n_attributes,
                   const float* thresholds, int n_features) {
  p_ = p;
  window_ = static_cast<size_t>(p.window);
  n_attr_ = static_cast<size_t>(std::max(0, n_attributes));
  n_feat_ = static_cast<size_t>(std::max(0, n_features));
  const size_t t = static_cast<size_t>(std::max(1, max_tracks));
  thresholds_.assign(thresholds, thresholds + n_attr_);
  tracks_.assign(t, Track{});
  ring_.assign(t * window_ * n_attr_, 0.0f);
  ring_w_.assign(t * window_, 0.0f);
  probs_.assign(t * n_attr_, 0.0f);
  present_.assign(t * n_attr_, 0);
  against_.assign(t * n_attr_, 0);
  features_.assign(t * n_feat_, 0.0f);
  // Detections per frame are capped at max_tracks (update ignores the rest).
  pairs_.reserve(t * t);
  track_used_.assign(t, 0);
  det_used_.assign(t, 0);
  seen_.assign(t, faceattr_track{});
  order_.reserve(t);
  reset();
}

void Tracker::reset() {
  for (Track& tr : tracks_) tr = Track{};
  last_t_ms_ = -1;
  next_id_ = 1;
  started_ = 0;
  n_seen_ = 0;
}

void Tracker::set_thresholds(const float* thresholds) {
  std::copy(thresholds, thresholds + n_attr_, thresholds_.begin());
  for (Track& tr : tracks_) tr.redecide = true;
}

double Tracker::frame_time(double t_ms) const {
  if (t_ms >= 0.0 || std::isnan(t_ms)) return std::isnan(t_ms) ? std::max(0.0, last_t_ms_) : t_ms;
  return last_t_ms_ < 0.0 ? 0.0 : last_t_ms_ + 1000.0 / static_cast<double>(p_.fps);
}

int Tracker::n_live() const {
  int n = 0;
  for (const Track& tr : tracks_) n += tr.live ? 1 : 0;
  return n;
}

bool Tracker::all_live_seen() const {
  for (const Track& tr : tracks_)
    if (tr.live && tr.missed > 0) return false;
  return true;
}

bool Tracker::expected_box(int k, double t_ms, image::CropBox* out) const {
  if (k < 0 || k >= max_tracks()) return false;
  const Track& tr = tracks_[static_cast<size_t>(k)];
  if (!tr.live || tr.missed > 0) return false;
  // Moved by its velocity over at most 3 frame intervals: after a longer gap (a paused
  // stream, a hidden browser tab) the face is looked for where it was last seen.
  const double gap_s = last_t_ms_ >= 0.0 ? std::max(0.0, t_ms - last_t_ms_) / 1000.0 : 0.0;
  const float dt = static_cast<float>(std::min(gap_s, 3.0 / static_cast<double>(p_.fps)));
  *out = tr.raw;
  out->x += tr.filters[0].velocity() * dt;
  out->y += tr.filters[1].velocity() * dt;
  return true;
}

float Tracker::cosine(int k, const float* f) const {
  const float* g = features_.data() + static_cast<size_t>(k) * n_feat_;  // centred, unit length
  double mean = 0;
  for (size_t i = 0; i < n_feat_; ++i) mean += f[i];
  mean = n_feat_ > 0 ? mean / static_cast<double>(n_feat_) : 0.0;
  double dot = 0, ff = 0;
  for (size_t i = 0; i < n_feat_; ++i) {
    const double c = f[i] - mean;
    dot += g[i] * c;
    ff += c * c;
  }
  return ff > 0 ? static_cast<float>(dot / std::sqrt(ff)) : 0.0f;
}

// The window's score-weighted mean per attribute, and the decision, with hysteresis:
// on at thr + 2h(1 - thr), off below thr - 2h thr (thr +- h at a threshold of 0.5).
// A new track's first decision (one frame) is mean >= thr, and once its window is half
// full the decision is set to mean >= thr again: a first frame near the threshold does
// not decide for the whole track. After that the decision also follows a mean that has
// stayed on the other side of thr for 4 windows in a row, so that a value settled
// inside the band is not held off for ever. New thresholds (set_thresholds) are applied
// like a first decision.
void Tracker::average(int k, bool first) {
  Track& tr = tracks_[static_cast<size_t>(k)];
  const float* r = ring(k);
  const float* w = ring_weight(k);
  float* out = probs(k);
  uint8_t* dec = present(k);
  uint8_t* opp = against(k);
  const int settle = static_cast<int>((window_ + 1) / 2);
  double wsum = 0;
  for (int i = 0; i < tr.ring_count; ++i) wsum += w[i];
  const float h = p_.hysteresis;
  for (size_t a = 0; a < n_attr_; ++a) {
    double s = 0;
    for (int i = 0; i < tr.ring_count; ++i)
      s += static_cast<double>(w[i]) * r[static_cast<size_t>(i) * n_attr_ + a];
    const float avg = wsum > 0 ? static_cast<float>(s / wsum) : 0.0f;
    out[a] = avg;
    const float thr = thresholds_[a];
    const uint8_t plain = avg >= thr ? 1 : 0;
    if (first || tr.redecide || tr.ring_count == settle) {
      dec[a] = plain;
      opp[a] = 0;
      continue;
    }
    opp[a] = plain != dec[a] ? static_cast<uint8_t>(std::min<size_t>(opp[a] + 1u, 255u)) : 0;
    const bool beyond = dec[a] ? avg < thr - 2.0f * h * thr : avg >= thr + 2.0f * h * (1.0f - thr);
    if (beyond || opp[a] >= std::min<size_t>(4 * window_, 255)) {
      dec[a] = plain;
      opp[a] = 0;
    }
  }
  tr.redecide = false;
}

void Tracker::start(int k, const Detection& d) {
  Track& tr = tracks_[static_cast<size_t>(k)];
  tr = Track{};
  tr.live = true;
  tr.id = next_id_++;
  ++started_;
  for (OneEuro& f : tr.filters) f.reset();
  tr.has_feature = d.feature != nullptr && d.whole && n_feat_ > 0;
  if (tr.has_feature) {
    std::memcpy(feature(k), d.feature, n_feat_ * sizeof(float));
    normalise(feature(k), n_feat_);
  }
  observe(k, d, 0.0f);
  tr.age = 0;
  average(k, true);
}

void Tracker::observe(int k, const Detection& d, float dt_s) {
  Track& tr = tracks_[static_cast<size_t>(k)];
  const bool first = tr.ring_count == 0;
  if (!first) ++tr.age;
  tr.missed = 0;
  tr.raw = d.box;
  tr.score = d.score;
  tr.face_index = d.face_index;
  const float side = std::sqrt(std::max(1e-6f, d.box.w * d.box.h));
  const float cx =
      tr.filters[0].filter(d.box.x + 0.5f * d.box.w, dt_s, p_.min_cutoff, p_.beta, p_.d_cutoff, side);
  const float cy =
      tr.filters[1].filter(d.box.y + 0.5f * d.box.h, dt_s, p_.min_cutoff, p_.beta, p_.d_cutoff, side);
  const float w = tr.filters[2].filter(d.box.w, dt_s, p_.min_cutoff, p_.beta, p_.d_cutoff, side);
  const float h = tr.filters[3].filter(d.box.h, dt_s, p_.min_cutoff, p_.beta, p_.d_cutoff, side);
  tr.smooth = image::CropBox{cx - 0.5f * w, cy - 0.5f * h, w, h};

  // The probabilities enter the window weighted by the face score (a floor keeps a weak
  // frame from vanishing altogether).
  std::memcpy(ring(k) + static_cast<size_t>(tr.ring_pos) * n_attr_, d.probs, n_attr_ * sizeof(float));
  ring_weight(k)[tr.ring_pos] = std::max(0.05f, d.score);
  tr.ring_pos = (tr.ring_pos + 1) % static_cast<int>(window_);
  tr.ring_count = std::min(tr.ring_count + 1, static_cast<int>(window_));
  if (!first) {
    average(k, false);
    if (d.feature != nullptr && d.whole && n_feat_ > 0 && !tr.has_feature) {
      std::memcpy(feature(k), d.feature, n_feat_ * sizeof(float));
      normalise(feature(k), n_feat_);
      tr.has_feature = true;
    } else if (tr.has_feature && d.feature != nullptr && d.whole) {
      // The track's look: a running mean of its faces' unit vectors.
      float* f = feature(k);
      double mean = 0, ss = 0;
      for (size_t i = 0; i < n_feat_; ++i) mean += d.feature[i];
      mean /= static_cast<double>(n_feat_);
      for (size_t i = 0; i < n_feat_; ++i) ss += (d.feature[i] - mean) * (d.feature[i] - mean);
      const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
      for (size_t i = 0; i < n_feat_; ++i)
        f[i] = 0.7f * f[i] + 0.3f * static_cast<float>((d.feature[i] - mean) * inv);
      normalise(f, n_feat_);
    }
  }
}

void Tracker::update(const Detection* dets, int n, double t_ms) {
  const int nt = max_tracks();
  n = std::max(0, std::min(n, nt));
  const float dt_s =
      last_t_ms_ < 0.0 ? 1.0f / p_.fps : static_cast<float>(std::max(0.0, t_ms - last_t_ms_) / 1000.0);
  std::fill(track_used_.begin(), track_used_.end(), 0);
  std::fill(det_used_.begin(), det_used_.end(), 0);

  // Candidate pairs by overlap with where each track should be now, best first.
  pairs_.clear();
  for (int k = 0; k < nt; ++k) {
    const Track& tr = tracks_[static_cast<size_t>(k)];
    if (!tr.live) continue;
    image::CropBox at = tr.raw;
    if (tr.missed == 0) expected_box(k, t_ms, &at);
    for (int j = 0; j < n; ++j) {
      const float o = image::box_iou(at, dets[j].box);
      if (o >= p_.match_iou) pairs_.push_back(Pair{o, k, j});
    }
  }
  std::sort(pairs_.begin(), pairs_.end(), [](const Pair& a, const Pair& b) {
    return a.iou != b.iou ? a.iou > b.iou : (a.track != b.track ? a.track < b.track : a.det < b.det);
  });
  for (const Pair& pr : pairs_) {
    if (track_used_[static_cast<size_t>(pr.track)] || det_used_[static_cast<size_t>(pr.det)]) continue;
    Track& tr = tracks_[static_cast<size_t>(pr.track)];
    const Detection& d = dets[pr.det];
    track_used_[static_cast<size_t>(pr.track)] = 1;
    if (p_.appearance_min > 0.0f && tr.has_feature && d.feature != nullptr && d.whole &&
        cosine(pr.track, d.feature) < p_.appearance_min) {
      // In the track's place, but another face: the track ends, the face starts its own.
      tr.live = false;
      continue;
    }
    det_used_[static_cast<size_t>(pr.det)] = 1;
    observe(pr.track, d, dt_s);
  }
  for (int k = 0; k < nt; ++k) {
    Track& tr = tracks_[static_cast<size_t>(k)];
    if (!tr.live || track_used_[static_cast<size_t>(k)]) continue;
    if (++tr.missed > p_.max_missed) tr.live = false;
  }
  // New faces, strongest first (dets come strongest first from the localiser).
  int slot = 0;
  for (int j = 0; j < n; ++j) {
    if (det_used_[static_cast<size_t>(j)]) continue;
    while (slot < nt && tracks_[static_cast<size_t>(slot)].live) ++slot;
    if (slot == nt) break;
    start(slot, dets[j]);
  }
  last_t_ms_ = t_ms;

  // The tracks seen on this frame, oldest (smallest id) first.
  order_.clear();
  for (int k = 0; k < nt; ++k)
    if (tracks_[static_cast<size_t>(k)].live && tracks_[static_cast<size_t>(k)].missed == 0)
      order_.push_back(k);
  std::sort(order_.begin(), order_.end(), [this](int a, int b) {
    return tracks_[static_cast<size_t>(a)].id < tracks_[static_cast<size_t>(b)].id;
  });
  n_seen_ = static_cast<int>(order_.size());
  for (int i = 0; i < n_seen_; ++i) {
    const int k = order_[static_cast<size_t>(i)];
    const Track& tr = tracks_[static_cast<size_t>(k)];
    faceattr_track& o = seen_[static_cast<size_t>(i)];
    o.id = tr.id;
    o.box[0] = tr.smooth.x, o.box[1] = tr.smooth.y, o.box[2] = tr.smooth.w, o.box[3] = tr.smooth.h;
    o.raw_box[0] = tr.raw.x, o.raw_box[1] = tr.raw.y, o.raw_box[2] = tr.raw.w, o.raw_box[3] = tr.raw.h;
    o.score = tr.score;
    o.probs = probs(k);
    o.present = present(k);
    o.age = tr.age;
    o.face_index = tr.face_index;
  }
}

}  // namespace faceattr::pipeline
