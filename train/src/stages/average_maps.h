// anet-average-maps: each attribute's class-activation map averaged over the
// training faces labelled without that attribute, and over those labelled with it,
// as the SDK frames and explains them, stored in a copy of the ANet .fam as the
// explain.average_maps metadata (docs/model-format.md). The SDK takes an
// explanation's peak where the face's map most exceeds the average without the
// attribute when the face is judged to have it, and where it falls furthest short
// of the average with the attribute when judged not to: where this face differs
// most, for the decision, from faces of the other kind.
#pragma once

#include <string>

#include "engine/options.h"

namespace faceattr::train {

struct AverageMapsArgs {
  std::string model;                          // the ANet .fam
  std::string lnet = "models/lnet-int8.fam";  // the localiser that frames the faces
  std::string out;                            // copy of the model with the metadata ("" = none)
  int limit = 0;                              // training-split images used (0 = all)
};

void run_anet_average_maps(const Options& o, const AverageMapsArgs& a);

}  // namespace faceattr::train
