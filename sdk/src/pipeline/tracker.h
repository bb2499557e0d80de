// Face tracks over the frames of one stream (faceattr_tracker_*): matching,
// box smoothing, attribute averaging and hysteresis. Fed detections; running the
// networks (full localiser passes and local searches) is the API layer's job
// (api/tracker.cpp). Everything is sized in plan(); update() allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "faceattr/faceattr.h"
#include "image/preprocess.h"
#include "util/status.h"

namespace faceattr::pipeline {

// One face of a frame, as the tracker reads it.
struct Detection {
  image::CropBox box;
  float score = 0;
  const float* probs = nullptr;    // n_attributes
  const float* feature = nullptr;  // n_features, or null: no appearance test
  bool whole = true;               // the box lies inside the frame (a cut face's feature is not compared)
  int face_index = -1;             // the session face it came from
};

// The One Euro filter (Casiraghi, Roussel, Vogel, CHI 2012) of one coordinate:
// a low-pass filter whose cutoff rises with the coordinate's speed.
class OneEuro {
 public:
  void reset() { init_ = false; }
  // `speed_unit` divides the derivative before beta applies (the face side: beta is per
  // face side per second, the same at any face size).
  float filter(float x, float dt_s, float min_cutoff, float beta, float d_cutoff, float speed_unit);
  float velocity() const { return init_ ? dx_ : 0.0f; }  // filtered, per second

 private:
  bool init_ = false;
  float x_ = 0, dx_ = 0;
};

// Checks the ranges of faceattr_tracker_params (FACEATTR_ERR_INVALID_ARGUMENT, naming the field).
Status validate_tracker_params(const faceattr_tracker_params& p);

class Tracker {
 public:
  // Sizes max_tracks tracks of n_attributes probabilities and n_features features.
  // `thresholds`: the model's decision thresholds (copied). May allocate.
  void plan(const faceattr_tracker_params& p, int max_tracks, int n_attributes, const float* thresholds,
            int n_features);
  void reset();
  // New decision thresholds (n_attributes, copied; the session's policy changed): each track
  // decides afresh, mean >= thr, the next time it is seen. Allocates nothing.
  void set_thresholds(const float* thresholds);

  // The frame time in ms: `t_ms`, or the last one plus 1000 / fps when t_ms < 0.
  double frame_time(double t_ms) const;
  // Matches dets[0 .. n) of the frame at `t_ms` (frame_time's result) to the tracks, updates
  // them, starts tracks for the rest and ends tracks unseen for more than max_missed frames.
  void update(const Detection* dets, int n, double t_ms);

  // The tracks seen on the last frame, oldest first.
  const faceattr_track* seen() const { return seen_.data(); }
  int n_seen() const { return n_seen_; }
  // Live tracks (seen within max_missed frames) and whether each was seen on the last frame.
  int n_live() const;
  bool all_live_seen() const;
  // Where live track `k` (0 .. max_tracks) should be on a frame at `t_ms`: its last detected
  // box moved by its filtered velocity. False when slot k holds no track seen on the last frame.
  bool expected_box(int k, double t_ms, image::CropBox* out) const;
  int max_tracks() const { return static_cast<int>(tracks_.size()); }
  int64_t tracks_started() const { return started_; }

 private:
  struct Track {
    bool live = false;
    int id = 0, age = 0, missed = 0;
    OneEuro filters[4];  // centre x, centre y, width, height
    image::CropBox raw, smooth;
    float score = 0;
    int ring_pos = 0, ring_count = 0;
    bool has_feature = false;
    bool redecide = false;  // set_thresholds since its last average
    int face_index = -1;
  };
  float* ring(int k) { return ring_.data() + static_cast<size_t>(k) * window_ * n_attr_; }
  float* ring_weight(int k) { return ring_w_.data() + static_cast<size_t>(k) * window_; }
  float* probs(int k) { return probs_.data() + static_cast<size_t>(k) * n_attr_; }
  uint8_t* present(int k) { return present_.data() + static_cast<size_t>(k) * n_attr_; }
  uint8_t* against(int k) { return against_.data() + static_cast<size_t>(k) * n_attr_; }
  float* feature(int k) { return features_.data() + static_cast<size_t>(k) * n_feat_; }
  float cosine(int k, const float* f) const;
  void start(int k, const Detection& d);
  void observe(int k, const Detection& d, float dt_s);
  void average(int k, bool first);

  faceattr_tracker_params p_{};
  size_t window_ = 1, n_attr_ = 0, n_feat_ = 0;
  std::vector<float> thresholds_;
  std::vector<Track> tracks_;
  std::vector<float> ring_, ring_w_, probs_, features_;
  std::vector<uint8_t> present_;
  std::vector<uint8_t>
      against_;  // per track and attribute: frames the average has disagreed with the decision
  double last_t_ms_ = -1;
  int next_id_ = 1;
  int64_t started_ = 0;

  // Scratch of update(): candidate pairs, used flags, the seen tracks.
  struct Pair {
    float iou;
    int track, det;
  };
  std::vector<Pair> pairs_;
  std::vector<uint8_t> track_used_, det_used_;
  std::vector<faceattr_track> seen_;
  std::vector<int> order_;
  int n_seen_ = 0;
};

}  // namespace faceattr::pipeline
