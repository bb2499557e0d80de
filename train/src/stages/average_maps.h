// anet-average-maps: each attribute's class-activation map averaged over the
// training faces labelled without that attribute, as the SDK frames and explains
// them, stored in a copy of the ANet .fam as the explain.average_maps metadata
// (docs/model-format.md). The SDK takes an explanation's peak where the face's map
// most exceeds that average: where this face differs most, for the attribute, from
// faces that lack it.
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
