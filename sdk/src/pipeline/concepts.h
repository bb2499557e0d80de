// Concept contributions of an explanation (faceattr_explanation.concepts): the
// concepts.* metadata of an ANet (docs/model-format.md, "Concepts"), read once
// at load. A concept's activation is the mean over its units u of
// (pooled[u] - unit_mean[u]) / unit_scale[u], pooled = ANet's GlobalAvgPool
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

}  // namespace faceattr::pipeline
