// Thin Embind binding of the C API (faceattr.h) for the browser package.
//
// Kept deliberately small: it only moves numbers across. Model bytes and frames
// live in wasm heap buffers the JS side allocates with _malloc and passes in as
// addresses (a frame buffer is reused across frames: no per-frame copy into JS
// arrays). Fallible calls return the faceattr_status code; web/src/core.js turns
// a non-zero code into a JS exception carrying lastError(). Predictions are
// copied into one flat float buffer per session, planned at create time, that JS
// reads through a heap view:
//   [0]                 number of faces n
//   per face (stride 5 + 2 * n_attributes floats):
//     x, y, w, h, score, probs[n_attributes], present[n_attributes] (0/1)
// explain() works the same way: JS writes attribute indices into a planned int32
// buffer (explainAttrsPtr), explain fills one record of kExplainRecord doubles
// per attribute (explainResultPtr, layout at kExplainRecord); the maps stay in
// the SDK session and JS copies them out through HEAPF32 before the next predict.
// So do the concept terms: a record holds their count and the address of the
// SDK's faceattr_concept_contribution array (8 bytes each in wasm32: name
// address at +0, float contribution at +4; largest |contribution| first; count
// 0 and address 0 for a model without concept heads). The names are the
// session's strings, fixed while it lives: JS decodes each address once.
// The session's tracker (faceattr_tracker_*, at most one) works the same way:
// its options are kTrackerParams doubles at trackerParamsPtr() (trackerDefaults()
// writes the SDK's there, JS changes some, trackerCreate() reads them; layout at
// kTrackerParams); track() and trackerUpdate() fill the planned record buffer at
// trackResultPtr():
//   [0]                 number of tracks n
//   per track (stride kTrackHead + 2 * n_attributes doubles):
//     id, box x, y, w, h (smoothed), raw x, y, w, h, score, age, face_index,
//     probs[n_attributes] (averaged), present[n_attributes] (0/1, with hysteresis)
// trackerUpdate() reads its faces (found by the WebGPU backend) from the planned
// float buffer at trackerFacesPtr(): per face 5 + n_attributes floats, x, y, w,
// h, score, probs[n_attributes].
// Nothing here throws; no C++ exception crosses into JS.
#include <emscripten/bind.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace {

// One explain() record: attribute, p, logit, bias, width, height, map address,
// box x/y/w/h, cell w/h, crop x/y/w/h, peak x/y, peak column/row, peak value,
// number of concept terms, their array's address (0 when none), the average map's
// address (0 when none), the contrast (1, -1, 0).
constexpr int kExplainRecord = 26;

// The layout JS reads the concept terms with (web/src/core.js, Engine.explain).
static_assert(sizeof(void*) == 4, "wasm32: JS reads addresses as 32-bit");
static_assert(sizeof(faceattr_concept_contribution) == 8 &&
                  offsetof(faceattr_concept_contribution, name) == 0 &&
                  offsetof(faceattr_concept_contribution, contribution) == 4,
              "faceattr_concept_contribution: name at +0, contribution at +4 (8 bytes)");

// Tracker options as doubles, in faceattr_tracker_params order: fps, min_cutoff,
// beta, d_cutoff, window, hysteresis, match_iou, appearance_min, max_missed,
// max_tracks, detect_interval, local_min_score.
constexpr int kTrackerParams = 12;
// Doubles of a track record before its probs: id, box[4], raw_box[4], score, age, face_index.
constexpr int kTrackHead = 12;

// Status of the last Session::create on this thread (JS reads it after a null).
thread_local int t_create_status = FACEATTR_OK;

