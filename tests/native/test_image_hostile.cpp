// The CLI's image decoder (native/cli/image_decode.*) on hostile and odd files:
// headers announcing 100,000 x 100,000 pixels (refused by their size before a
// pixel buffer exists), every PNG colour type and bit depth checked against the
// RGB it stores, and PNG, JPEG, BMP and WebP files cut at every length.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "cli_common.h"
#include "image_decode.h"
#include "native/image_fixtures.h"

using faceattr::cli::Error;
using faceattr::cli::ImageDecoder;
using faceattr::cli::RgbImage;
namespace ft = faceattr::test;

namespace {

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

void png_chunk(Bytes& out, const char* type, const Bytes& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start));
  put_be32(out, static_cast<uint32_t>(crc));
}

struct PngSpec {
  uint32_t w = 0, h = 0;
  uint8_t depth = 8, colour_type = 2;
  Bytes plte, trns;
  bool empty_idat_first = false;  // an IDAT chunk of length 0 before the data
};

// A PNG of `rows` (each without its filter byte: filter 0 is added), one IDAT.
Bytes png(const PngSpec& s, const std::vector<Bytes>& rows) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, s.w);
  put_be32(ihdr, s.h);
  ihdr.insert(ihdr.end(), {s.depth, s.colour_type, 0, 0, 0});
  png_chunk(out, "IHDR", ihdr);
  if (!s.plte.empty()) png_chunk(out, "PLTE", s.plte);
  if (!s.trns.empty()) png_chunk(out, "tRNS", s.trns);
  Bytes raw;
  for (const Bytes& r : rows) {
    raw.push_back(0);
    raw.insert(raw.end(), r.begin(), r.end());
  }
  uLongf zn = compressBound(static_cast<uLong>(raw.size()));
  Bytes z(zn);
  REQUIRE(compress(z.data(), &zn, raw.data(), static_cast<uLong>(raw.size())) == Z_OK);
  z.resize(zn);
  if (s.empty_idat_first) png_chunk(out, "IDAT", {});
  png_chunk(out, "IDAT", z);
  png_chunk(out, "IEND", {});
  return out;
}

// A bottom-up 24-bit BMP of w x h RGB pixels.
Bytes bmp24(const RgbImage& img) {
  const uint32_t row = (static_cast<uint32_t>(img.width) * 3 + 3) & ~3u;
  const uint32_t data = row * static_cast<uint32_t>(img.height);
  Bytes out;
  auto le = [&out](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  out.insert(out.end(), {'B', 'M'});
  le(54 + data, 4), le(0, 4), le(54, 4);
  le(40, 4), le(static_cast<uint32_t>(img.width), 4), le(static_cast<uint32_t>(img.height), 4);
  le(1, 2), le(24, 2), le(0, 4), le(data, 4), le(2835, 4), le(2835, 4), le(0, 4), le(0, 4);
  for (int y = img.height - 1; y >= 0; --y) {
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
      out.insert(out.end(), {p[2], p[1], p[0]});
    }
    for (uint32_t i = static_cast<uint32_t>(img.width) * 3; i < row; ++i) out.push_back(0);
  }
  return out;
}

RgbImage pattern(int w, int h) {
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 37 + 11);
  return img;
}

