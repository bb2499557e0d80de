// The CLI's image decoder (native/cli/image_decode.*) on inputs encoded here:
// JPEGs with an EXIF Orientation (all 8 values, both byte orders), checked
// against the EXIF definition of each value (where the stored first row and
// column are seen); CMYK and YCCK JPEGs, Adobe-inverted or not, checked against
// the inks they were written with; WebP still (exact), with an EXIF chunk, and
// animated (first frame); broken EXIF blocks (ignored) and broken files (Error
// naming the file).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
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

// 40x24, 8x8 blocks of 15 distinct colours: no two of the 8 orientations
// agree, and flat blocks survive JPEG nearly unchanged.
RgbImage blocks_image(int w = 40, int h = 24) {
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int b = (y / 8) * ((w + 7) / 8) + x / 8;
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(20 + (b * 53) % 220);
      p[1] = static_cast<uint8_t>(20 + (b * 97 + 60) % 220);
      p[2] = static_cast<uint8_t>(20 + (b * 31 + 150) % 220);
    }
  }
  return img;
}

// EXIF 2.3, Orientation: the side where the stored image's first row is seen
// and the side where its first column is seen ('t'op, 'b'ottom, 'l'eft, 'r'ight).
const char kRow0[9] = {0, 't', 't', 'b', 'b', 'l', 'r', 'r', 'l'};
const char kCol0[9] = {0, 'l', 'r', 'r', 'l', 't', 't', 'b', 'b'};

RgbImage upright(const RgbImage& s, int orientation) {
  const char row0 = kRow0[orientation], col0 = kCol0[orientation];
  const bool rows_vertical = row0 == 'l' || row0 == 'r';  // stored rows become columns
  RgbImage out;
  out.width = rows_vertical ? s.height : s.width;
  out.height = rows_vertical ? s.width : s.height;
  out.pixels.resize(s.pixels.size());
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      int ox, oy;
      if (rows_vertical) {
        ox = row0 == 'l' ? y : s.height - 1 - y;
        oy = col0 == 't' ? x : s.width - 1 - x;
      } else {
        ox = col0 == 'l' ? x : s.width - 1 - x;
        oy = row0 == 't' ? y : s.height - 1 - y;
      }
      for (int c = 0; c < 3; ++c) {
        out.pixels[(static_cast<size_t>(oy) * out.width + ox) * 3 + c] =
            s.pixels[(static_cast<size_t>(y) * s.width + x) * 3 + c];
      }
    }
  }
  return out;
}

int max_abs_diff(const RgbImage& a, const RgbImage& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  REQUIRE(a.pixels.size() == b.pixels.size());
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  return m;
}

std::vector<uint8_t> jpeg_of(const RgbImage& img, int quality = 95) {
  return ft::jpeg_from_pixels(img.pixels, img.width, img.height, TJPF_RGB, quality);
}

// The TIFF data of an EXIF block (without "Exif\0\0").
std::vector<uint8_t> tiff_of(const std::vector<uint8_t>& exif_block) {
  return std::vector<uint8_t>(exif_block.begin() + 6, exif_block.end());
}

