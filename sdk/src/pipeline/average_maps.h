// Average maps of an explanation (faceattr_explanation.average_map): the
// explain.average_maps metadata of an ANet (docs/model-format.md, "Average maps"),
// read once at load: each attribute's class-activation map averaged over the
// training faces without that attribute (`maps`) and, optionally, over those with
// it (`maps_with`), on ANet's H x W feature grid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace faceattr::pipeline {

class AverageMaps {
 public:
  // Reads the metadata of `m` for a grid of h rows and w columns. Without it: nothing
  // loaded, *why empty. Malformed (another grid, an unknown attribute, a map of the
  // wrong length, a number not finite as a float): nothing loaded, *why says why (the
  // model still serves predictions and maps).
  void load(const model::Model& m, int h, int w, std::string* why);
  // Attribute `attribute`'s average map over faces without it (with = false) or with
  // it (with = true): h * w floats, row-major, or nullptr.
  const float* map(int attribute, bool with = false) const;

 private:
  size_t cells_ = 0;
  std::vector<float> maps_[2];       // [without, with][n_attributes][cells]
  std::vector<uint8_t> present_[2];  // per attribute
};

}  // namespace faceattr::pipeline
