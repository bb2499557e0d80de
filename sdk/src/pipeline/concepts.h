// The explanation metadata of an ANet (docs/model-format.md), read once at load.
//
// Concept contributions (faceattr_explanation.concepts): the concepts.* metadata. A concept's activation is
// the mean over its units u of (pooled[u] - unit_mean[u]) / unit_scale[u], pooled = ANet's GlobalAvgPool
// output; an attribute's sparse head has terms (concept j, weight w), and a
// term's contribution to that attribute is w * c_j.
#pragma once

#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "model/model.h"

namespace faceattr::pipeline {

class ConceptHeads {
 public:
  // Reads the concepts.* metadata of `m`, whose pooled vector has `units` entries.
  // Without that metadata: nothing loaded, *why empty. Malformed metadata (including a
  // number that is not finite as a float): nothing loaded, *why says what is wrong (the
  // model still serves predictions and maps).
  void load(const model::Model& m, int units, std::string* why);
  bool loaded() const { return !heads_.empty(); }
  // Most terms any attribute's head has.
  int max_terms() const { return max_terms_; }
  // Writes attribute `attribute`'s terms for the pooled vector `pooled` into out,
  // largest |contribution| first; returns their count (0 when none). Allocates nothing.
  int contributions(int attribute, const float* pooled, faceattr_concept_contribution* out) const;

 private:
  struct Term {
    int concept_index;
    float weight;
  };
  std::vector<std::string> names_;
  std::vector<float> unit_mean_, unit_scale_;
  std::vector<std::vector<int>> members_;
  std::vector<std::vector<Term>> heads_;  // per attribute, in the model's order
  int max_terms_ = 0;
};

// Average maps (faceattr_explanation.average_map): the explain.average_maps metadata,
// each attribute's class-activation map averaged over the training faces without
// that attribute, on ANet's
// H x W feature grid.
class AverageMaps {
 public:
  // Reads the metadata of `m` for a grid of h rows and w columns. Without it: nothing
  // loaded, *why empty. Malformed (another grid, an unknown attribute, a map of the
  // wrong length, a number not finite as a float): nothing loaded, *why says why.
  void load(const model::Model& m, int h, int w, std::string* why);
  // Attribute `attribute`'s average map (h * w floats, row-major), or nullptr.
  const float* map(int attribute) const;

 private:
  size_t cells_ = 0;
  std::vector<float> maps_;       // [n_attributes][cells]
  std::vector<uint8_t> present_;  // per attribute
};

}  // namespace faceattr::pipeline
