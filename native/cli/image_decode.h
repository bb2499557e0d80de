// Image files -> 8-bit RGB pixels. JPEG through libjpeg-turbo (SIMD decoder,
// the format of CelebA/LFW, hence of `eval`'s hot loop); PNG, BMP, TGA, GIF
// and PNM through stb_image. The format is sniffed from the bytes, not the
// file name. Every failure (unreadable, truncated, unsupported, too large)
// throws Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace faceattr::cli {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height rows of width * 3 bytes

  faceattr_image view() const {
    return faceattr_image{pixels.data(), width, height, width * 3, FACEATTR_PIXEL_RGB};
  }
};

// Refused before decoding: more pixels than the SDK's default limit.
inline constexpr int64_t kMaxImagePixels = int64_t{64} << 20;

// Holds a libjpeg-turbo handle; one per thread.
class ImageDecoder {
 public:
  ImageDecoder();
  ~ImageDecoder();
  ImageDecoder(const ImageDecoder&) = delete;
  ImageDecoder& operator=(const ImageDecoder&) = delete;

  RgbImage decode(const std::vector<uint8_t>& bytes, const std::string& name);
  RgbImage load(const std::string& path);

 private:
  void* tj_ = nullptr;
};

// A deterministic synthetic RGB frame (gradients plus a face-sized blob).
RgbImage synthetic_frame(int width, int height);

}  // namespace faceattr::cli