void require_error_naming(ImageDecoder& dec, const std::vector<uint8_t>& bytes, const std::string& name) {
  try {
    dec.decode(bytes, name);
    FAIL("decoded without an error: " << name);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("'" + name + "'") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("image decode: apply_exif_orientation follows the EXIF definition of each value",
          "[image_decode]") {
  const RgbImage src = blocks_image(5, 3);  // odd sizes: no symmetric centre line to hide an off-by-one
  for (int o = 1; o <= 8; ++o) {
    INFO("orientation " << o);
    RgbImage img = src;
    faceattr::cli::apply_exif_orientation(img, o);
    CHECK(max_abs_diff(img, upright(src, o)) == 0);
  }
  for (int o : {0, 9, -1, 65535}) {
    RgbImage img = src;
    faceattr::cli::apply_exif_orientation(img, o);
    CHECK(max_abs_diff(img, src) == 0);
  }
}

TEST_CASE("image decode: JPEG with an EXIF Orientation comes out upright (all 8, both byte orders)",
          "[image_decode]") {
  ImageDecoder dec;
  const RgbImage src = blocks_image();
  const RgbImage plain = dec.decode(jpeg_of(src), "plain.jpg");
  REQUIRE(max_abs_diff(plain, src) <= 3);
  for (bool big_endian : {true, false}) {
    for (int o = 1; o <= 8; ++o) {
      INFO("orientation " << o << (big_endian ? " Motorola" : " Intel"));
      const auto jpeg = ft::with_app1(jpeg_of(src), ft::exif_orientation_block(o, big_endian));
      const RgbImage img = dec.decode(jpeg, "o.jpg");
      CHECK(img.width == (o >= 5 ? src.height : src.width));
      CHECK(max_abs_diff(img, upright(src, o)) <= 3);
      // The rotation moves the decoded pixels exactly.
      CHECK(max_abs_diff(img, upright(plain, o)) == 0);
    }
  }
}

TEST_CASE("image decode: a portrait phone photo (Orientation 6) is upright, EXIF after an XMP APP1",
          "[image_decode]") {
  ImageDecoder dec;
  const RgbImage src = blocks_image(48, 32);  // landscape as stored, portrait as seen
  const std::string xmp_text = "http://ns.adobe.com/xap/1.0/";
  std::vector<uint8_t> xmp(xmp_text.begin(), xmp_text.end());
  xmp.push_back(0);
  const std::string body = "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";
  xmp.insert(xmp.end(), body.begin(), body.end());
  const auto jpeg = ft::with_app1(ft::with_app1(jpeg_of(src), ft::exif_orientation_block(6, false)), xmp);
  const RgbImage img = dec.decode(jpeg, "portrait.jpg");
  CHECK(img.width == 32);
  CHECK(img.height == 48);
  CHECK(max_abs_diff(img, upright(src, 6)) <= 3);
  // The stored top-left block is seen at the top right.
  const RgbImage one = blocks_image(1, 1);
  for (int c = 0; c < 3; ++c) CHECK(std::abs(img.pixels[(31) * 3 + c] - one.pixels[c]) <= 3);
}

TEST_CASE("image decode: a broken EXIF block is ignored: the image as stored", "[image_decode]") {
  ImageDecoder dec;
  const RgbImage src = blocks_image();
  const auto jpeg = jpeg_of(src);
  const auto good = ft::exif_orientation_block(6, true);  // "Exif\0\0" "MM\0*" <IFD0 offset> ...
  std::vector<std::pair<std::string, std::vector<uint8_t>>> blocks;
  blocks.push_back({"header only", {'E', 'x', 'i', 'f', 0, 0}});
  std::vector<uint8_t> noise = {'E', 'x', 'i', 'f', 0, 0};
  for (int i = 0; i < 64; ++i) noise.push_back(static_cast<uint8_t>(i * 167 + 13));
  blocks.push_back({"noise", noise});
  blocks.push_back({"truncated in IFD0", std::vector<uint8_t>(good.begin(), good.begin() + 20)});
  auto bad_offset = good;
  bad_offset[10] = bad_offset[11] = bad_offset[12] = 0xFF;  // IFD0 far beyond the block
  blocks.push_back({"IFD0 offset out of range", bad_offset});
  // IFD0: a 2-byte entry count, then 12-byte entries (tag, format, count, value); Orientation is the only
  // one.
  const size_t ifd0 =
      6 + ((size_t{good[10]} << 24) | (size_t{good[11]} << 16) | (size_t{good[12]} << 8) | good[13]);
  REQUIRE(ifd0 + 14 <= good.size());
  REQUIRE(good[ifd0 + 2] == 0x01);  // tag 0x0112, Orientation
  REQUIRE(good[ifd0 + 3] == 0x12);
  auto bad_format = good;
  bad_format[ifd0 + 4] = 0x00;
  bad_format[ifd0 + 5] = 0x00;  // format 0: none
  blocks.push_back({"Orientation of no known format", bad_format});
  auto long_value = good;
  long_value[ifd0 + 6] = long_value[ifd0 + 7] = 0x7F;  // 2^31 components: far beyond the block
  blocks.push_back({"Orientation with a count beyond the block", long_value});
  auto bad_order = good;
  bad_order[6] = 'X';  // neither "II" nor "MM"
  blocks.push_back({"unknown byte order", bad_order});
  blocks.push_back({"Orientation 0", ft::exif_orientation_block(0, true)});
  blocks.push_back({"Orientation 9", ft::exif_orientation_block(9, false)});
  for (const auto& [what, block] : blocks) {
    INFO(what);
    const RgbImage img = dec.decode(ft::with_app1(jpeg, block), "bad-exif.jpg");
    CHECK(img.width == src.width);
    CHECK(max_abs_diff(img, src) <= 3);
  }
  // An entry count beyond the block: libexif reads the entries that are there, so the
  // Orientation may still be found; either way the image decodes.
  auto bad_count = good;
  bad_count[ifd0] = bad_count[ifd0 + 1] = 0xFF;
  const RgbImage counted = dec.decode(ft::with_app1(jpeg, bad_count), "bad-count.jpg");
  CHECK((max_abs_diff(counted, counted.width == src.width ? src : upright(src, 6)) <= 3));
  // Not EXIF at all: an APP1 with another signature.
  const RgbImage img = dec.decode(ft::with_app1(jpeg, {'E', 'x', 'i', 'x', 0, 0, 'M', 'M'}), "app1.jpg");
  CHECK(img.width == src.width);
}

TEST_CASE("image decode: a truncated JPEG with EXIF is an Error naming the file", "[image_decode]") {
  ImageDecoder dec;
  auto jpeg = ft::with_app1(jpeg_of(blocks_image()), ft::exif_orientation_block(6, true));
  for (size_t keep : {jpeg.size() * 6 / 10, size_t{40}, size_t{5}}) {
    INFO("kept " << keep << " bytes");
    require_error_naming(dec, std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + keep), "cut.jpg");
  }
}

namespace {

// Ink amounts (0 = none, 255 = full) of each 8x8 block, and the RGB they stand for.
struct Ink {
  int c, m, y, k;
};
const Ink kInks[] = {{0, 0, 0, 0},   {255, 0, 0, 0},   {0, 255, 0, 0}, {0, 0, 255, 0},
                     {0, 0, 0, 255}, {0, 255, 255, 0}, {0, 0, 0, 128}, {64, 128, 192, 32}};
constexpr int kCmykW = 32, kCmykH = 16;  // 4 x 2 blocks

std::vector<uint8_t> cmyk_pixels(bool inverted) {
  std::vector<uint8_t> px(size_t{kCmykW} * kCmykH * 4);
  for (int y = 0; y < kCmykH; ++y) {
    for (int x = 0; x < kCmykW; ++x) {
      const Ink& ink = kInks[(y / 8) * 4 + x / 8];
      uint8_t* p = &px[(size_t(y) * kCmykW + x) * 4];
      const int v[4] = {ink.c, ink.m, ink.y, ink.k};
      for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(inverted ? 255 - v[i] : v[i]);
    }
  }
  return px;
}

// Subtractive mixing without colour management: each ink removes its share of
// its complementary primary, black of all three.
RgbImage cmyk_expected() {
  RgbImage img;
  img.width = kCmykW;
  img.height = kCmykH;
  img.pixels.resize(size_t{kCmykW} * kCmykH * 3);
  for (int y = 0; y < kCmykH; ++y) {
    for (int x = 0; x < kCmykW; ++x) {
      const Ink& ink = kInks[(y / 8) * 4 + x / 8];
      const double k = 1.0 - ink.k / 255.0;
      const int v[3] = {ink.c, ink.m, ink.y};
      for (int i = 0; i < 3; ++i) {
        img.pixels[(size_t(y) * kCmykW + x) * 3 + i] =
            static_cast<uint8_t>(std::lround(255.0 * (1.0 - v[i] / 255.0) * k));
      }
    }
  }
  return img;
}

}  // namespace

TEST_CASE("image decode: CMYK and YCCK JPEGs decode to the RGB of their inks", "[image_decode]") {
  ImageDecoder dec;
  const RgbImage expected = cmyk_expected();
  SECTION("Adobe CMYK (inverted), as Photoshop and libjpeg write it") {
    const auto jpeg = ft::jpeg_from_cmyk(cmyk_pixels(true), kCmykW, kCmykH, false, true);
    CHECK(max_abs_diff(dec.decode(jpeg, "cmyk.jpg"), expected) <= 4);
  }
  SECTION("Adobe YCCK (inverted)") {
    const auto jpeg = ft::jpeg_from_cmyk(cmyk_pixels(true), kCmykW, kCmykH, true, true);
    CHECK(max_abs_diff(dec.decode(jpeg, "ycck.jpg"), expected) <= 4);
  }
  SECTION("TurboJPEG from TJPF_CMYK (YCCK, inverted)") {
    const auto jpeg = ft::jpeg_from_pixels(cmyk_pixels(true), kCmykW, kCmykH, TJPF_CMYK, 98);
    CHECK(max_abs_diff(dec.decode(jpeg, "tj-cmyk.jpg"), expected) <= 4);
  }
  SECTION("plain CMYK without the Adobe segment (0 = no ink)") {
    const auto jpeg = ft::jpeg_from_cmyk(cmyk_pixels(false), kCmykW, kCmykH, false, false);
    CHECK(max_abs_diff(dec.decode(jpeg, "plain-cmyk.jpg"), expected) <= 4);
  }
  SECTION("CMYK with an EXIF Orientation") {
    const auto jpeg = ft::with_app1(ft::jpeg_from_cmyk(cmyk_pixels(true), kCmykW, kCmykH, false, true),
                                    ft::exif_orientation_block(8, false));
    CHECK(max_abs_diff(dec.decode(jpeg, "cmyk8.jpg"), upright(expected, 8)) <= 4);
  }
  SECTION("a truncated CMYK JPEG is an Error naming the file") {
    auto jpeg = ft::jpeg_from_cmyk(cmyk_pixels(true), kCmykW, kCmykH, false, true);
    jpeg.resize(jpeg.size() * 7 / 10);
    require_error_naming(dec, jpeg, "cut-cmyk.jpg");
  }
}

TEST_CASE("image decode: WebP: lossless decodes exactly, EXIF chunk honoured, animation's first frame",
          "[image_decode]") {
  ImageDecoder dec;
  const RgbImage src = blocks_image();
  const auto webp = ft::webp_lossless(src.pixels, src.width, src.height);
  SECTION("still, lossless") { CHECK(max_abs_diff(dec.decode(webp, "a.webp"), src) == 0); }
  SECTION("EXIF chunk: Orientation 1-8, TIFF data with or without the Exif prefix") {
    for (int o = 1; o <= 8; ++o) {
      INFO("orientation " << o);
      const auto block = ft::exif_orientation_block(o, o % 2 == 0);
      CHECK(max_abs_diff(dec.decode(ft::webp_with_exif(webp, tiff_of(block)), "o.webp"), upright(src, o)) ==
            0);
      CHECK(max_abs_diff(dec.decode(ft::webp_with_exif(webp, block), "p.webp"), upright(src, o)) == 0);
    }
  }
  SECTION("a broken EXIF chunk is ignored") {
    const std::vector<uint8_t> junk = {'M', 'M', 0, 42, 0xFF, 0xFF, 0xFF, 0x00, 1, 2, 3};
    CHECK(max_abs_diff(dec.decode(ft::webp_with_exif(webp, junk), "junk.webp"), src) == 0);
  }
  SECTION("animated: the first frame") {
    RgbImage second = src;
    for (auto& v : second.pixels) v = static_cast<uint8_t>(255 - v);
    const auto anim = ft::webp_animation({src.pixels, second.pixels}, src.width, src.height);
    CHECK(max_abs_diff(dec.decode(anim, "anim.webp"), src) == 0);
    require_error_naming(dec, std::vector<uint8_t>(anim.begin(), anim.begin() + anim.size() / 2),
                         "cut-anim.webp");
  }
  SECTION("truncated or corrupt: an Error naming the file") {
    for (size_t keep : {webp.size() / 2, webp.size() - 1, size_t{30}, size_t{12}}) {
      INFO("kept " << keep << " bytes");
      require_error_naming(dec, std::vector<uint8_t>(webp.begin(), webp.begin() + keep), "cut.webp");
    }
    std::vector<uint8_t> garbage(webp.begin(), webp.begin() + 12);
    for (int i = 0; i < 200; ++i) garbage.push_back(static_cast<uint8_t>(i * 37 + 5));
    require_error_naming(dec, garbage, "garbage.webp");
    auto flipped = webp;
    for (size_t i = 40; i < flipped.size(); i += 7) flipped[i] ^= 0x5A;
    // Corrupt lossless data either fails to decode or decodes to other pixels; never crashes.
    try {
      const RgbImage img = dec.decode(flipped, "flipped.webp");
      CHECK(img.width == src.width);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("'flipped.webp'") != std::string::npos);
    }
  }
}

