// libFuzzer target: the CLI's EXIF Orientation reader (libexif) on a fuzzed block,
// with and without the "Exif\0\0" prefix of a JPEG APP1 segment, and the
// orientation applied to a small image. Any block must give 1-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int o = faceattr::cli::exif_orientation(data, size);
  if (o < 1 || o > 8) std::abort();
  std::vector<uint8_t> prefixed = {'E', 'x', 'i', 'f', 0, 0};
  prefixed.insert(prefixed.end(), data, data + size);
  const int o2 = faceattr::cli::exif_orientation(prefixed.data(), prefixed.size());
  if (o2 < 1 || o2 > 8) std::abort();
  faceattr::cli::RgbImage img;
  img.width = 3;
  img.height = 2;
  img.pixels.assign(18, 7);
  faceattr::cli::apply_exif_orientation(img, o2);
  if (img.width * img.height != 6 || img.pixels.size() != 18) std::abort();
  return 0;
}
