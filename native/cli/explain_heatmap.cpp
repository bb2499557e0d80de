#include "explain_heatmap.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli_common.h"

namespace faceattr::cli {
namespace {

// t in [0, 1] -> a blue-cyan-yellow-red ramp (piecewise linear "jet").
void colour(float t, float rgb[3]) {
  const float r = std::clamp(1.5f - std::fabs(4.0f * t - 3.0f), 0.0f, 1.0f);
  const float g = std::clamp(1.5f - std::fabs(4.0f * t - 2.0f), 0.0f, 1.0f);
  const float b = std::clamp(1.5f - std::fabs(4.0f * t - 1.0f), 0.0f, 1.0f);
  rgb[0] = 255.0f * r, rgb[1] = 255.0f * g, rgb[2] = 255.0f * b;
}

// A map of e's grid at continuous cell coordinates (u, v) (cell centres at integers),
// edges clamped.
float bilinear(const faceattr_explanation& e, const float* m, float u, float v) {
  u = std::clamp(u, 0.0f, static_cast<float>(e.width - 1));
  v = std::clamp(v, 0.0f, static_cast<float>(e.height - 1));
  const int j0 = static_cast<int>(u), i0 = static_cast<int>(v);
  const int j1 = std::min(j0 + 1, e.width - 1), i1 = std::min(i0 + 1, e.height - 1);
  const float fu = u - static_cast<float>(j0), fv = v - static_cast<float>(i0);
  const float top = m[i0 * e.width + j0] * (1 - fu) + m[i0 * e.width + j1] * fu;
  const float bottom = m[i1 * e.width + j0] * (1 - fu) + m[i1 * e.width + j1] * fu;
  return top * (1 - fv) + bottom * fv;
}

void put(std::vector<uint8_t>& px, int w, int h, int x, int y, const uint8_t rgb[3]) {
  if (x < 0 || y < 0 || x >= w || y >= h) return;
  uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 3];
  p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
}

// A rectangle outline `thick` pixels wide, inside (x, y, w, h).
void outline(std::vector<uint8_t>& px, int W, int H, const float b[4], int thick, const uint8_t rgb[3]) {
  const int x0 = static_cast<int>(std::lround(b[0])), y0 = static_cast<int>(std::lround(b[1]));
  const int x1 = static_cast<int>(std::lround(b[0] + b[2])) - 1,
            y1 = static_cast<int>(std::lround(b[1] + b[3])) - 1;
  for (int t = 0; t < thick; ++t) {
    for (int x = x0; x <= x1; ++x) put(px, W, H, x, y0 + t, rgb), put(px, W, H, x, y1 - t, rgb);
    for (int y = y0; y <= y1; ++y) put(px, W, H, x0 + t, y, rgb), put(px, W, H, x1 - t, y, rgb);
  }
}

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

}  // namespace

void write_heatmap_png(const std::string& path, const RgbImage& photo, const faceattr_explanation& e,
                       const float face_box[4]) {
  const int W = photo.width, H = photo.height;
  std::vector<uint8_t> px = photo.pixels;
  const int n = e.width * e.height;
  // What the peak marks: the map against the attribute's average map (contrast: its
  // sign), where the model has one.
  std::vector<float> shown(e.map, e.map + n);
  if (e.average_map)
    for (int i = 0; i < n; ++i)
      shown[static_cast<size_t>(i)] = static_cast<float>(e.contrast) * (e.map[i] - e.average_map[i]);
  const float lo = *std::min_element(shown.begin(), shown.end()),
              hi = *std::max_element(shown.begin(), shown.end());
  const float range = hi > lo ? hi - lo : 1.0f;
  const int x0 = std::max(0, static_cast<int>(std::floor(e.box[0])));
  const int y0 = std::max(0, static_cast<int>(std::floor(e.box[1])));
  const int x1 = std::min(W, static_cast<int>(std::ceil(e.box[0] + e.box[2])));
  const int y1 = std::min(H, static_cast<int>(std::ceil(e.box[1] + e.box[3])));
  for (int y = y0; y < y1; ++y) {
    const float v = (static_cast<float>(y) + 0.5f - e.box[1]) / e.cell_height - 0.5f;
    for (int x = x0; x < x1; ++x) {
      const float u = (static_cast<float>(x) + 0.5f - e.box[0]) / e.cell_width - 0.5f;
      const float t = (bilinear(e, shown.data(), u, v) - lo) / range;
      float rgb[3];
      colour(t, rgb);
      const float alpha = 0.15f + 0.35f * t;
      uint8_t* p = &px[(static_cast<size_t>(y) * W + x) * 3];
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(std::lround((1.0f - alpha) * static_cast<float>(p[c]) + alpha * rgb[c]));
    }
  }
  const int thick = std::max(1, static_cast<int>(std::lround(std::max(W, H) / 400.0)));
  const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
  outline(px, W, H, face_box, thick, white);
  // The peak: a white cross with a black centre.
  const int px0 = static_cast<int>(std::lround(e.peak[0])), py0 = static_cast<int>(std::lround(e.peak[1]));
  const int arm = 3 * thick + 2;
  for (int d = -arm; d <= arm; ++d)
    for (int t = -thick / 2; t <= thick / 2; ++t)
      put(px, W, H, px0 + d, py0 + t, white), put(px, W, H, px0 + t, py0 + d, white);
  put(px, W, H, px0, py0, black);

  std::vector<uint8_t> png;
  if (!stbi_write_png_to_func(append, &png, W, H, 3, px.data(), W * 3))
    throw Error("cannot encode the PNG for '" + path + "'");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  const bool ok = f && std::fwrite(png.data(), 1, png.size(), f) == png.size();
  if (f && std::fclose(f) != 0) throw Error("cannot write '" + path + "'");
  if (!ok) throw Error("cannot write '" + path + "'");
}

}  // namespace faceattr::cli
