// Image files -> 8-bit RGB pixels, upright. JPEG through libjpeg-turbo (SIMD
// decoder, the format of CelebA/LFW, hence of `eval`'s hot loop), including
// CMYK and YCCK JPEGs (converted to RGB); WebP through libwebp (the first frame
// of an animation); PNG, BMP, TGA, GIF and PNM through stb_image. The format is
// sniffed from the bytes, not the file name. An EXIF Orientation (JPEG APP1,
// WebP EXIF chunk; read with libexif) is applied to the pixels, so a portrait
// phone photo comes out upright. Every failure (unreadable, truncated,
// unsupported, too large) throws Error naming the file; an unreadable EXIF
// block is not a failure (the image is taken as stored).
#pragma once

#include <cstddef>
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

// Refused before decoding (from the dimensions in the file's header, before any
// pixel buffer is allocated): more pixels than the SDK's default limit, 64 Mpx.
inline constexpr int64_t kMaxImagePixels = int64_t{64} << 20;

// Holds a libjpeg-turbo handle; one per thread.
class ImageDecoder {
 public:
  // Images of more than `max_pixels` pixels are refused (Error "too large").
  explicit ImageDecoder(int64_t max_pixels = kMaxImagePixels);
  ~ImageDecoder();
  ImageDecoder(const ImageDecoder&) = delete;
  ImageDecoder& operator=(const ImageDecoder&) = delete;

  RgbImage decode(const std::vector<uint8_t>& bytes, const std::string& name);
  RgbImage load(const std::string& path);

 private:
  void* tj_ = nullptr;
  int64_t max_pixels_;
};

// Turns pixels stored with EXIF Orientation `orientation` (1-8) upright:
// 2 mirrors, 3 turns 180 degrees, 4 flips, 5 transposes, 6 turns 90 degrees
// clockwise, 7 transverses, 8 turns 90 degrees anticlockwise; 5-8 swap width
// and height. Any other value leaves the image as it is.
void apply_exif_orientation(RgbImage& img, int orientation);

// The Orientation tag (IFD0) of an EXIF block that starts with "Exif\0\0" (as in
// a JPEG APP1 segment), read by libexif. A block libexif cannot read (corrupt,
// truncated, offsets out of range), a missing tag or a value outside 1-8 all
// give 1: a broken EXIF block is ignored and the image is used as stored.
int exif_orientation(const uint8_t* data, size_t size);

// A deterministic synthetic RGB frame (gradients plus a face-sized blob).
RgbImage synthetic_frame(int width, int height);

}  // namespace faceattr::cli
