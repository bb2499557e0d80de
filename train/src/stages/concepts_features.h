// anet-concepts' inputs: the shipped ANet run through the SDK (the same
// network, crop and resize as faceattr_session_predict_crop), with the global
// average pool's input read back; and the contact sheets of top-activating crops.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace faceattr::train::concepts {

struct FeatureSet {
  std::string layer;  // name of the feature tensor (the global average pool's input)
  int grid_w = 0, grid_h = 0;
  torch::Tensor pooled;   // [N, U]: the feature map averaged over the grid (dequantised)
  torch::Tensor probs;    // [N, A]: the network's output
  torch::Tensor map_sum;  // [U, grid_h * grid_w]: the feature map summed over the images (row-major cells)
};

// A copy of an ANet .fam for analysis only (never written out): its outputs also
// list the global average pool's input, and its kind is relaxed so that the SDK
// loads two outputs; the network is unchanged. Also returns that tensor's name.
std::vector<uint8_t> with_feature_output(const std::vector<uint8_t>& model, std::string* layer);

// Runs `model` (a with_feature_output() copy) through the SDK on each image
// (centre crop of the model's aspect, resized and normalised as the SDK does),
// `threads` images at a time.
FeatureSet extract_features(const std::vector<uint8_t>& model, const std::vector<std::string>& paths,
                            int threads);

// Network outputs (the first output, all of it) of `model` on the images, as the SDK's
// reference kernels compute them: for checking that two files hold the same network.
std::vector<float> reference_outputs(const std::vector<uint8_t>& model,
                                     const std::vector<std::string>& paths);

// Writes a PNG of the images tiled `cols` per row, each resized to cell_w x cell_h.
void write_contact_sheet(const std::string& png, const std::vector<std::string>& paths, int cols, int cell_w,
                         int cell_h);

}  // namespace faceattr::train::concepts
