// Runs an exported .fam in the SDK and compares it with LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/jpeg.h"

namespace faceattr::train {

struct SdkCheck {
  std::string what;  // e.g. "network/reference", "c-api/auto"
  double max_abs_diff = 0;
  double bound = 0;
  int n = 0;
  bool ok() const { return max_abs_diff <= bound; }
};

// Raw network (faceattr::Network) on normalised NHWC inputs [N,H,W,3] against
// `expected` probabilities [N,A], for every kernel family compiled in.
std::vector<SdkCheck> check_network(const std::vector<uint8_t>& model, const torch::Tensor& nhwc,
                                    const torch::Tensor& expected, double bound);

// Public C API (faceattr_session_predict_crop: the SDK's own centre crop,
// resize and normalisation) on raw images, backend AUTO.
SdkCheck check_c_api(const std::vector<uint8_t>& model, const std::vector<RgbImage>& images,
                     const torch::Tensor& expected, double bound);

// The checks of one export: each is printed ("<tag> SDK check <model> <what>: max |diff| ...")
// and kept for the export report.
class SdkCheckLog {
 public:
  explicit SdkCheckLog(std::string tag) : tag_(std::move(tag)) {}
  void record(const SdkCheck& c, const std::string& model);
  void record(const std::vector<SdkCheck>& checks, const std::string& model);
  // An int8 model: the reference kernels emulate it exactly (within `reference_bound`, the
  // sigmoid's rounding); the other families are held to `bound`.
  void record_int8(std::vector<SdkCheck> checks, const std::string& model, double reference_bound,
                   double bound);
  bool ok() const { return ok_; }
  const nlohmann::json& json() const { return checks_; }

 private:
  std::string tag_;
  nlohmann::json checks_ = nlohmann::json::array();
  bool ok_ = true;
};

}  // namespace faceattr::train
