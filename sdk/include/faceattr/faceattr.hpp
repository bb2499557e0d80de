// faceattr — header-only C++ wrapper over the C API (faceattr.h).
//
//   #include <faceattr/faceattr.hpp>
//
//   faceattr_session_params params = faceattr_session_default_params();
//   params.n_threads = 2;  // params.localize = 0: whole-image mode even with an LNet
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
  float attribute_threshold(int32_t i) const noexcept { return faceattr_session_attribute_threshold(s_, i); }
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

}  // namespace faceattr