TEST_CASE("image decode: an unknown format is an Error that names WebP among the choices", "[image_decode]") {
  ImageDecoder dec;
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', '\n'};
  try {
    dec.decode(text, "note.txt");
    FAIL("decoded text");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'note.txt'") != std::string::npos);
    CHECK(std::string(e.what()).find("WebP") != std::string::npos);
  }
  // "RIFF" that is not WebP (a WAVE header) goes to the other decoders and fails there.
  std::vector<uint8_t> wave = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' '};
  require_error_naming(dec, wave, "sound.wav");
}

TEST_CASE("image decode: random damage to EXIF blocks and WebP files never crashes", "[image_decode]") {
  ImageDecoder dec;
  const RgbImage src = blocks_image();
  const auto jpeg = jpeg_of(src);
  const auto webp = ft::webp_lossless(src.pixels, src.width, src.height);
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (int i = 0; i < 400; ++i) {
    auto block = ft::exif_orientation_block(1 + i % 8, i % 2 == 0);
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) block[6 + next() % (block.size() - 6)] = static_cast<uint8_t>(next());
    if (i % 5 == 0) block.resize(6 + next() % (block.size() - 6));
    INFO("EXIF damage " << i);
    // The JPEG itself is intact: it decodes, upright or as stored.
    const RgbImage img = dec.decode(ft::with_app1(jpeg, block), "damaged-exif.jpg");
    CHECK((img.width == src.width || img.width == src.height));
    const auto tiff = tiff_of(block);
    if (tiff.empty()) continue;  // libwebpmux refuses an empty chunk
    const RgbImage w = dec.decode(ft::webp_with_exif(webp, tiff), "damaged-exif.webp");
    CHECK((w.width == src.width || w.width == src.height));
  }
  for (size_t keep = 0; keep < webp.size(); ++keep) {
    INFO("WebP cut to " << keep << " bytes");
    CHECK_THROWS_AS(dec.decode(std::vector<uint8_t>(webp.begin(), webp.begin() + keep), "cut.webp"), Error);
  }
  for (int i = 0; i < 200; ++i) {
    auto damaged = webp;
    damaged[12 + next() % (damaged.size() - 12)] = static_cast<uint8_t>(next());
    try {
      dec.decode(damaged, "damaged.webp");
    } catch (const Error&) {
    }
  }
}
