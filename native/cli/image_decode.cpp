#include "image_decode.h"

#include <libexif/exif-data.h>
#include <stb_image.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>

#include "cli_common.h"

namespace faceattr::cli {

namespace {

bool is_jpeg(const std::vector<uint8_t>& b) {
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

// "RIFF" <size> "WEBP": the RIFF container of every WebP file (still or animated).
bool is_webp(const std::vector<uint8_t>& b) {
  return b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 && std::memcmp(b.data() + 8, "WEBP", 4) == 0;
}

// PNG: the 8-byte signature, then the IHDR chunk, whose payload starts with the
// big-endian width and height. Read here so that a PNG announcing a huge image is
// refused by its size: stb_image's header read turns it away only as an "unknown
// image type".
bool png_size(const std::vector<uint8_t>& b, int64_t* w, int64_t* h) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() < 24 || std::memcmp(b.data(), kSignature, 8) != 0 ||
      std::memcmp(b.data() + 12, "IHDR", 4) != 0)
    return false;
  auto be32 = [&b](size_t at) {
    return int64_t{b[at]} << 24 | int64_t{b[at + 1]} << 16 | int64_t{b[at + 2]} << 8 | int64_t{b[at + 3]};
  };
  *w = be32(16);
  *h = be32(20);
  return true;
}

// PNM (P5, P6), checked before stb_image sees it: stb_image reads the width, height
// and maximum value into an int with no overflow check, so a number of 10 or more
// digits is signed overflow (undefined behaviour); and it reads 16-bit samples
// (maximum value > 255) in the machine's byte order, not PNM's big-endian, and
// converts them to RGB as if they were 8-bit, reading past its buffer (both found by
// tests/fuzz). The numbers are skipped to the way stb_image skips them (whitespace,
// and '#' comments to the end of the line). Returns why the header is refused, or null.
const char* pnm_header_problem(const std::vector<uint8_t>& b) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return nullptr;
  auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t i = 2;
  long value = 0;
  for (int n = 0; n < 3; ++n) {
    for (;;) {
      while (i < b.size() && space(b[i])) ++i;
      if (i >= b.size() || b[i] != '#') break;
      while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
    }
    size_t digits = 0;
    value = 0;
    for (; i < b.size() && b[i] >= '0' && b[i] <= '9'; ++i, ++digits) {
      if (digits == 9) return "a PNM header number has more than 9 digits";
      value = value * 10 + (b[i] - '0');
    }
  }
  return value > 255 ? "16-bit PNM (maximum value above 255) is not supported" : nullptr;
}

[[noreturn]] void fail(const std::string& name, const std::string& why) {
  throw Error("cannot decode image '" + name + "': " + why);
}

void check_size(int64_t w, int64_t h, int64_t max_pixels, const std::string& name) {
  if (w <= 0 || h <= 0) fail(name, "empty image");
  if (w > max_pixels / h) {  // w * h > max_pixels, without overflow (a PNG's sides reach 2^32 - 1)
    throw Error("image '" + name + "' is too large (" + std::to_string(w) + "x" + std::to_string(h) +
                ", more than " + std::to_string(max_pixels) + " pixels)");
  }
}

// --- JPEG ---------------------------------------------------------------------

// The header segments TurboJPEG does not report: the EXIF block (the first
// APP1 segment that starts with "Exif\0\0") and whether an Adobe APP14 segment
// is present (it decides how CMYK is stored).
struct JpegSegments {
  const uint8_t* exif = nullptr;
  size_t exif_size = 0;
  bool adobe = false;
};

// Walks the marker segments from SOI to the first SOS (FF, marker, a 2-byte
// big-endian length that counts itself). Stops quietly at anything malformed:
// TurboJPEG reports a broken file itself.
JpegSegments scan_jpeg_segments(const std::vector<uint8_t>& b) {
  JpegSegments s;
  size_t pos = 2;
  while (pos + 4 <= b.size() && b[pos] == 0xFF) {
    const uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;                 // SOS, EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // TEM, RSTn: no length
      pos += 2;
      continue;
    }
    const size_t len = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    if (len < 2 || len > b.size() - pos - 2) break;
    const uint8_t* payload = b.data() + pos + 4;
    const size_t n = len - 2;
    if (marker == 0xE1 && !s.exif && n >= 6 && std::memcmp(payload, "Exif\0\0", 6) == 0) {
      s.exif = payload;
      s.exif_size = n;
    } else if (marker == 0xEE && n >= 5 && std::memcmp(payload, "Adobe", 5) == 0) {
      s.adobe = true;
    }
    pos += 2 + len;
  }
  return s;
}

