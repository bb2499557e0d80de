// Overlays on RGB frames for `faceattr video --out`: box outlines and text
// labels. Glyphs come from FreeType (a TrueType font, by default DejaVu Sans
// from fonts-dejavu-core); everything is clipped to the frame.
#pragma once

#include <cstdint>
#include <string>

namespace faceattr::cli {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// An RGB24 frame to draw on: height rows of width * 3 bytes.
struct Canvas {
  uint8_t* rgb = nullptr;
  int width = 0;
  int height = 0;
};

// The outline of box (x, y, w, h in pixels), `thickness` pixels wide, inside the box.
void draw_box_outline(const Canvas& c, const float box[4], Rgb color, int thickness);
// Blends `color` over the rectangle at `alpha` in [0, 1].
void fill_rect(const Canvas& c, int x, int y, int w, int h, Rgb color, float alpha);
// A distinct, bright colour per track id.
Rgb track_color(int id);

// $FACEATTR_FONT when set, else DejaVu Sans at its Debian path.
std::string default_font_path();

// Draws UTF-8 text with one FreeType face. Not copyable.
class TextRenderer {
 public:
  // Throws Error when the font cannot be loaded.
  explicit TextRenderer(const std::string& font_path, int pixel_height = 12);
  ~TextRenderer();
  TextRenderer(const TextRenderer&) = delete;
  TextRenderer& operator=(const TextRenderer&) = delete;

  int line_height() const { return line_height_; }
  int text_width(const std::string& text);
  // `text` with its line box's top-left corner at (x, y).
  void draw(const Canvas& c, int x, int y, const std::string& text, Rgb color);
  // `text` on a darkened background box (padding 2 px), top-left at (x, y).
  void draw_label(const Canvas& c, int x, int y, const std::string& text, Rgb color);

 private:
  void* library_ = nullptr;  // FT_Library
  void* face_ = nullptr;     // FT_Face
  int line_height_ = 0;
  int ascender_ = 0;
};

}  // namespace faceattr::cli
