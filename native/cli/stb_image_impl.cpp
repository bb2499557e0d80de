// The stb_image decoder (Debian's libstb-dev header), compiled once, limited to
// the formats the CLI hands it: JPEG and WebP go to libjpeg-turbo and libwebp.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
#define STBI_MAX_DIMENSIONS (1 << 16)
// stb_image calls memcpy with a null buffer and a length of 0 (a PNG whose first IDAT
// chunk is empty: undefined behaviour, found by tests/fuzz); its copies go through
// this wrapper, which skips empty ones. <string.h> first, so that its declaration
// is not renamed.
#include <string.h>
static inline void* faceattr_stbi_memcpy(void* dst, const void* src, size_t n) {
  return n ? memcpy(dst, src, n) : dst;
}
#define memcpy faceattr_stbi_memcpy
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb_image.h>