// CMYK to RGB, without colour management. Adobe's convention (an APP14 "Adobe"
// segment: every YCCK file, and the CMYK JPEGs that Photoshop, ImageMagick,
// GIMP and libjpeg write) stores the channels inverted, 255 = no ink, so
// R = C * K / 255 (libjpeg-turbo's own cmyk_to_rgb); a CMYK JPEG without that
// segment stores 0 = no ink, so R = (255 - C) * (255 - K) / 255.
void cmyk_to_rgb(const uint8_t* cmyk, size_t n_pixels, bool inverted, uint8_t* rgb) {
  for (size_t i = 0; i < n_pixels; ++i, cmyk += 4, rgb += 3) {
    unsigned c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
    if (!inverted) {
      c = 255 - c;
      m = 255 - m;
      y = 255 - y;
      k = 255 - k;
    }
    rgb[0] = static_cast<uint8_t>((c * k + 127) / 255);
    rgb[1] = static_cast<uint8_t>((m * k + 127) / 255);
    rgb[2] = static_cast<uint8_t>((y * k + 127) / 255);
  }
}

RgbImage decode_jpeg(tjhandle tj, const std::vector<uint8_t>& bytes, int64_t max_pixels,
                     const std::string& name) {
  const auto size = static_cast<unsigned long>(bytes.size());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, bytes.data(), size, &w, &h, &subsamp, &colorspace) != 0) {
    fail(name, tjGetErrorStr2(tj));
  }
  check_size(w, h, max_pixels, name);
  const JpegSegments segments = scan_jpeg_segments(bytes);
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  // Warnings (a truncated file, corrupt data) are errors: a half-grey image
  // would give a confident but meaningless prediction.
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    // libjpeg converts YCCK to CMYK, neither to RGB.
    std::vector<uint8_t> cmyk(static_cast<size_t>(w) * h * 4);
    if (tjDecompress2(tj, bytes.data(), size, cmyk.data(), w, w * 4, h, TJPF_CMYK, TJFLAG_STOPONWARNING) !=
        0) {
      fail(name, tjGetErrorStr2(tj));
    }
    cmyk_to_rgb(cmyk.data(), static_cast<size_t>(w) * h, segments.adobe || colorspace == TJCS_YCCK,
                img.pixels.data());
  } else if (tjDecompress2(tj, bytes.data(), size, img.pixels.data(), w, w * 3, h, TJPF_RGB,
                           TJFLAG_STOPONWARNING) != 0) {
    fail(name, tjGetErrorStr2(tj));
  }
  apply_exif_orientation(img, exif_orientation(segments.exif, segments.exif_size));
  return img;
}

// --- WebP ---------------------------------------------------------------------

const char* webp_status_text(VP8StatusCode s) {
  switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY:
      return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
      return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
      return "corrupt data";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
      return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
      return "suspended";
    case VP8_STATUS_USER_ABORT:
      return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA:
      return "truncated";
    default:
      return "error";
  }
}

// The WebP EXIF chunk's Orientation. The chunk holds the TIFF data itself
// (some writers keep JPEG's "Exif\0\0" in front); libexif wants that prefix.
int webp_exif_orientation(const WebPData& data) {
  std::unique_ptr<WebPDemuxer, decltype(&WebPDemuxDelete)> demux(WebPDemux(&data), WebPDemuxDelete);
  if (!demux) return 1;
  WebPChunkIterator it;
  if (!WebPDemuxGetChunk(demux.get(), "EXIF", 1, &it)) return 1;
  std::vector<uint8_t> block;
  const uint8_t* chunk = it.chunk.bytes;
  const size_t n = it.chunk.size;
  if (n < 6 || std::memcmp(chunk, "Exif\0\0", 6) != 0) block.assign({'E', 'x', 'i', 'f', 0, 0});
  block.insert(block.end(), chunk, chunk + n);
  WebPDemuxReleaseChunkIterator(&it);
  return exif_orientation(block.data(), block.size());
}

// An animation's first frame, composed on its canvas (alpha dropped).
RgbImage decode_webp_first_frame(const WebPData& data, int64_t max_pixels, const std::string& name) {
  WebPAnimDecoderOptions opts;
  if (!WebPAnimDecoderOptionsInit(&opts)) fail(name, "cannot initialise libwebp");
  opts.color_mode = MODE_RGBA;
  opts.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, decltype(&WebPAnimDecoderDelete)> dec(WebPAnimDecoderNew(&data, &opts),
                                                                         WebPAnimDecoderDelete);
  if (!dec) fail(name, "corrupt or truncated animated WebP");
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(dec.get(), &info)) fail(name, "corrupt animated WebP");
  check_size(info.canvas_width, info.canvas_height, max_pixels, name);
  uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(dec.get(), &rgba, &timestamp) || !rgba) {
    fail(name, "corrupt first frame of an animated WebP");
  }
  RgbImage img;
  img.width = static_cast<int>(info.canvas_width);
  img.height = static_cast<int>(info.canvas_height);
  const size_t n = static_cast<size_t>(img.width) * img.height;
  img.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) std::memcpy(&img.pixels[i * 3], rgba + i * 4, 3);
  return img;
}

