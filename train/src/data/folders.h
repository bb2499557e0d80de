// LFW identity folders (lfw/<Person>/<Person>_NNNN.jpg) and object photos (objects/*.jpg).
#pragma once

#include <string>
#include <vector>

namespace faceattr::train {

struct LabelledPath {
  std::string path;
  int label = 0;
};

struct LfwSet {
  std::vector<std::string> people;   // label -> folder name, sorted
  std::vector<LabelledPath> images;  // sorted by person then file
};

// Only people with at least `min_images` images are kept.
LfwSet load_lfw(const std::string& root, int min_images);

// Every *.jpg / *.jpeg directly in `root`, sorted (labels are all 0).
std::vector<std::string> list_object_images(const std::string& root);

}  // namespace faceattr::train
