// Runs an exported .fam in the SDK and compares it with LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
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

}  // namespace faceattr::train
