// stb_image for the clip maker, with internal linkage (STB_IMAGE_STATIC) so that a
// test linking both this library and the CLI's decoder gets no duplicate symbols.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image.h>

#include <stdexcept>
#include <string>

#include "clips.h"

namespace faceattr::clips {

Image load_image(const std::string& path) {
  int w = 0, h = 0, n = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &n, 3);
  if (data == nullptr) {
    throw std::runtime_error("cannot decode '" + path +
                             "': " + (stbi_failure_reason() ? stbi_failure_reason() : "?"));
  }
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return img;
}

}  // namespace faceattr::clips
