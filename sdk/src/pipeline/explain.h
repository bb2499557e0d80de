// Class-activation maps of ANet's attributes (faceattr_session_explain).
//
// ANet ends feature map F [1, H, W, C] -> GlobalAvgPool -> G [C] -> FullyConnected
// (no activation) [-> Dequantize] [-> Sigmoid]. plan() checks that tail and
// prepares the FC weights in real values; run() runs the network in three
// segments so that F and G (before later nodes reuse their arena bytes) and the
// FC output are copied into the face's slot; explain() turns a slot into maps.
// Everything is sized in plan(); run() and explain() allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "model/model.h"
#include "pipeline/average_maps.h"
#include "pipeline/concepts.h"
#include "util/status.h"

namespace faceattr::pipeline {

class Explainer {
 public:
  // Checks the model's tail and sizes `slots` faces. A model without the tail is
  // not an error: supported() is false and explain() says why.
  void plan(const model::Model& m, int slots);
  bool supported() const { return supported_; }
  // Why the model's concepts.* metadata was not used ("" when it was, or has none).
  const std::string& concepts_warning() const { return concepts_warning_; }
  // Why the model's explain.average_maps metadata was not used ("" when it was, or has none).
  const std::string& average_maps_warning() const { return average_maps_warning_; }

  // Runs `net` (its input filled) and keeps what slot `slot` needs to explain it;
  // with `slot` < 0, or an unsupported model, a plain run.
  Status run(Network& net, int slot, const image::CropBox& crop, faceattr_abort_callback abort_cb,
             void* abort_user_data);

  // The last predict's face count (set by the pipeline); -1: none yet.
  void set_faces(int n) { n_faces_ = n; }

  // Length of the pooled feature vector G (0 for an unsupported model), and slot `slot`'s
  // G in real values into out[0 .. feature_size()) (the tracker's appearance feature).
  int feature_size() const { return supported_ ? c_ : 0; }
  void pooled(int slot, float* out) const;

  // Fills out[k] for attributes[k] of face `face`; `probs` and `present` are the face's
  // probabilities and decisions (faceattr_face).
  Status explain(int face, const int32_t* attributes, int n, const float* probs, const uint8_t* present,
                 faceattr_explanation* out);

 private:
  void dequantise_features(int slot);
  void fill(int slot, int attribute, const float* probs, const uint8_t* present, faceattr_explanation* e);

  bool supported_ = false;
  std::string reason_;
  int n_faces_ = -1;
  int slots_ = 0;

  size_t gap_node_ = 0, fc_node_ = 0;
  int feat_t_ = -1, gap_t_ = -1, fc_t_ = -1;
  bool int8_ = false, out_int8_ = false;
  int h_ = 0, w_ = 0, c_ = 0, n_attr_ = 0;
  float feat_scale_ = 1, gap_scale_ = 1, out_scale_ = 1;
  int32_t feat_zp_ = 0, gap_zp_ = 0, out_zp_ = 0;
  // Receptive-field centre of cell j: input pixel index rf_a * j + rf_b (x and y).
  float rf_ax_ = 1, rf_bx_ = 0, rf_ay_ = 1, rf_by_ = 0;
  float input_w_ = 1, input_h_ = 1;

  std::vector<float> weights_;  // [n_attr][C], real values
  std::vector<float> bias_;     // [n_attr]

  // Per slot: F (H*W*C elements, raw bytes of its dtype), G (C, raw), FC output (n_attr, raw),
  // the crop, and the maps [n_attr][H*W].
  size_t feat_bytes_ = 0, gap_bytes_ = 0, fc_bytes_ = 0;
  std::vector<uint8_t> feat_, gap_, fc_;
  std::vector<image::CropBox> crops_;
  std::vector<float> maps_;
  std::vector<float> scratch_;   // F + r, real values, H*W*C
  std::vector<float> relative_;  // contrast * (map - average map) of the attribute being filled, H*W

  // The model's average maps (the peak is taken on the map minus its attribute's).
  AverageMaps average_maps_;
  std::string average_maps_warning_;

  // Concept contributions: per slot and attribute, max_terms() entries.
  ConceptHeads concepts_;
  std::string concepts_warning_;
  std::vector<faceattr_concept_contribution> contributions_;
  std::vector<float> pooled_;  // G of the face being explained, real values
};

}  // namespace faceattr::pipeline
