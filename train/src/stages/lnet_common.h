// What the LNet stages (stages/lnet_*.cpp) share: the input, scene tensors, the
// validation scenes and their protocol/large-face split, the localisation
// metrics of the SDK's decoder and the tuning of its constants (one pass,
// coarse pass, image pyramid). See train/README.md ("LNet").
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/scenes.h"
#include "engine/options.h"
#include "image/preprocess.h"
#include "model/lnet.h"
#include "pipeline/lnet_decode.h"

namespace faceattr::train::lnet {

InputSpec lnet_input(const Options& o);
int n_tags(const ScenePools& p);
// Scenes as one normalised [N,3,H,W] tensor.
torch::Tensor scenes_nchw(const std::vector<Scene>& sc);
// The weak (lnet) or box-supervised (lnet-box) training stage's folder.
std::string train_stage(const Options& o);

// The coarse pass's input: the scenes at half size, letterboxed at the top-left (zeros
// elsewhere), as the SDK's letterbox with shrink 2 (area average = 2x2 mean).
torch::Tensor half_size_input(const torch::Tensor& x);
// Pyramid level input as the SDK makes it: each scene as an 8-bit RGB frame (its pixels
// de-normalised and rounded, as a camera frame would be), letterboxed by the SDK's own
// image::letterbox_normalize at 1 / shrink of the input (zeros elsewhere). Level 0 (shrink 1)
// is the scenes as composed.
// geo (optional): the SDK's letterbox geometry of the level (all scenes are input-sized).
torch::Tensor level_input(const std::vector<Scene>& scenes, const InputSpec& in, double shrink,
                          image::Letterbox* geo = nullptr);
// Face response maps [N, mh, mw] of the module for scenes (batches of 64).
torch::Tensor module_maps(LNet& net, const torch::Tensor& x, const std::string& which);

// n protocol scenes, n / 2 face-free ones, then the large-face scenes (Options::lnet_val_large).
std::vector<Scene> val_scenes(const ScenePools& p, const InputSpec& in, const Options& o, int n);
// Index subsets of val_scenes(n): the protocol scenes (incl. the face-free ones) and the large faces.
void split_val(int n, const std::vector<int>& which, std::vector<int>& protocol, std::vector<int>& large);

// Scale selectivity of the response at each pyramid level (printed; see lnet_common.cpp).
void pyramid_diagnostic(const std::vector<torch::Tensor>& level_maps, double factor,
                        const std::vector<Scene>& scenes, const std::vector<int>& which, float cell);

// ---- Localisation metrics with the SDK's decoder (lnet_decoder.cpp) ----

struct LocResult {
  double found = 0;            // faces found at IoU >= 0.5 / faces
  double free_with_face = 0;   // face-free scenes with >= 1 box / face-free scenes
  double extra_per_scene = 0;  // unmatched boxes per scene with faces
  double mean_iou = 0;         // over found faces
  double hit = 0;              // faces with a box centre inside them (localised, whatever the box size)
  int faces = 0, free_scenes = 0, scenes = 0;
};

// maps: [N, mh, mw] probabilities (CPU float); coarse: the same for half_size_input (or an
// undefined tensor: one pass). `which`: scene indices to use.
LocResult localise(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& which,
                   const pipeline::DecodeParams& p, float cell_w, float cell_h,
                   const torch::Tensor& coarse = {});

// Faces found, minus 2x the share of face-free scenes showing a face beyond the
// 2% target, minus a little per extra box.
double tuning_key(const LocResult& r);

struct Tuned {
  pipeline::DecodeParams params;
  LocResult tune, report;
};

// Grid over threshold x region fraction x box scale (around the fitted median)
// on the `tune` scenes, maximising tuning_key; scored again on the `report` scenes.
// With coarse_maps: the coarse pass too (sizes from region areas, or with size_model the
// size model fitted on the `fit` scenes; default: `tune`).
Tuned tune_decoder(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& tune,
                   const std::vector<int>& report, float cell_w, float cell_h, bool coarse,
                   const torch::Tensor& coarse_maps = {}, const std::vector<int>& fit = {},
                   bool size_model = false);

// Image-pyramid maps: level l = the scenes at factor^-l (level_input), its input pixel (x, y)
// = level 0's (x * rx[l], y * ry[l]).
struct Levels {
  std::vector<torch::Tensor> maps;  // [N, mh, mw] each, contiguous
  std::vector<float> rx, ry;
};

Levels make_levels(const std::vector<Scene>& scenes, const InputSpec& in, int levels, double factor,
                   const std::function<torch::Tensor(const torch::Tensor&)>& maps_of);
// localise() for the pyramid decoder.
LocResult localise_levels(const Levels& lv, const std::vector<Scene>& scenes, const std::vector<int>& which,
                          const pipeline::DecodeParams& p, float cell_w, float cell_h);
// Pyramid decoder constants on the `tune` scenes: threshold x centroid floor x side (the median
// of true side / decoded side on the hit faces, times a few factors); scored on `report`.
Tuned tune_pyramid(const Levels& lv, double factor, const std::vector<Scene>& scenes,
                   const std::vector<int>& tune, const std::vector<int>& report, float cell_w, float cell_h);

nlohmann::json loc_json(const LocResult& r);
nlohmann::json params_json(const pipeline::DecodeParams& p);

}  // namespace faceattr::train::lnet
