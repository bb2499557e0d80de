// JPEG decoding with libturbojpeg. Thread-safe (one decompressor per call).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceattr::train {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // RGB, rows packed (stride = 3 * width)
};

// Throws std::runtime_error naming the file on any failure.
RgbImage decode_jpeg_file(const std::string& path);
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& what);
// Encodes RGB to JPEG (used by the smoke test to build a tiny dataset).
std::vector<uint8_t> encode_jpeg(const RgbImage& img, int quality);

}  // namespace faceattr::train