std::string error_of(ImageDecoder& dec, const Bytes& bytes, const std::string& name) {
  try {
    dec.decode(bytes, name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void require_rgb(const RgbImage& img, int w, int h, const Bytes& rgb) {
  REQUIRE(img.width == w);
  REQUIRE(img.height == h);
  CHECK(img.pixels == rgb);
}

}  // namespace

TEST_CASE("image decode: headers announcing 100,000 x 100,000 pixels are refused by size",
          "[image_decode][hostile]") {
  ImageDecoder dec;
  SECTION("PNG") {
    PngSpec s;
    s.w = s.h = 100000;
    const std::string e = error_of(dec, png(s, {Bytes(9, 0)}), "huge.png");
    INFO(e);
    CHECK(e.find("'huge.png' is too large (100000x100000, more than 67108864 pixels)") != std::string::npos);
  }
  SECTION("JPEG: 65500 x 65500, the largest libjpeg reads, is over the cap") {
    // A JPEG's SOF holds 16-bit sizes: 100,000 cannot be written. Patch a small JPEG's.
    RgbImage src = pattern(8, 8);
    Bytes jpeg = ft::jpeg_from_pixels(src.pixels, 8, 8, TJPF_RGB);
    size_t sof = 2;
    while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
    REQUIRE(sof + 9 < jpeg.size());
    for (uint16_t side : {uint16_t{65500}, uint16_t{65535}}) {
      Bytes b = jpeg;
      b[sof + 5] = b[sof + 7] = static_cast<uint8_t>(side >> 8);
      b[sof + 6] = b[sof + 8] = static_cast<uint8_t>(side & 0xFF);
      const std::string e = error_of(dec, b, "huge.jpg");
      INFO(e);
      CHECK(e.find("'huge.jpg'") != std::string::npos);
      if (side == 65500)
        CHECK(e.find("too large (65500x65500,") != std::string::npos);
      else
        CHECK(e.find("65500") != std::string::npos);  // libjpeg's own limit, from its header read
    }
  }
  SECTION("BMP") {
    Bytes b = bmp24(pattern(2, 2));
    for (int i = 0; i < 4; ++i) b[18 + i] = b[22 + i] = static_cast<uint8_t>(100000u >> (8 * i));
    const std::string e = error_of(dec, b, "huge.bmp");
    INFO(e);
    CHECK(e.find("'huge.bmp' is too large (100000x100000,") != std::string::npos);
  }
  SECTION("WebP: an animation canvas of 100,000 x 100,000, and of 60,000 x 60,000") {
    // VP8X with the animation flag and an empty ANIM chunk: the header that sizes the canvas.
    auto canvas = [](uint32_t side) {
      Bytes b = {'R', 'I', 'F', 'F', 0,  0, 0, 0, 'W',  'E', 'B', 'P',
                 'V', 'P', '8', 'X', 10, 0, 0, 0, 0x02, 0,   0,   0};
      for (int k = 0; k < 2; ++k)
        for (int i = 0; i < 3; ++i) b.push_back(static_cast<uint8_t>((side - 1) >> (8 * i)));
      b.insert(b.end(), {'A', 'N', 'I', 'M', 6, 0, 0, 0, 0, 0, 0, 0, 0, 0});
      const uint32_t riff = static_cast<uint32_t>(b.size() - 8);
      for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(riff >> (8 * i));
      return b;
    };
    // libwebp itself refuses a canvas of 2^32 pixels or more, as a corrupt header.
    const std::string e1 = error_of(dec, canvas(100000), "huge.webp");
    INFO(e1);
    CHECK(e1.find("'huge.webp'") != std::string::npos);
    const std::string e2 = error_of(dec, canvas(60000), "big.webp");
    INFO(e2);
    CHECK(e2.find("'big.webp' is too large (60000x60000,") != std::string::npos);
  }
  SECTION("a smaller cap is honoured (ImageDecoder's argument)") {
    ImageDecoder small(100);
    const RgbImage src = pattern(11, 10);
    const std::string e = error_of(small, bmp24(src), "110.bmp");
    CHECK(e.find("'110.bmp' is too large (11x10, more than 100 pixels)") != std::string::npos);
    CHECK(small.decode(bmp24(pattern(10, 10)), "100.bmp").width == 10);
  }
}

TEST_CASE("image decode: PNG colour types and depths give the RGB they store", "[image_decode][png]") {
  ImageDecoder dec;
  SECTION("8-bit RGB and RGBA (alpha dropped, not composited)") {
    const Bytes rgb = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
    PngSpec s;
    s.w = 2, s.h = 2;
    require_rgb(
        dec.decode(png(s, {Bytes(rgb.begin(), rgb.begin() + 6), Bytes(rgb.begin() + 6, rgb.end())}), "a.png"),
        2, 2, rgb);
    s.colour_type = 6;
    const Bytes rgba = {10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 128, 100, 110, 120, 1};
    require_rgb(
        dec.decode(png(s, {Bytes(rgba.begin(), rgba.begin() + 8), Bytes(rgba.begin() + 8, rgba.end())}),
                   "rgba.png"),
        2, 2, rgb);
  }
  SECTION("16-bit RGB and grey: the high byte of values that are exact 8-bit levels") {
    PngSpec s;
    s.w = 3, s.h = 1, s.depth = 16;
    Bytes row;
    const Bytes levels = {0, 1, 127, 128, 200, 255, 33, 66, 99};
    for (uint8_t v : levels) row.insert(row.end(), {v, v});  // v * 257
    require_rgb(dec.decode(png(s, {row}), "rgb16.png"), 3, 1, levels);
    s.colour_type = 0;
    require_rgb(dec.decode(png(s, {Bytes(row.begin(), row.begin() + 6)}), "grey16.png"), 3, 1,
                {0, 0, 0, 1, 1, 1, 127, 127, 127});
  }
  SECTION("grey 8, 4, 2 and 1 bit (scaled to 0-255)") {
    PngSpec s;
    s.w = 4, s.h = 1, s.colour_type = 0;
    require_rgb(dec.decode(png(s, {{0, 85, 170, 255}}), "g8.png"), 4, 1,
                {0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255});
    s.depth = 4;
    require_rgb(dec.decode(png(s, {{0x05, 0xAF}}), "g4.png"), 4, 1,
                {0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255});
    s.depth = 2;
    require_rgb(dec.decode(png(s, {{0x1B}}), "g2.png"), 4, 1,
                {0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255});
    s.depth = 1;
    require_rgb(dec.decode(png(s, {{0x50}}), "g1.png"), 4, 1,
                {0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255});
  }
  SECTION("grey + alpha, 8 and 16 bit (alpha dropped)") {
    PngSpec s;
    s.w = 2, s.h = 1, s.colour_type = 4;
    require_rgb(dec.decode(png(s, {{90, 0, 200, 255}}), "ga8.png"), 2, 1, {90, 90, 90, 200, 200, 200});
    s.depth = 16;
    require_rgb(dec.decode(png(s, {{90, 90, 0, 0, 200, 200, 255, 255}}), "ga16.png"), 2, 1,
                {90, 90, 90, 200, 200, 200});
  }
  SECTION("palette 8 and 4 bit, with and without tRNS (colours from PLTE, alpha dropped)") {
    PngSpec s;
    s.w = 3, s.h = 1, s.colour_type = 3;
    s.plte = {255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56};
    const Bytes want = {12, 34, 56, 255, 0, 0, 0, 0, 255};
    require_rgb(dec.decode(png(s, {{3, 0, 2}}), "p8.png"), 3, 1, want);
    s.trns = {0, 128};
    require_rgb(dec.decode(png(s, {{3, 0, 2}}), "p8trns.png"), 3, 1, want);
    s.depth = 4;
    require_rgb(dec.decode(png(s, {{0x30, 0x20}}), "p4trns.png"), 3, 1, want);
    s.trns.clear();
    require_rgb(dec.decode(png(s, {{0x30, 0x20}}), "p4.png"), 3, 1, want);
  }
  SECTION("a palette index past PLTE is an Error naming the file") {
    PngSpec s;
    s.w = 1, s.h = 1, s.colour_type = 3;
    s.plte = {1, 2, 3};
    const std::string e = error_of(dec, png(s, {{5}}), "badindex.png");
    // stb_image reads such an index as black or refuses; either way no read past the palette.
    if (!e.empty()) CHECK(e.find("'badindex.png'") != std::string::npos);
  }
}

TEST_CASE("image decode: PNG, JPEG, BMP and WebP cut at every length: an Error naming the file",
          "[image_decode][truncated]") {
  ImageDecoder dec;
  const RgbImage src = pattern(13, 7);
  std::vector<Bytes> rows;
  for (int y = 0; y < src.height; ++y)
    rows.emplace_back(src.pixels.begin() + y * 39, src.pixels.begin() + (y + 1) * 39);
  PngSpec s;
  s.w = 13, s.h = 7;
  struct File {
    const char* name;
    Bytes bytes;
  };
  const File files[] = {
      {"cut.png", png(s, rows)},
      {"cut.jpg", ft::jpeg_from_pixels(src.pixels, src.width, src.height, TJPF_RGB)},
      {"cut.bmp", bmp24(src)},
      {"cut.webp", ft::webp_lossless(src.pixels, src.width, src.height)},
  };
  for (const File& f : files) {
    INFO(f.name << ", " << f.bytes.size() << " bytes");
    const RgbImage whole = dec.decode(f.bytes, f.name);
    REQUIRE(whole.width == src.width);
    REQUIRE(whole.height == src.height);
    int decoded = 0;  // lengths that decode (reported)
    for (size_t keep = 0; keep < f.bytes.size(); ++keep) {
      INFO("cut to " << keep << " bytes");
      const Bytes cut(f.bytes.begin(), f.bytes.begin() + keep);
      try {
        const RgbImage img = dec.decode(cut, f.name);
        // A cut file may decode only when all its pixels are there (the end of a PNG's
        // or JPEG's trailer), except BMP: stb_image reads the missing bytes of its
        // pixel rows as 0 and does not report it.
        ++decoded;
        CHECK(img.width == src.width);
        CHECK(img.height == src.height);
        if (std::strcmp(f.name, "cut.bmp") != 0) CHECK(img.pixels == whole.pixels);
      } catch (const Error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("'" + std::string(f.name) + "'") != std::string::npos);
      }
    }
    WARN(f.name << ": " << decoded << " of " << f.bytes.size() << " cut lengths decode");
  }
}

TEST_CASE("image decode: a PNM header number of 10+ digits is an Error (fuzz regression)",
          "[image_decode][fuzz]") {
  // tests/fuzz/regressions/image_decode/pnm-maxval-overflow.ppm: stb_image read the
  // 75-digit maximum value into an int (signed overflow under UBSan).
  ImageDecoder dec;
  const std::string digits(75, '5');
  for (const std::string& header :
       {"P6\n2 2\n" + digits + "\n", "P5 " + digits + " 2 255\n", "P6\n# c\n2 #x\n" + digits + " 255\n"}) {
    Bytes b(header.begin(), header.end());
    b.resize(b.size() + 12, 0x7F);
    const std::string e = error_of(dec, b, "big.ppm");
    INFO(header << " -> " << e);
    CHECK(e.find("'big.ppm'") != std::string::npos);
    CHECK(e.find("more than 9 digits") != std::string::npos);
  }
  // 9 digits are read (and the size refused or the image decoded as usual).
  const std::string ok = "P6\n2 2\n000000255\n";
  Bytes b(ok.begin(), ok.end());
  b.resize(b.size() + 12, 0x7F);
  const RgbImage img = dec.decode(b, "ok.ppm");
  CHECK(img.width == 2);
  CHECK(img.pixels == Bytes(12, 0x7F));
}

TEST_CASE("image decode: a PNG of 4294967295 x 4294967295 is too large (fuzz regression)",
          "[image_decode][fuzz]") {
  // tests/fuzz/regressions/image_decode/png-size-overflow.png: the size check multiplied
  // the two sides in int64 (signed overflow under UBSan).
  ImageDecoder dec;
  PngSpec s;
  s.w = s.h = 0xFFFFFFFFu;
  const std::string e = error_of(dec, png(s, {Bytes(4, 0)}), "max.png");
  INFO(e);
  CHECK(e.find("'max.png' is too large (4294967295x4294967295,") != std::string::npos);
  s.w = 0xFFFFFFFFu;
  s.h = 1;
  CHECK(error_of(dec, png(s, {Bytes(4, 0)}), "wide.png").find("too large (4294967295x1,") !=
        std::string::npos);
}

TEST_CASE("image decode: a PNG whose first IDAT chunk is empty decodes (fuzz regression)",
          "[image_decode][fuzz]") {
  // tests/fuzz/regressions/image_decode/png-empty-idat.png: stb_image copied the empty
  // chunk with memcpy(NULL, ..., 0) (undefined behaviour under UBSan).
  ImageDecoder dec;
  PngSpec s;
  s.w = 2, s.h = 1, s.empty_idat_first = true;
  require_rgb(dec.decode(png(s, {{1, 2, 3, 4, 5, 6}}), "empty-idat.png"), 2, 1, {1, 2, 3, 4, 5, 6});
}

TEST_CASE("image decode: 16-bit PNM is refused (fuzz regression)", "[image_decode][fuzz]") {
  // tests/fuzz/regressions/image_decode/pnm-16bit.pgm: stb_image converted a 16-bit
  // PNM to RGB as 8-bit data, then read that buffer as 16-bit (heap overflow); it also
  // reads PNM's big-endian samples in the machine's byte order.
  ImageDecoder dec;
  for (const std::string& header : {std::string("P5\n2 2\n525\n"), std::string("P6 2 2 65535 ")}) {
    Bytes b(header.begin(), header.end());
    b.resize(b.size() + 24, 0x11);
    const std::string e = error_of(dec, b, "deep.pnm");
    INFO(header << " -> " << e);
    CHECK(e.find("'deep.pnm'") != std::string::npos);
    CHECK(e.find("16-bit PNM") != std::string::npos);
  }
  // 8-bit grey PNM: grey copied to R, G and B.
  const std::string pgm = "P5\n2 1\n255\n";
  Bytes b(pgm.begin(), pgm.end());
  b.insert(b.end(), {9, 200});
  require_rgb(dec.decode(b, "grey.pgm"), 2, 1, {9, 9, 9, 200, 200, 200});
}
