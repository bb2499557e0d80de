#include "frame_draw.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "cli_common.h"

namespace faceattr::cli {

namespace {

void blend(uint8_t* p, Rgb color, float alpha) {
  p[0] = static_cast<uint8_t>(std::lround(p[0] + (color.r - p[0]) * alpha));
  p[1] = static_cast<uint8_t>(std::lround(p[1] + (color.g - p[1]) * alpha));
  p[2] = static_cast<uint8_t>(std::lround(p[2] + (color.b - p[2]) * alpha));
}

// The next code point of UTF-8 `s` at `i` (advanced); U+FFFD for a broken sequence.
uint32_t next_code_point(const std::string& s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i++);
  if (b0 < 0x80) return b0;
  int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
  if (extra < 0) return 0xFFFD;
  uint32_t cp = b0 & (0x3F >> extra);
  for (; extra > 0; --extra) {
    if (i >= s.size() || (byte(i) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (byte(i++) & 0x3F);
  }
  return cp;
}

}  // namespace

void fill_rect(const Canvas& c, int x, int y, int w, int h, Rgb color, float alpha) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(c.width, x + w), y1 = std::min(c.height, y + h);
  for (int yy = y0; yy < y1; ++yy) {
    uint8_t* row = c.rgb + static_cast<size_t>(yy) * c.width * 3;
    for (int xx = x0; xx < x1; ++xx) blend(row + xx * 3, color, alpha);
  }
}

void draw_box_outline(const Canvas& c, const float box[4], Rgb color, int thickness) {
  const int x = static_cast<int>(std::lround(box[0])), y = static_cast<int>(std::lround(box[1]));
  const int w = static_cast<int>(std::lround(box[2])), h = static_cast<int>(std::lround(box[3]));
  if (w <= 0 || h <= 0) return;
  const int t = std::min({thickness, w, h});
  fill_rect(c, x, y, w, t, color, 1.0f);
  fill_rect(c, x, y + h - t, w, t, color, 1.0f);
  fill_rect(c, x, y + t, t, h - 2 * t, color, 1.0f);
  fill_rect(c, x + w - t, y + t, t, h - 2 * t, color, 1.0f);
}

Rgb track_color(int id) {
  static const Rgb kPalette[] = {{255, 64, 64},  {64, 200, 255}, {255, 210, 0},   {80, 255, 120},
                                 {255, 96, 220}, {255, 150, 40}, {170, 120, 255}, {0, 230, 200}};
  const int n = static_cast<int>(sizeof kPalette / sizeof kPalette[0]);
  return kPalette[((id % n) + n) % n];
}

std::string default_font_path() {
  const char* env = std::getenv("FACEATTR_FONT");
  if (env != nullptr && *env != '\0') return env;
  return "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}

TextRenderer::TextRenderer(const std::string& font_path, int pixel_height) {
  FT_Library lib = nullptr;
  if (FT_Init_FreeType(&lib) != 0) throw Error("cannot start FreeType");
  library_ = lib;
  FT_Face face = nullptr;
  if (FT_New_Face(lib, font_path.c_str(), 0, &face) != 0) {
    FT_Done_FreeType(lib);
    throw Error("cannot load font '" + font_path + "' (install fonts-dejavu-core or set FACEATTR_FONT)");
  }
  face_ = face;
  if (FT_Set_Pixel_Sizes(face, 0, static_cast<FT_UInt>(pixel_height)) != 0) {
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
    throw Error("font '" + font_path + "' has no " + std::to_string(pixel_height) + " px size");
  }
  ascender_ = static_cast<int>(face->size->metrics.ascender >> 6);
  line_height_ = static_cast<int>(face->size->metrics.height >> 6);
}

TextRenderer::~TextRenderer() {
  FT_Done_Face(static_cast<FT_Face>(face_));
  FT_Done_FreeType(static_cast<FT_Library>(library_));
}

int TextRenderer::text_width(const std::string& text) {
  FT_Face face = static_cast<FT_Face>(face_);
  long advance = 0;
  for (size_t i = 0; i < text.size();) {
    if (FT_Load_Char(face, next_code_point(text, i), FT_LOAD_DEFAULT) != 0) continue;
    advance += face->glyph->advance.x;
  }
  return static_cast<int>(advance >> 6);
}

void TextRenderer::draw(const Canvas& c, int x, int y, const std::string& text, Rgb color) {
  FT_Face face = static_cast<FT_Face>(face_);
  int pen = x;
  const int baseline = y + ascender_;
  for (size_t i = 0; i < text.size();) {
    if (FT_Load_Char(face, next_code_point(text, i), FT_LOAD_RENDER) != 0) continue;
    const FT_GlyphSlot g = face->glyph;
    const FT_Bitmap& bm = g->bitmap;
    if (bm.pixel_mode == FT_PIXEL_MODE_GRAY) {
      for (unsigned r = 0; r < bm.rows; ++r) {
        const int yy = baseline - g->bitmap_top + static_cast<int>(r);
        if (yy < 0 || yy >= c.height) continue;
        const unsigned char* src = bm.buffer + static_cast<long>(r) * bm.pitch;
        for (unsigned col = 0; col < bm.width; ++col) {
          const int xx = pen + g->bitmap_left + static_cast<int>(col);
          if (xx < 0 || xx >= c.width || src[col] == 0) continue;
          blend(c.rgb + (static_cast<size_t>(yy) * c.width + xx) * 3, color, src[col] / 255.0f);
        }
      }
    }
    pen += static_cast<int>(g->advance.x >> 6);
  }
}

void TextRenderer::draw_label(const Canvas& c, int x, int y, const std::string& text, Rgb color) {
  const int pad = 2;
  fill_rect(c, x, y, text_width(text) + 2 * pad, line_height_ + 2 * pad, Rgb{0, 0, 0}, 0.6f);
  draw(c, x + pad, y + pad, text, color);
}

}  // namespace faceattr::cli
