// anet-concepts: the concepts of a shipped ANet's last layer and sparse
// per-attribute heads over them (train/README.md, "anet-concepts").
#pragma once

#include <string>

#include "engine/options.h"

namespace faceattr::train {

struct ConceptsArgs {
  std::string model;       // the ANet .fam to analyse
  std::string out;         // copy of it with the concepts.* metadata ("" = none)
  std::string report;      // report folder ("" = <run-dir>/concepts)
  int limit = 0;           // training-split images used (0 = all)
  int val_limit = 0;       // validation-split images used (0 = all)
  bool units_too = false;  // also score single units as concepts
};

void run_anet_concepts(const Options& o, const ConceptsArgs& a);

}  // namespace faceattr::train
