#include "cli_common.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "model_path.h"

namespace faceattr::cli {

void add_common_options(CLI::App& app, CommonOptions& opts, const char* threads_help,
                        const char* extra_backend) {
  app.add_option("-m,--model", opts.model,
                 "ANet model file (.fam); default: $FACEATTR_MODEL, then the shipped anet-int8.fam");
  CLI::Option* lnet = app.add_option(
      "--lnet", opts.lnet,
      "LNet face localiser model; default: lnet-int8.fam next to the ANet model when it exists "
      "(predict, video, bench, eval --scenes)");
  app.add_flag("--no-localize,--no-lnet", opts.no_lnet,
               "Whole-image mode: no localiser, each image is one face (centre crop)")
      ->excludes(lnet);
  app.add_option("-t,--threads", opts.threads, threads_help)
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  std::vector<std::string> backends = {"auto", "reference", "xnnpack", "simd"};
  if (extra_backend) backends.emplace_back(extra_backend);
  std::string help = "Kernel family: " + CLI::detail::join(backends, "|");
  app.add_option("-b,--backend", opts.backend, help)->check(CLI::IsMember(backends))->capture_default_str();
  app.add_option("--views", opts.views,
                 "ANet views per face: 1, or 2 (also the crop at 0.9 of its size, mirrored; the two "
                 "views' log-odds averaged; twice ANet's time)")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
}

faceattr_backend parse_backend(const std::string& name) {
  if (name == "auto") return FACEATTR_BACKEND_AUTO;
  if (name == "reference") return FACEATTR_BACKEND_REFERENCE;
  if (name == "xnnpack") return FACEATTR_BACKEND_XNNPACK;
  if (name == "simd") return FACEATTR_BACKEND_SIMD;
  throw Error("unknown backend '" + name + "' (auto, reference, xnnpack, simd)");
}

void add_thresholds_option(CLI::App& app, CommonOptions& opts) {
  app.add_option(
         "--thresholds", opts.thresholds,
         "Decision thresholds: accuracy (each attribute's most accurate) or balanced (equal error "
         "rates: rare attributes reported more often; needs a model that has them, see `faceattr info`)")
      ->check(CLI::IsMember({"accuracy", "balanced"}))
      ->capture_default_str();
}

faceattr_threshold_policy parse_thresholds(const std::string& name) {
  if (name == "accuracy") return FACEATTR_THRESHOLDS_ACCURACY;
  if (name == "balanced") return FACEATTR_THRESHOLDS_BALANCED;
  throw Error("unknown --thresholds '" + name + "' (accuracy, balanced)");
}

const char* thresholds_name(faceattr_threshold_policy policy) {
  return policy == FACEATTR_THRESHOLDS_BALANCED ? "balanced" : "accuracy";
}

std::vector<uint8_t> read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(std::string("cannot read ") + what + " '" + path + "': is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open ") + what + " '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(std::string("cannot read ") + what + " '" + path + "'");
  return bytes;
}

void throw_api_error(const std::string& context, faceattr_status status) {
  std::string message = faceattr_last_error();
  if (message.empty()) message = "failed";
  throw Error(context + ": " + message + " (" + faceattr_status_string(status) + ")");
}

ModelFiles load_models(const CommonOptions& opts, bool discover_lnet) {
  ModelFiles m;
  m.anet_path = resolve_model_path(opts.model);
  m.anet = read_file(m.anet_path, "model");
  if (!opts.lnet.empty()) {
    m.lnet_path = opts.lnet;
  } else if (discover_lnet && !opts.no_lnet) {
    m.lnet_path = default_lnet_path(m.anet_path);
  }
  if (!m.lnet_path.empty()) m.lnet = read_file(m.lnet_path, "LNet model");
  m.anet_views = opts.views;
  return m;
}

Session::Session(const ModelFiles& models, faceattr_backend backend, int n_threads,
                 faceattr_threshold_policy thresholds) {
  faceattr_session_params params = faceattr_session_default_params();
  params.n_threads = n_threads;
  params.backend = backend;
  params.anet_views = models.anet_views;
  faceattr_status st = faceattr_session_create(models.anet.data(), models.anet.size(),
                                               models.lnet.empty() ? nullptr : models.lnet.data(),
                                               models.lnet.size(), &params, &session_);
  if (st != FACEATTR_OK) {
    std::string context = "cannot load model '" + models.anet_path + "'";
    if (!models.lnet_path.empty()) context += " with LNet '" + models.lnet_path + "'";
    if (backend != FACEATTR_BACKEND_AUTO)
      context += std::string(" on backend ") + faceattr_backend_name(backend);
    throw_api_error(context, st);
  }
  if (thresholds == FACEATTR_THRESHOLDS_ACCURACY) return;
  // Set after create: a model without the policy is told apart from other failures.
  st = faceattr_session_set_threshold_policy(session_, thresholds);
  if (st != FACEATTR_OK) {
    const std::string why = faceattr_last_error();
    faceattr_session_free(session_);
    session_ = nullptr;
    if (st == FACEATTR_ERR_UNSUPPORTED)
      throw Error(std::string("--thresholds ") + thresholds_name(thresholds) + ": model '" +
                  models.anet_path + "' has no " + thresholds_name(thresholds) +
                  " thresholds (the file has no balanced_thresholds); use --thresholds accuracy");
    throw Error("--thresholds " + std::string(thresholds_name(thresholds)) + ": " + why + " (" +
                faceattr_status_string(st) + ")");
  }
}

Session::~Session() { faceattr_session_free(session_); }

Session::Session(Session&& other) noexcept : session_(other.session_) { other.session_ = nullptr; }

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    faceattr_session_free(session_);
    session_ = other.session_;
    other.session_ = nullptr;
  }
  return *this;
}

int Session::n_attributes() const { return faceattr_session_n_attributes(session_); }

int attribute_index(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<std::string> Session::attribute_names() const {
  std::vector<std::string> names;
  for (int i = 0; i < n_attributes(); ++i) {
    const char* name = faceattr_session_attribute_name(session_, i);
    names.emplace_back(name ? name : "");
  }
  return names;
}

std::vector<float> Session::thresholds() const {
  std::vector<float> t;
  for (int i = 0; i < n_attributes(); ++i) t.push_back(faceattr_session_attribute_threshold(session_, i));
  return t;
}

const char* Session::backend_name() const {
  return faceattr_backend_name(faceattr_session_backend(session_));
}

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace faceattr::cli
