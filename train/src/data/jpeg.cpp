#include "data/jpeg.h"

#include <turbojpeg.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace faceattr::train {
namespace {
struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;
}  // namespace

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& what) {
  TjHandle h(tjInitDecompress());
  if (!h) throw std::runtime_error("tjInitDecompress failed");
  int w = 0, hgt = 0, subsamp = 0, cs = 0;
  if (tjDecompressHeader3(h.get(), data, static_cast<unsigned long>(size), &w, &hgt, &subsamp, &cs) != 0)
    throw std::runtime_error("not a readable JPEG: " + what + " (" + tjGetErrorStr2(h.get()) + ")");
  if (w <= 0 || hgt <= 0 || static_cast<int64_t>(w) * hgt > (int64_t{1} << 26))
    throw std::runtime_error("unreasonable JPEG size in " + what);
  RgbImage img;
  img.width = w;
  img.height = hgt;
  img.pixels.resize(static_cast<size_t>(w) * hgt * 3);
  if (tjDecompress2(h.get(), data, static_cast<unsigned long>(size), img.pixels.data(), w, w * 3, hgt,
                    TJPF_RGB, TJFLAG_ACCURATEDCT) != 0)
    throw std::runtime_error("JPEG decode failed: " + what + " (" + tjGetErrorStr2(h.get()) + ")");
  return img;
}

RgbImage decode_jpeg_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw std::runtime_error("empty file " + path);
  return decode_jpeg(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_jpeg(const RgbImage& img, int quality) {
  TjHandle h(tjInitCompress());
  if (!h) throw std::runtime_error("tjInitCompress failed");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(h.get(), img.pixels.data(), img.width, img.width * 3, img.height, TJPF_RGB, &buf, &size,
                  TJSAMP_420, quality, 0) != 0)
    throw std::runtime_error(std::string("JPEG encode failed: ") + tjGetErrorStr2(h.get()));
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  return out;
}

}  // namespace faceattr::train
