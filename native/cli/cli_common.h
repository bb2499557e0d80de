// Pieces every `faceattr` subcommand shares: the user-facing error type, the
// common options (--model, --lnet, --no-localize, --threads, --backend; --thresholds
// for the commands that decide attributes), file reading and an owning wrapper
// around faceattr_session.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace CLI {
class App;
}

namespace faceattr::cli {

// Any failure the user should see; main() prints "faceattr: error: <what()>".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommonOptions {
  std::string model;     // --model; empty: $FACEATTR_MODEL, then the default model
  std::string lnet;      // --lnet; empty: lnet-int8.fam next to the ANet where discovered (see load_models)
  bool no_lnet = false;  // --no-localize (alias --no-lnet): never load a localiser, whole-image mode
  int threads = 1;
  std::string backend = "auto";
  std::string thresholds = "accuracy";  // --thresholds (predict, eval, video, explain)
  int views = 1;                        // --views: ANet views per face (faceattr_session_params.anet_views)
};

// Adds --model, --lnet, --no-localize (--no-lnet), --threads, --backend, --views to a subcommand.
// `extra_backend` (e.g. "all" for bench) is accepted besides auto|reference|xnnpack|simd.
void add_common_options(CLI::App& app, CommonOptions& opts, const char* threads_help,
                        const char* extra_backend = nullptr);

faceattr_backend parse_backend(const std::string& name);  // throws Error

// Adds --thresholds accuracy|balanced (the model's decision thresholds, faceattr_threshold_policy)
// to a subcommand that decides attributes.
void add_thresholds_option(CLI::App& app, CommonOptions& opts);
faceattr_threshold_policy parse_thresholds(const std::string& name);  // throws Error
const char* thresholds_name(faceattr_threshold_policy policy);        // "accuracy", "balanced"

// Whole file into memory; `what` names it in the error ("model", "image").
std::vector<uint8_t> read_file(const std::string& path, const char* what);

// "<context>: <faceattr_last_error()> (<status name>)".
[[noreturn]] void throw_api_error(const std::string& context, faceattr_status status);

struct ModelFiles {
  std::string anet_path;
  std::vector<uint8_t> anet;
  std::string lnet_path;  // empty when none
  std::vector<uint8_t> lnet;
  int anet_views = 1;  // --views, for the sessions made from these files
};

// Resolves the ANet path (see model_path.h) and reads both files. The LNet is
// --lnet when given; else, with `discover_lnet` and unless --no-localize,
// kDefaultLnetFile in the ANet's folder when that file exists; else none (each
// image is one face). Commands that run on photos in the wild (predict, video, bench,
// eval --scenes) discover it, so the shipped models localise faces by default.
ModelFiles load_models(const CommonOptions& opts, bool discover_lnet = false);

// Owns one faceattr_session. Not copyable; movable. `thresholds` other than accuracy
// throws Error (naming --thresholds) when the model has none for that policy.
class Session {
 public:
  Session(const ModelFiles& models, faceattr_backend backend, int n_threads,
          faceattr_threshold_policy thresholds = FACEATTR_THRESHOLDS_ACCURACY);
  ~Session();
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  faceattr_session* get() const { return session_; }
  int n_attributes() const;
  std::vector<std::string> attribute_names() const;
  std::vector<float> thresholds() const;  // under the session's threshold policy
  const char* backend_name() const;

 private:
  faceattr_session* session_ = nullptr;
};

// The index of attribute `name` in `names` (Session::attribute_names), or -1.
int attribute_index(const std::vector<std::string>& names, const std::string& name);

double round_to(double value, int decimals);

}  // namespace faceattr::cli
