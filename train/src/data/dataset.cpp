#include "data/dataset.h"

#include <atomic>

namespace faceattr::train {

std::shared_ptr<const RgbImage> ImageCache::get(size_t i, const std::string& path) {
  if (enabled_) {
    auto cached = std::atomic_load(&slots_.at(i));
    if (cached) return cached;
  }
  auto img = std::make_shared<const RgbImage>(decode_jpeg_file(path));
  if (enabled_) std::atomic_store(&slots_[i], img);
  return img;
}

}  // namespace faceattr::train