class Session {
 public:
  // Returns nullptr on failure: lastCreateStatus() gives the code, lastError() the reason.
  // max_faces / min_face_size <= 0: the SDK's defaults. localize: with an LNet model,
  // predict localises faces (false: each frame is one face, as without LNet).
  // thresholds: a faceattr_threshold_policy value (FACEATTR_ERR_UNSUPPORTED when the
  // model has no thresholds for it). views: ANet views per face (params.anet_views; the SDK
  // refuses values other than 1 and 2).
  static Session* create(uintptr_t anet, size_t anet_size, uintptr_t lnet, size_t lnet_size, int n_threads,
                         int backend, int max_faces, int min_face_size, bool localize, int thresholds,
                         int views) {
    faceattr_session_params p = faceattr_session_default_params();
    if (n_threads > 0) p.n_threads = n_threads;
    p.backend = static_cast<faceattr_backend>(backend);
    if (max_faces > 0) p.max_faces = max_faces;
    if (min_face_size > 0) p.min_face_size = min_face_size;
    p.localize = localize ? 1 : 0;
    // The SDK range-checks the int it finds there (no enum-typed conversion of a bad value here).
    static_assert(sizeof(p.threshold_policy) == sizeof(thresholds), "int-sized enum");
    std::memcpy(&p.threshold_policy, &thresholds, sizeof thresholds);
    p.anet_views = views;
    faceattr_session* s = nullptr;
    t_create_status =
        faceattr_session_create(reinterpret_cast<const void*>(anet), anet_size,
                                lnet_size ? reinterpret_cast<const void*>(lnet) : nullptr, lnet_size, &p, &s);
    if (t_create_status != FACEATTR_OK) return nullptr;
    return new Session(s, p.max_faces);
  }

