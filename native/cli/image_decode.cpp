#include "image_decode.h"

#include <stb_image.h>
#include <turbojpeg.h>

#include <cmath>

#include "cli_common.h"

namespace faceattr::cli {

namespace {

bool is_jpeg(const std::vector<uint8_t>& b) {
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

void check_size(int64_t w, int64_t h, const std::string& name) {
  if (w <= 0 || h <= 0) throw Error("cannot decode image '" + name + "': empty image");
  if (w * h > kMaxImagePixels) {
    throw Error("image '" + name + "' is too large (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  }
}

}  // namespace

ImageDecoder::ImageDecoder() : tj_(tjInitDecompress()) {
  if (!tj_) throw Error(std::string("cannot initialise libjpeg-turbo: ") + tjGetErrorStr2(nullptr));
}

ImageDecoder::~ImageDecoder() {
  if (tj_) tjDestroy(tj_);
}

RgbImage ImageDecoder::decode(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw Error("cannot decode image '" + name + "': empty file");
  RgbImage img;
  if (is_jpeg(bytes)) {
    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    if (tjDecompressHeader3(tj_, bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &h, &subsamp,
                            &colorspace) != 0) {
      throw Error("cannot decode image '" + name + "': " + tjGetErrorStr2(tj_));
    }
    check_size(w, h, name);
    img.width = w;
    img.height = h;
    img.pixels.resize(static_cast<size_t>(w) * h * 3);
    // Warnings (a truncated file, corrupt data) are errors: a half-grey image
    // would give a confident but meaningless prediction.
    if (tjDecompress2(tj_, bytes.data(), static_cast<unsigned long>(bytes.size()), img.pixels.data(), w,
                      w * 3, h, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
      throw Error("cannot decode image '" + name + "': " + tjGetErrorStr2(tj_));
    }
    return img;
  }
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n)) {
    throw Error("cannot decode image '" + name + "': not a JPEG, PNG, BMP, TGA, GIF or PNM image (" +
                stbi_failure_reason() + ")");
  }
  check_size(w, h, name);
  stbi_uc* data = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 3);
  if (!data) throw Error("cannot decode image '" + name + "': " + stbi_failure_reason());
  img.width = w;
  img.height = h;
  img.pixels.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return img;
}

RgbImage ImageDecoder::load(const std::string& path) { return decode(read_file(path, "image"), path); }

RgbImage synthetic_frame(int width, int height) {
  RgbImage img;
  img.width = width;
  img.height = height;
  img.pixels.resize(static_cast<size_t>(width) * height * 3);
  const float cx = width * 0.5f, cy = height * 0.45f, r = height * 0.3f;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * width + x) * 3];
      const float d = std::hypot((x - cx) / r, (y - cy) / (1.25f * r));
      const bool skin = d < 1.0f;
      p[0] = static_cast<uint8_t>(skin ? 224 - 40 * d : (x * 255) / width);
      p[1] = static_cast<uint8_t>(skin ? 172 - 30 * d : (y * 255) / height);
      p[2] = static_cast<uint8_t>(skin ? 150 - 30 * d : ((x + y) * 7) & 255);
    }
  }
  return img;
}

}  // namespace faceattr::cli
