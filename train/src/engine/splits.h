// The datasets each stage trains on, built from the raw folders.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/options.h"

namespace faceattr::train {

struct AttributeSplits {
  std::vector<std::string> attribute_names;
  Dataset train, val;               // identity-disjoint carve of the official training partition
  std::vector<int> train_identity;  // CelebA identity id per train sample
};

// CelebA training-partition images present on disk; validation = identities with
// id % val_identity_mod == 0 (no person appears in both), official test partition never read.
AttributeSplits make_attribute_splits(const Options& o);

struct IdentitySet {
  Dataset data;
  int n_classes = 0;
  int n_lfw_classes = 0, n_celeba_classes = 0;
};

// LFW people (folder = identity) + CelebA identities with >= 2 images in the
// attribute *training* split (validation people excluded).
IdentitySet make_identity_set(const Options& o, const AttributeSplits& splits);

// LFW 112x112 deep-funneled: the face fills roughly the central 45% of the
// width; this frame puts it at about the scale of the aligned CelebA crops.
FaceFrame lfw_face_frame();

}  // namespace faceattr::train