  ~Session() {
    faceattr_tracker_free(tracker_);  // before the session it uses
    faceattr_session_free(s_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The frame: `height` rows of `width` pixels at heap address `data`.
  int predict(uintptr_t data, int width, int height, int stride, int format) {
    const faceattr_image img = image(data, width, height, stride, format);
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    out_[0] = 0;
    const faceattr_status st = faceattr_session_predict(s_, &img, &faces, &n);
    if (st != FACEATTR_OK) return st;
    if (n > max_faces_) n = max_faces_;
    out_[0] = static_cast<float>(n);
    for (int32_t f = 0; f < n; ++f) {
      float* o = out_.data() + 1 + static_cast<size_t>(f) * stride_;
      for (int k = 0; k < 4; ++k) o[k] = faces[f].box[k];
      o[4] = faces[f].score;
      for (int32_t a = 0; a < n_attr_; ++a) {
        o[5 + a] = faces[f].probs[a];
        o[5 + n_attr_ + a] = faces[f].present[a] ? 1.f : 0.f;
      }
    }
    return st;
  }

  // ANet alone on the frame as one face crop; fills face 0 (box = whole frame).
  int predictCrop(uintptr_t data, int width, int height, int stride, int format) {
    const faceattr_image img = image(data, width, height, stride, format);
    out_[0] = 0;
    float* o = out_.data() + 1;
    const faceattr_status st = faceattr_session_predict_crop(s_, &img, o + 5);
    if (st != FACEATTR_OK) return st;
    o[0] = 0;
    o[1] = 0;
    o[2] = static_cast<float>(width);
    o[3] = static_cast<float>(height);
    o[4] = 1;
    for (int32_t a = 0; a < n_attr_; ++a)
      o[5 + n_attr_ + a] = o[5 + a] >= faceattr_session_attribute_threshold(s_, a) ? 1.f : 0.f;
    out_[0] = 1;
    return st;
  }

  uintptr_t resultPtr() const { return reinterpret_cast<uintptr_t>(out_.data()); }
  int faceStride() const { return stride_; }
  int maxFaces() const { return max_faces_; }
  // The faceattr_session* itself, for the WebGPU stages (wasm/webgpu_stages.cpp).
  uintptr_t handle() const { return reinterpret_cast<uintptr_t>(s_); }
  int nAttributes() const { return n_attr_; }
  std::string attributeName(int i) const {
    const char* n = faceattr_session_attribute_name(s_, i);
    return n ? n : "";
  }
  // Under the session's threshold policy.
  float attributeThreshold(int i) const { return faceattr_session_attribute_threshold(s_, i); }
  // The thresholds later predictions decide with (a faceattr_threshold_policy value). A status
  // code: UNSUPPORTED when the model has none for it, INVALID_ARGUMENT for an unknown value.
  int setThresholdPolicy(int policy) {
    faceattr_threshold_policy p;
    std::memcpy(&p, &policy, sizeof policy);  // range-checked by the SDK
    return faceattr_session_set_threshold_policy(s_, p);
  }
  int thresholdPolicy() const { return faceattr_session_threshold_policy(s_); }
  bool hasThresholdPolicy(int policy) const {
    if (policy != FACEATTR_THRESHOLDS_ACCURACY && policy != FACEATTR_THRESHOLDS_BALANCED) return false;
    return faceattr_session_has_threshold_policy(s_, static_cast<faceattr_threshold_policy>(policy)) != 0;
  }
  std::string backend() const { return faceattr_backend_name(faceattr_session_backend(s_)); }
  // True when predict localises faces (an LNet model, localize on).
  bool hasLocalizer() const { return faceattr_session_has_localizer(s_) != 0; }
  std::string metadata(int which, const std::string& key) const {
    const char* v = faceattr_session_model_metadata(s_, which, key.c_str());
    return v ? v : "";
  }
  // [preprocess_ms, lnet_ms, anet_ms] into the 3 doubles at `out`.
  int lastTimings(uintptr_t out) const {
    faceattr_timings t{};
    const faceattr_status st = faceattr_session_last_timings(s_, &t);
    double* d = reinterpret_cast<double*>(out);
    d[0] = t.preprocess_ms;
    d[1] = t.lnet_ms;
    d[2] = t.anet_ms;
    return st;
  }
  // LNet's response map of the last predict: 7 floats at `out` (data address,
  // width, height, origin x/y, cell w/h); a status code (UNSUPPORTED without LNet).
  int responseMap(uintptr_t out) const {
    faceattr_response_map m{};
    const faceattr_status st = faceattr_session_response_map(s_, &m);
    if (st != FACEATTR_OK) return st;
    double* d = reinterpret_cast<double*>(out);
    d[0] = static_cast<double>(reinterpret_cast<uintptr_t>(m.data));
    d[1] = m.width;
    d[2] = m.height;
    d[3] = m.origin_x;
    d[4] = m.origin_y;
    d[5] = m.cell_width;
    d[6] = m.cell_height;
    return st;
  }

  // Attributes explainAttrsPtr()[0 .. n) of face `face` of the last predict into
  // n records at explainResultPtr(); n at most nAttributes(). A status code.
  int explain(int face, int n) {
    if (n < 0 || n > n_attr_) n = -1;  // the SDK reports the bad count
    const faceattr_status st = faceattr_session_explain(s_, face, ex_attrs_.data(), n, ex_.data());
    if (st != FACEATTR_OK) return st;
    for (int k = 0; k < n; ++k) {
      const faceattr_explanation& e = ex_[static_cast<size_t>(k)];
      double* d = ex_out_.data() + static_cast<size_t>(k) * kExplainRecord;
      const double rec[kExplainRecord] = {static_cast<double>(e.attribute),
                                          e.probability,
                                          e.logit,
                                          e.bias,
                                          static_cast<double>(e.width),
                                          static_cast<double>(e.height),
                                          static_cast<double>(reinterpret_cast<uintptr_t>(e.map)),
                                          e.box[0],
                                          e.box[1],
                                          e.box[2],
                                          e.box[3],
                                          e.cell_width,
                                          e.cell_height,
                                          e.crop[0],
                                          e.crop[1],
                                          e.crop[2],
                                          e.crop[3],
                                          e.peak[0],
                                          e.peak[1],
                                          static_cast<double>(e.peak_cell[0]),
                                          static_cast<double>(e.peak_cell[1]),
                                          e.peak_value,
                                          static_cast<double>(e.concepts ? e.n_concepts : 0),
                                          static_cast<double>(reinterpret_cast<uintptr_t>(e.concepts)),
                                          static_cast<double>(reinterpret_cast<uintptr_t>(e.average_map)),
                                          static_cast<double>(e.contrast)};
      for (int j = 0; j < kExplainRecord; ++j) d[j] = rec[j];
    }
    return st;
  }
  uintptr_t explainAttrsPtr() { return reinterpret_cast<uintptr_t>(ex_attrs_.data()); }
  uintptr_t explainResultPtr() { return reinterpret_cast<uintptr_t>(ex_out_.data()); }
  int explainRecord() const { return kExplainRecord; }

  // The SDK's default tracker options into trackerParamsPtr().
  void trackerDefaults() {
    const faceattr_tracker_params p = faceattr_tracker_default_params();
    const double v[kTrackerParams] = {p.fps,
                                      p.min_cutoff,
                                      p.beta,
                                      p.d_cutoff,
                                      static_cast<double>(p.window),
                                      p.hysteresis,
                                      p.match_iou,
                                      p.appearance_min,
                                      static_cast<double>(p.max_missed),
                                      static_cast<double>(p.max_tracks),
                                      static_cast<double>(p.detect_interval),
                                      p.local_min_score};
    for (int k = 0; k < kTrackerParams; ++k) tracker_params_[static_cast<size_t>(k)] = v[k];
  }
  // (Re)creates the session's tracker from the options at trackerParamsPtr(); plans the
  // record buffers. A status code; on failure the session has no tracker.
  int trackerCreate() {
    trackerFree();
    const double* v = tracker_params_.data();
    faceattr_tracker_params p = faceattr_tracker_default_params();
    p.fps = static_cast<float>(v[0]);
    p.min_cutoff = static_cast<float>(v[1]);
    p.beta = static_cast<float>(v[2]);
    p.d_cutoff = static_cast<float>(v[3]);
    p.window = static_cast<int32_t>(v[4]);
    p.hysteresis = static_cast<float>(v[5]);
    p.match_iou = static_cast<float>(v[6]);
    p.appearance_min = static_cast<float>(v[7]);
    p.max_missed = static_cast<int32_t>(v[8]);
    p.max_tracks = static_cast<int32_t>(v[9]);
    p.detect_interval = static_cast<int32_t>(v[10]);
    p.local_min_score = static_cast<float>(v[11]);
    const faceattr_status st = faceattr_tracker_create(s_, &p, &tracker_);
    if (st != FACEATTR_OK) {
      tracker_ = nullptr;
      return st;
    }
    // Planned here, once: track() and trackerUpdate() allocate nothing.
    track_rows_ = p.max_tracks > max_faces_ ? p.max_tracks : max_faces_;
    track_out_.assign(1 + static_cast<size_t>(track_rows_) * trackStride(), 0.0);
    return st;
  }
  void trackerFree() {
    faceattr_tracker_free(tracker_);
    tracker_ = nullptr;
  }
  bool hasTracker() const { return tracker_ != nullptr; }
  int trackerReset() {
    track_out_[0] = 0;
    return faceattr_tracker_reset(tracker_);
  }
  // The next frame of the stream through the tracker (the session runs on it);
  // timestamp_ms < 0: 1000 / fps after the last. A status code; records at trackResultPtr().
  int track(uintptr_t data, int width, int height, int stride, int format, double timestamp_ms) {
    const faceattr_image img = image(data, width, height, stride, format);
    const faceattr_track* tracks = nullptr;
    int32_t n = 0;
    track_out_[0] = 0;
    const faceattr_status st = faceattr_tracker_track(tracker_, &img, timestamp_ms, &tracks, &n);
    if (st == FACEATTR_OK) putTracks(tracks, n);
    return st;
  }
  // The next frame of the stream from faces found elsewhere: n faces at trackerFacesPtr()
  // (at most maxFaces()). A status code; records at trackResultPtr().
  int trackerUpdate(int n, double timestamp_ms) {
    if (n < 0 || n > max_faces_) n = -1;  // the SDK reports the bad count
    for (int f = 0; f < n; ++f) {
      const float* in = upd_in_.data() + static_cast<size_t>(f) * updStride();
      faceattr_face& face = upd_faces_[static_cast<size_t>(f)];
      for (int k = 0; k < 4; ++k) face.box[k] = in[k];
      face.score = in[4];
    }
    const faceattr_track* tracks = nullptr;
    int32_t nt = 0;
    track_out_[0] = 0;
    const faceattr_status st =
        faceattr_tracker_update(tracker_, upd_faces_.data(), n, nullptr, 0, timestamp_ms, &tracks, &nt);
    if (st == FACEATTR_OK) putTracks(tracks, nt);
    return st;
  }
  // Counters since create or reset: frames, full passes, local passes, tracks started
  // (4 doubles at `out`). A status code.
  int trackerStats(uintptr_t out) const {
    faceattr_tracker_stats t{};
    const faceattr_status st = faceattr_tracker_get_stats(tracker_, &t);
    double* d = reinterpret_cast<double*>(out);
    d[0] = static_cast<double>(t.frames);
    d[1] = static_cast<double>(t.full_passes);
    d[2] = static_cast<double>(t.local_passes);
    d[3] = static_cast<double>(t.tracks_started);
    return st;
  }
  uintptr_t trackerParamsPtr() { return reinterpret_cast<uintptr_t>(tracker_params_.data()); }
  uintptr_t trackResultPtr() { return reinterpret_cast<uintptr_t>(track_out_.data()); }
  uintptr_t trackerFacesPtr() { return reinterpret_cast<uintptr_t>(upd_in_.data()); }
  int trackStride() const { return kTrackHead + 2 * n_attr_; }
  int trackHead() const { return kTrackHead; }

 private:
  Session(faceattr_session* s, int max_faces)
      : s_(s), n_attr_(faceattr_session_n_attributes(s)), max_faces_(max_faces > 0 ? max_faces : 1) {
    stride_ = 5 + 2 * n_attr_;
    out_.assign(1 + static_cast<size_t>(max_faces_) * stride_, 0.f);
    // Planned once: explain() allocates nothing, in the SDK or here.
    ex_attrs_.assign(static_cast<size_t>(n_attr_ > 0 ? n_attr_ : 1), 0);
    ex_.resize(ex_attrs_.size());
    ex_out_.assign(ex_attrs_.size() * kExplainRecord, 0.0);
    // The tracker's: its options, and trackerUpdate's faces (probs point into upd_in_).
    tracker_params_.assign(kTrackerParams, 0.0);
    trackerDefaults();
    track_out_.assign(1, 0.0);
    upd_in_.assign(static_cast<size_t>(max_faces_) * updStride(), 0.f);
    upd_present_.assign(static_cast<size_t>(n_attr_ > 0 ? n_attr_ : 1), 0);
    upd_faces_.assign(static_cast<size_t>(max_faces_), faceattr_face{});
    for (int f = 0; f < max_faces_; ++f) {
      upd_faces_[static_cast<size_t>(f)].probs = upd_in_.data() + static_cast<size_t>(f) * updStride() + 5;
      upd_faces_[static_cast<size_t>(f)].present = upd_present_.data();
    }
  }
  int updStride() const { return 5 + n_attr_; }
  void putTracks(const faceattr_track* tracks, int32_t n) {
    if (n > track_rows_) n = track_rows_;
    const int stride = trackStride();
    for (int32_t t = 0; t < n; ++t) {
      const faceattr_track& k = tracks[t];
      double* d = track_out_.data() + 1 + static_cast<size_t>(t) * stride;
      d[0] = k.id;
      for (int j = 0; j < 4; ++j) {
        d[1 + j] = k.box[j];
        d[5 + j] = k.raw_box[j];
      }
      d[9] = k.score;
      d[10] = k.age;
      d[11] = k.face_index;
      for (int32_t a = 0; a < n_attr_; ++a) {
        d[kTrackHead + a] = k.probs[a];
        d[kTrackHead + n_attr_ + a] = k.present[a] ? 1.0 : 0.0;
      }
    }
    track_out_[0] = n;
  }
  static faceattr_image image(uintptr_t data, int width, int height, int stride, int format) {
    return faceattr_image{reinterpret_cast<const uint8_t*>(data), width, height, stride,
                          static_cast<faceattr_pixel_format>(format)};
  }

  faceattr_session* s_;
  int32_t n_attr_;
  int max_faces_;
  int stride_ = 0;
  std::vector<float> out_;
  std::vector<int32_t> ex_attrs_;
  std::vector<faceattr_explanation> ex_;
  std::vector<double> ex_out_;
  faceattr_tracker* tracker_ = nullptr;
  int track_rows_ = 0;
  std::vector<double> tracker_params_;
  std::vector<double> track_out_;
  std::vector<float> upd_in_;
  std::vector<uint8_t> upd_present_;
  std::vector<faceattr_face> upd_faces_;
};

std::string lastError() { return faceattr_last_error(); }
int lastCreateStatus() { return t_create_status; }
std::string statusString(int st) { return faceattr_status_string(static_cast<faceattr_status>(st)); }
std::string version() { return faceattr_version(); }
bool backendAvailable(int b) { return faceattr_backend_available(static_cast<faceattr_backend>(b)) != 0; }
bool threaded() {
#if defined(__EMSCRIPTEN_PTHREADS__)
  return true;
#else
  return false;
#endif
}

}  // namespace

EMSCRIPTEN_BINDINGS(faceattr) {
  using namespace emscripten;
  class_<Session>("Session")
      .class_function("create", &Session::create, allow_raw_pointers())
      .function("predict", &Session::predict)
      .function("predictCrop", &Session::predictCrop)
      .function("resultPtr", &Session::resultPtr)
      .function("faceStride", &Session::faceStride)
      .function("maxFaces", &Session::maxFaces)
      .function("handle", &Session::handle)
      .function("nAttributes", &Session::nAttributes)
      .function("attributeName", &Session::attributeName)
      .function("attributeThreshold", &Session::attributeThreshold)
      .function("setThresholdPolicy", &Session::setThresholdPolicy)
      .function("thresholdPolicy", &Session::thresholdPolicy)
      .function("hasThresholdPolicy", &Session::hasThresholdPolicy)
      .function("backend", &Session::backend)
      .function("hasLocalizer", &Session::hasLocalizer)
      .function("metadata", &Session::metadata)
      .function("lastTimings", &Session::lastTimings)
      .function("responseMap", &Session::responseMap)
      .function("explain", &Session::explain)
      .function("explainAttrsPtr", &Session::explainAttrsPtr)
      .function("explainResultPtr", &Session::explainResultPtr)
      .function("explainRecord", &Session::explainRecord)
      .function("trackerDefaults", &Session::trackerDefaults)
      .function("trackerCreate", &Session::trackerCreate)
      .function("trackerFree", &Session::trackerFree)
      .function("hasTracker", &Session::hasTracker)
      .function("trackerReset", &Session::trackerReset)
      .function("track", &Session::track)
      .function("trackerUpdate", &Session::trackerUpdate)
      .function("trackerStats", &Session::trackerStats)
      .function("trackerParamsPtr", &Session::trackerParamsPtr)
      .function("trackResultPtr", &Session::trackResultPtr)
      .function("trackerFacesPtr", &Session::trackerFacesPtr)
      .function("trackStride", &Session::trackStride)
      .function("trackHead", &Session::trackHead);
  function("lastError", &lastError);
  function("lastCreateStatus", &lastCreateStatus);
  function("statusString", &statusString);
  function("version", &version);
  function("backendAvailable", &backendAvailable);
  function("threaded", &threaded);
}
