// faceattr — header-only C++ wrapper over the C API (faceattr.h).
//
//   #include <faceattr/faceattr.hpp>
//
//   faceattr_session_params params = faceattr_session_default_params();
//   params.n_threads = 2;  // params.localize = 0: whole-image mode even with an LNet
//   // params.threshold_policy = FACEATTR_THRESHOLDS_BALANCED: equal-error-rate thresholds
//   // params.anet_views = 2: a second, mirrored view of each face (twice ANet's time)
//   faceattr::Session session = faceattr::Session::create(bytes.data(), bytes.size(), &params,
//                                                         lnet.data(), lnet.size());
//   for (const faceattr_face& face : session.predict(image))
//     for (int32_t a = 0; a < session.n_attributes(); ++a)
//       std::cout << session.attribute_name(a) << " " << face.probs[a] << "\n";
//
// Errors: the throwing calls (create, predict, predict_crop) throw faceattr::Error,
// which carries the faceattr_status and faceattr_last_error()'s message. For code
// built without exceptions, Session::try_create and the try_* calls return the
// status instead. Session is move-only and frees the C session on destruction.
// Like the C session it serves one call at a time: a call made while another
// runs on it fails with FACEATTR_ERR_BUSY (Error::status()) and does nothing.
// Tracker follows faces over the frames of a stream (faceattr_tracker_*).
// Model describes a model file or a session's network (faceattr_model_*).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "faceattr/faceattr.h"

namespace faceattr {

class Error : public std::runtime_error {
 public:
  Error(faceattr_status status, const std::string& message)
      : std::runtime_error(std::string(faceattr_status_string(status)) + ": " + message), status_(status) {}
  faceattr_status status() const noexcept { return status_; }

 private:
  faceattr_status status_;
};

// The faces of the last predict call; valid until the next predict on the session.
class Faces {
 public:
  Faces() = default;
  Faces(const faceattr_face* data, int32_t n) : data_(data), n_(n) {}
  size_t size() const noexcept { return static_cast<size_t>(n_); }
  bool empty() const noexcept { return n_ == 0; }
  const faceattr_face& operator[](size_t i) const noexcept { return data_[i]; }
  const faceattr_face* begin() const noexcept { return data_; }
  const faceattr_face* end() const noexcept { return data_ + n_; }

 private:
  const faceattr_face* data_ = nullptr;
  int32_t n_ = 0;
};

// A model's description (faceattr.h, "Models and the staged pipeline"): owned when
// loaded from bytes (load / try_load), a view of a session's network from
// Session::model. Move-only; an owned model is freed on destruction.
class Model {
 public:
  Model() noexcept = default;
  ~Model() { reset(); }
  Model(Model&& o) noexcept : m_(std::exchange(o.m_, nullptr)), owned_(std::exchange(o.owned_, false)) {}
  Model& operator=(Model&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
      owned_ = std::exchange(o.owned_, false);
    }
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Non-throwing: an empty Model on failure, with *status (optional) set.
  static Model try_load(const void* data, size_t size, faceattr_status* status = nullptr) noexcept {
    faceattr_model* m = nullptr;
    const faceattr_status st = faceattr_model_load(data, size, &m);
    if (status) *status = st;
    return Model(st == FACEATTR_OK ? m : nullptr, true);
  }
  static Model load(const void* data, size_t size) {
    faceattr_status st = FACEATTR_OK;
    Model m = try_load(data, size, &st);
    if (st != FACEATTR_OK) throw Error(st, faceattr_last_error());
    return m;
  }
  // A view of a model owned elsewhere (a session's); empty for NULL.
  static Model view(const faceattr_model* m) noexcept { return Model(m, false); }

