// A list of training samples (image path, where the face sits, targets) and a
// thread-safe cache of decoded images.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/jpeg.h"

namespace faceattr::train {

// Where the face sits in an image, as fractions of the image size. The default
// (`centre = true`) is the SDK's own framing: the largest box of the model
// aspect centred in the image — what inference does with a face crop.
struct FaceFrame {
  bool centre = true;
  float cx = 0.5f, cy = 0.5f, w = 1.0f;  // used when !centre: centre and width, fractions of image w/h
};

struct Sample {
  std::string path;
  FaceFrame frame;
  int label = -1;            // identity class (pre-training) or -1
  std::vector<float> attrs;  // 0/1 per attribute, or empty
};

class ImageCache {
 public:
  explicit ImageCache(size_t n, bool enabled) : slots_(n), enabled_(enabled) {}
  // Decodes on first use (from any thread); later calls return the cached image.
  std::shared_ptr<const RgbImage> get(size_t i, const std::string& path);

 private:
  std::vector<std::shared_ptr<const RgbImage>> slots_;
  bool enabled_;
};

struct Dataset {
  std::vector<Sample> samples;
  std::shared_ptr<ImageCache> cache;
  void init_cache(bool enabled) { cache = std::make_shared<ImageCache>(samples.size(), enabled); }
};

}  // namespace faceattr::train