RgbImage decode_webp(const std::vector<uint8_t>& bytes, int64_t max_pixels, const std::string& name) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) fail(name, "cannot initialise libwebp");
  VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &config.input);
  if (st != VP8_STATUS_OK) fail(name, std::string("unreadable WebP header (") + webp_status_text(st) + ")");
  check_size(config.input.width, config.input.height, max_pixels, name);  // the canvas, for an animation
  const WebPData data{bytes.data(), bytes.size()};
  RgbImage img;
  if (config.input.has_animation) {
    img = decode_webp_first_frame(data, max_pixels, name);
  } else {
    img.width = config.input.width;
    img.height = config.input.height;
    img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
    config.options.use_threads = 0;
    config.output.colorspace = MODE_RGB;  // alpha, if any, dropped
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = img.pixels.data();
    config.output.u.RGBA.stride = img.width * 3;
    config.output.u.RGBA.size = img.pixels.size();
    st = WebPDecode(bytes.data(), bytes.size(), &config);
    WebPFreeDecBuffer(&config.output);
    if (st != VP8_STATUS_OK) fail(name, std::string("WebP ") + webp_status_text(st));
  }
  apply_exif_orientation(img, webp_exif_orientation(data));
  return img;
}

}  // namespace

int exif_orientation(const uint8_t* data, size_t size) {
  if (!data || size == 0 || size > UINT_MAX) return 1;
  std::unique_ptr<ExifData, decltype(&exif_data_unref)> ed(exif_data_new(), exif_data_unref);
  if (!ed) return 1;
  // The block as recorded: no "fixing" to the specification, which adds tags.
  exif_data_unset_option(ed.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_load_data(ed.get(), data, static_cast<unsigned int>(size));
  const ExifEntry* e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (!e || e->format != EXIF_FORMAT_SHORT || e->components < 1 || !e->data || e->size < 2) return 1;
  const int v = exif_get_short(e->data, exif_data_get_byte_order(ed.get()));
  return v >= 1 && v <= 8 ? v : 1;
}

void apply_exif_orientation(RgbImage& img, int orientation) {
  if (orientation < 2 || orientation > 8) return;
  const ptrdiff_t w = img.width, h = img.height;
  // Output pixel (x, y) is source pixel base + x * dx + y * dy (in pixels).
  struct Walk {
    ptrdiff_t base, dx, dy;
  };
  const ptrdiff_t last_row = (h - 1) * w, last = last_row + w - 1;
  const Walk walks[9] = {
      {0, 1, w},          // unused
      {0, 1, w},          // 1: as stored
      {w - 1, -1, w},     // 2: mirror left-right
      {last, -1, -w},     // 3: turn 180
      {last_row, 1, -w},  // 4: mirror top-bottom
      {0, w, 1},          // 5: transpose
      {last_row, -w, 1},  // 6: turn 90 clockwise
      {last, -w, -1},     // 7: transverse
      {w - 1, w, -1},     // 8: turn 90 anticlockwise
  };
  const Walk& walk = walks[orientation];
  const bool swap = orientation >= 5;
  const int out_w = swap ? img.height : img.width, out_h = swap ? img.width : img.height;
  std::vector<uint8_t> out(img.pixels.size());
  const uint8_t* src = img.pixels.data();
  for (int y = 0; y < out_h; ++y) {
    uint8_t* dst = out.data() + static_cast<size_t>(y) * out_w * 3;
    ptrdiff_t s = walk.base + y * walk.dy;
    for (int x = 0; x < out_w; ++x, s += walk.dx) std::memcpy(dst + x * 3, src + s * 3, 3);
  }
  img.pixels = std::move(out);
  img.width = out_w;
  img.height = out_h;
}

ImageDecoder::ImageDecoder(int64_t max_pixels) : tj_(tjInitDecompress()), max_pixels_(max_pixels) {
  if (!tj_) throw Error(std::string("cannot initialise libjpeg-turbo: ") + tjGetErrorStr2(nullptr));
}

ImageDecoder::~ImageDecoder() {
  if (tj_) tjDestroy(tj_);
}

RgbImage ImageDecoder::decode(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "empty file");
  if (is_jpeg(bytes)) return decode_jpeg(tj_, bytes, max_pixels_, name);
  if (is_webp(bytes)) return decode_webp(bytes, max_pixels_, name);
  if (bytes.size() > INT_MAX) fail(name, "file too large");
  int64_t png_w = 0, png_h = 0;
  if (png_size(bytes, &png_w, &png_h)) check_size(png_w, png_h, max_pixels_, name);
  if (const char* problem = pnm_header_problem(bytes)) fail(name, problem);
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n)) {
    fail(name,
         std::string("not a JPEG, WebP, PNG, BMP, TGA, GIF or PNM image (") + stbi_failure_reason() + ")");
  }
  check_size(w, h, max_pixels_, name);
  stbi_uc* data = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 3);
  if (!data) fail(name, stbi_failure_reason());
  RgbImage img;
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
