// Test helper (wasm): decodes a JPEG to RGB with stb_image so the node tests can
// turn CelebA photos into raw pixels (PPM for the native CLI, the same bytes for
// the wasm module, I420 frames for the fake webcam). Which decoder does not
// matter: both sides of every comparison get the decoded pixels, not the JPEG.
#include <emscripten/emscripten.h>

#include <cstdint>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#include <stb/stb_image.h>

extern "C" {
// RGB pixels (free with release()) or null; *w, *h receive the size.
EMSCRIPTEN_KEEPALIVE uint8_t* decode_jpeg(const uint8_t* data, int size, int* w, int* h) {
  int n = 0;
  return stbi_load_from_memory(data, size, w, h, &n, 3);
}
EMSCRIPTEN_KEEPALIVE void release(uint8_t* p) { stbi_image_free(p); }
}