  explicit operator bool() const noexcept { return m_ != nullptr; }
  const faceattr_model* get() const noexcept { return m_; }
  // Zero-filled when the model is empty or the index out of range.
  faceattr_model_info info() const noexcept {
    faceattr_model_info i{};
    if (faceattr_model_get_info(m_, &i) != FACEATTR_OK) i = faceattr_model_info{};
    return i;
  }
  faceattr_tensor_info tensor(int32_t index) const noexcept {
    faceattr_tensor_info t{};
    if (faceattr_model_get_tensor(m_, index, &t) != FACEATTR_OK) t = faceattr_tensor_info{};
    return t;
  }
  faceattr_node_info node(int32_t index) const noexcept {
    faceattr_node_info n{};
    if (faceattr_model_get_node(m_, index, &n) != FACEATTR_OK) n = faceattr_node_info{};
    return n;
  }

 private:
  Model(const faceattr_model* m, bool owned) noexcept : m_(m), owned_(owned && m != nullptr) {}
  void reset() noexcept {
    if (owned_) faceattr_model_free(const_cast<faceattr_model*>(m_));
    m_ = nullptr;
    owned_ = false;
  }
  const faceattr_model* m_ = nullptr;
  bool owned_ = false;
};

class Session {
 public:
  Session() noexcept = default;
  explicit Session(faceattr_session* s) noexcept : s_(s) {}
  ~Session() { faceattr_session_free(s_); }
  Session(Session&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session& operator=(Session&& o) noexcept {
    if (this != &o) {
      faceattr_session_free(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Non-throwing: an empty Session on failure, with *status (optional) set.
  static Session try_create(const void* anet, size_t anet_size,
                            const faceattr_session_params* params = nullptr,
                            faceattr_status* status = nullptr, const void* lnet = nullptr,
                            size_t lnet_size = 0) noexcept {
    faceattr_session* s = nullptr;
    const faceattr_status st = faceattr_session_create(anet, anet_size, lnet, lnet_size, params, &s);
    if (status) *status = st;
    return Session(st == FACEATTR_OK ? s : nullptr);
  }

  static Session create(const void* anet, size_t anet_size, const faceattr_session_params* params = nullptr,
                        const void* lnet = nullptr, size_t lnet_size = 0) {
    faceattr_status st = FACEATTR_OK;
    Session s = try_create(anet, anet_size, params, &st, lnet, lnet_size);
    if (st != FACEATTR_OK) throw Error(st, faceattr_last_error());
    return s;
  }

  explicit operator bool() const noexcept { return s_ != nullptr; }
  faceattr_session* get() const noexcept { return s_; }
  faceattr_session* release() noexcept { return std::exchange(s_, nullptr); }

  faceattr_status try_predict(const faceattr_image& image, Faces* faces) noexcept {
    const faceattr_face* f = nullptr;
    int32_t n = 0;
    const faceattr_status st = faceattr_session_predict(s_, &image, &f, &n);
    if (faces) *faces = st == FACEATTR_OK ? Faces(f, n) : Faces();
    return st;
  }
  Faces predict(const faceattr_image& image) {
    Faces faces;
    check(try_predict(image, &faces));
    return faces;
  }

  // `probs` must hold n_attributes() floats.
  faceattr_status try_predict_crop(const faceattr_image& image, float* probs) noexcept {
    return faceattr_session_predict_crop(s_, &image, probs);
  }
  std::vector<float> predict_crop(const faceattr_image& image) {
    std::vector<float> probs(static_cast<size_t>(n_attributes() > 0 ? n_attributes() : 0));
    check(try_predict_crop(image, probs.data()));
    return probs;
  }

  int32_t n_attributes() const noexcept { return faceattr_session_n_attributes(s_); }
  std::string attribute_name(int32_t i) const {
    const char* n = faceattr_session_attribute_name(s_, i);
    return n ? n : "";
  }
  // Under the session's threshold policy.
  float attribute_threshold(int32_t i) const noexcept { return faceattr_session_attribute_threshold(s_, i); }
  // Which thresholds decide present[] from the next call on (faceattr_session_set_threshold_policy):
  // FACEATTR_ERR_UNSUPPORTED when the model has none for `policy`.
  faceattr_status try_set_threshold_policy(faceattr_threshold_policy policy) noexcept {
    return faceattr_session_set_threshold_policy(s_, policy);
  }
  void set_threshold_policy(faceattr_threshold_policy policy) { check(try_set_threshold_policy(policy)); }
  faceattr_threshold_policy threshold_policy() const noexcept {
    return faceattr_session_threshold_policy(s_);
  }
  bool has_threshold_policy(faceattr_threshold_policy policy) const noexcept {
    return faceattr_session_has_threshold_policy(s_, policy) != 0;
  }
  faceattr_backend backend() const noexcept { return faceattr_session_backend(s_); }
  // Empty string when the key is absent. `which`: 0 ANet, 1 LNet.
  std::string metadata(const char* key, int32_t which = 0) const {
    const char* v = faceattr_session_model_metadata(s_, which, key);
    return v ? v : "";
  }
  // True when predict localises faces (an LNet model and params.localize = 1).
  bool has_localizer() const noexcept { return faceattr_session_has_localizer(s_) != 0; }
  // LNet's response map of the last successful predict (see faceattr_session_response_map).
  faceattr_status try_response_map(faceattr_response_map* out) const noexcept {
    return faceattr_session_response_map(s_, out);
  }
  faceattr_response_map response_map() const {
    faceattr_response_map m{};
    check(try_response_map(&m));
    return m;
  }
  // Class-activation maps of face `face` of the last predict (faceattr_session_explain):
  // out[k] explains attributes[k]; maps valid until the next predict.
  faceattr_status try_explain(int32_t face, const int32_t* attributes, int32_t n,
                              faceattr_explanation* out) noexcept {
    return faceattr_session_explain(s_, face, attributes, n, out);
  }
  std::vector<faceattr_explanation> explain(int32_t face, const std::vector<int32_t>& attributes) {
    std::vector<faceattr_explanation> out(attributes.size());
    check(try_explain(face, attributes.data(), static_cast<int32_t>(attributes.size()), out.data()));
    return out;
  }
  // A network of the session (0 ANet, 1 LNet), a view valid while the session lives.
  Model model(int32_t which) const noexcept { return Model::view(faceattr_session_model(s_, which)); }

  // The staged pipeline (faceattr.h): status codes, caller-owned buffers, no allocation.
  faceattr_status try_stage_info(faceattr_stage_info* out) const noexcept {
    return faceattr_session_stage_info(s_, out);
  }
  faceattr_status try_lnet_input(const faceattr_image& image, int32_t pass, float* input,
                                 faceattr_letterbox* letterbox) noexcept {
    return faceattr_session_lnet_input(s_, &image, pass, input, letterbox);
  }
  faceattr_status try_decode_faces(const float* const* maps, const faceattr_letterbox* letterboxes,
                                   int32_t n_maps, faceattr_face_crop* faces, int32_t* n_faces) noexcept {
    return faceattr_session_decode_faces(s_, maps, letterboxes, n_maps, faces, n_faces);
  }
  faceattr_status try_whole_image_crop(const faceattr_image& image, faceattr_face_crop* out) const noexcept {
    return faceattr_session_whole_image_crop(s_, &image, out);
  }
  faceattr_status try_anet_input(const faceattr_image& image, const float crop[4], float* input) noexcept {
    return faceattr_session_anet_input(s_, &image, crop, input);
  }
  faceattr_status try_anet_view_input(const faceattr_image& image, const float crop[4], int32_t view,
                                      float* input) noexcept {
    return faceattr_session_anet_view_input(s_, &image, crop, view, input);
  }

  faceattr_timings last_timings() const noexcept {
    faceattr_timings t{};
    faceattr_session_last_timings(s_, &t);
    return t;
  }

 private:
  static void check(faceattr_status st) {
    if (st != FACEATTR_OK) throw Error(st, faceattr_last_error());
  }
  faceattr_session* s_ = nullptr;
};

// The tracks of the last tracker call; valid until the tracker's next call.
class Tracks {
 public:
  Tracks() = default;
  Tracks(const faceattr_track* data, int32_t n) : data_(data), n_(n) {}
  size_t size() const noexcept { return static_cast<size_t>(n_); }
  bool empty() const noexcept { return n_ == 0; }
  const faceattr_track& operator[](size_t i) const noexcept { return data_[i]; }
  const faceattr_track* begin() const noexcept { return data_; }
  const faceattr_track* end() const noexcept { return data_ + n_; }

 private:
  const faceattr_track* data_ = nullptr;
  int32_t n_ = 0;
};

// Face tracks over the frames of one stream (faceattr.h, "Video"). The session
// must outlive the tracker. Move-only; frees the C tracker on destruction.
//
//   faceattr::Tracker tracker = faceattr::Tracker::create(session);
//   for (const faceattr_track& t : tracker.track(frame, timestamp_ms)) ...
class Tracker {
 public:
  Tracker() noexcept = default;
  explicit Tracker(faceattr_tracker* t) noexcept : t_(t) {}
  ~Tracker() { faceattr_tracker_free(t_); }
  Tracker(Tracker&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  Tracker& operator=(Tracker&& o) noexcept {
    if (this != &o) {
      faceattr_tracker_free(t_);
      t_ = std::exchange(o.t_, nullptr);
    }
    return *this;
  }
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Non-throwing: an empty Tracker on failure, with *status (optional) set.
  static Tracker try_create(Session& session, const faceattr_tracker_params* params = nullptr,
                            faceattr_status* status = nullptr) noexcept {
    faceattr_tracker* t = nullptr;
    const faceattr_status st = faceattr_tracker_create(session.get(), params, &t);
    if (status) *status = st;
    return Tracker(st == FACEATTR_OK ? t : nullptr);
  }
  static Tracker create(Session& session, const faceattr_tracker_params* params = nullptr) {
    faceattr_status st = FACEATTR_OK;
    Tracker t = try_create(session, params, &st);
    if (st != FACEATTR_OK) throw Error(st, faceattr_last_error());
    return t;
  }

  explicit operator bool() const noexcept { return t_ != nullptr; }
  faceattr_tracker* get() const noexcept { return t_; }

  // timestamp_ms < 0: one frame at params.fps after the last.
  faceattr_status try_track(const faceattr_image& image, double timestamp_ms, Tracks* tracks) noexcept {
    const faceattr_track* t = nullptr;
    int32_t n = 0;
    const faceattr_status st = faceattr_tracker_track(t_, &image, timestamp_ms, &t, &n);
    if (tracks) *tracks = st == FACEATTR_OK ? Tracks(t, n) : Tracks();
    return st;
  }
  Tracks track(const faceattr_image& image, double timestamp_ms = -1.0) {
    Tracks tracks;
    check(try_track(image, timestamp_ms, &tracks));
    return tracks;
  }
  // Faces found elsewhere (features: n x n_features floats, or null).
  faceattr_status try_update(const faceattr_face* faces, int32_t n, const float* features, int32_t n_features,
                             double timestamp_ms, Tracks* tracks) noexcept {
    const faceattr_track* t = nullptr;
    int32_t m = 0;
    const faceattr_status st =
        faceattr_tracker_update(t_, faces, n, features, n_features, timestamp_ms, &t, &m);
    if (tracks) *tracks = st == FACEATTR_OK ? Tracks(t, m) : Tracks();
    return st;
  }
  Tracks update(const faceattr_face* faces, int32_t n, double timestamp_ms = -1.0) {
    Tracks tracks;
    check(try_update(faces, n, nullptr, 0, timestamp_ms, &tracks));
    return tracks;
  }
  void reset() { check(faceattr_tracker_reset(t_)); }
  faceattr_tracker_stats stats() const noexcept {
    faceattr_tracker_stats s{};
    faceattr_tracker_get_stats(t_, &s);
    return s;
  }

 private:
  static void check(faceattr_status st) {
    if (st != FACEATTR_OK) throw Error(st, faceattr_last_error());
  }
  faceattr_tracker* t_ = nullptr;
};

}  // namespace faceattr
