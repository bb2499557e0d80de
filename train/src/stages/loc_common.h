// What the localiser stages (stages/loc_*.cpp) share: the setup (options with
// data paths, input, network, stride), canvases as tensors, and validation on
// letterboxed photos with the SDK's own decoder. See train/README.md ("Localiser").
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/loc_data.h"
#include "engine/options.h"
#include "model/loc_net.h"
#include "pipeline/lnet_decode.h"

namespace faceattr::train::loc {

constexpr const char* kStage = "loc";

// Canvases as one [N,3,H,W] tensor.
torch::Tensor nchw_of(const std::vector<LocSample>& s);

// ---- Validation: letterboxed frames, the SDK's own decoder ----

struct ValFrame {
  LocSample s;
  float k = 1;   // canvas pixels per image pixel
  int kind = 0;  // 0 MTFL, 1 real scene, 2 face crop (CelebA validation identities), 3 objects
};

std::vector<ValFrame> val_frames(const LocPools& p, const InputSpec& in);

struct KindStats {
  int images = 0, faces = 0, lenient = 0, iou50 = 0, false_faces = 0, images_with_face = 0;
  double recall() const { return faces ? static_cast<double>(lenient) / faces : 0; }
  double recall50() const { return faces ? static_cast<double>(iou50) / faces : 0; }
  double fp_per_image() const { return images ? static_cast<double>(false_faces) / images : 0; }
  double with_face() const { return images ? static_cast<double>(images_with_face) / images : 0; }
};

struct ValResult {
  KindStats k[4];
  double key = 0;
};

// maps: [N, mh, mw, 5] probabilities. The tuning key is fixed in loc_common.cpp.
ValResult score_val(const torch::Tensor& maps, const std::vector<ValFrame>& frames,
                    const pipeline::DecodeParams& dp, int stride);
std::string val_line(const ValResult& r);
// The exported decoder's constants from the options, threshold 0.4.
pipeline::DecodeParams base_params(const Options& o);

// Sigmoid maps [N, mh, mw, 5] of a logit function over frames (batches of 32).
template <typename F>
torch::Tensor frame_maps(const std::vector<ValFrame>& frames, F logits) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < frames.size(); i += 32) {
    std::vector<LocSample> s;
    for (size_t j = i; j < std::min(frames.size(), i + 32); ++j) s.push_back(frames[j].s);
    out.push_back(torch::sigmoid(logits(nchw_of(s))).permute({0, 2, 3, 1}).contiguous());
  }
  return torch::cat(out, 0);
}

// What both stages start from: the options with data paths, the input, the network, its stride.
struct LocSetup {
  Options o;
  InputSpec in;
  LocNet net{nullptr};
  int stride = 0;
};

LocSetup loc_setup(const Options& o0);

}  // namespace faceattr::train::loc
