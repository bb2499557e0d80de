// libFuzzer target: the CLI's image decoding (native/cli/image_decode.*), the
// entry point `predict`, `eval` and `bench` use: format sniffing, JPEG (with
// CMYK/YCCK and EXIF orientation), WebP (still, animated, EXIF chunk) and
// stb_image's PNG, BMP, TGA, GIF and PNM. Every outcome is an image of the size
// it says or an Error. The decoder's pixel cap is 1 Mpx here (the CLI's is
// kMaxImagePixels) so that small files announcing big images stay fast.
#include "image_decode.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "cli_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static faceattr::cli::ImageDecoder decoder(int64_t{1} << 20);
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const faceattr::cli::RgbImage img = decoder.decode(bytes, "fuzz");
    if (img.width <= 0 || img.height <= 0 ||
        img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
      std::abort();
  } catch (const faceattr::cli::Error&) {
  }
  return 0;
}
