#include "scenes.h"

#include <algorithm>
#include <cmath>

namespace faceattr::cli {

double iou(const float* box, const Rect& r) {
  const double ix = std::min<double>(box[0] + box[2], r.x + r.w) - std::max<double>(box[0], r.x);
  const double iy = std::min<double>(box[1] + box[3], r.y + r.h) - std::max<double>(box[1], r.y);
  if (ix <= 0 || iy <= 0) return 0.0;
  const double inter = ix * iy;
  const double uni = static_cast<double>(box[2]) * box[3] + static_cast<double>(r.w) * r.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

namespace {

// One axis of a resampling: for output index o, source taps [i0, i1) with weights.
struct Axis {
  std::vector<int> first, count;
  std::vector<float> weights;  // count[o] weights from offset[o]
  std::vector<size_t> offset;
};

Axis make_axis(int in, int out) {
  Axis a;
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    a.offset.push_back(a.weights.size());
    if (scale > 1.0) {  // area average over [lo, hi)
      const double lo = o * scale, hi = lo + scale;
      const int i0 = static_cast<int>(std::floor(lo));
      const int i1 = std::min(in, static_cast<int>(std::ceil(hi)));
      a.first.push_back(i0);
      a.count.push_back(i1 - i0);
      for (int i = i0; i < i1; ++i) {
        const double w = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        a.weights.push_back(static_cast<float>(std::max(0.0, w) / scale));
      }
    } else {  // bilinear between pixel centres, edges clamped
      const double c = (o + 0.5) * scale - 0.5;
      const int i0 = static_cast<int>(std::floor(c));
      const float t = static_cast<float>(c - i0);
      const int a0 = std::clamp(i0, 0, in - 1), a1 = std::clamp(i0 + 1, 0, in - 1);
      a.first.push_back(a0);
      a.count.push_back(a1 - a0 + 1);
      if (a1 == a0) {
        a.weights.push_back(1.0f);
      } else {
        a.weights.push_back(1.0f - t);
        a.weights.push_back(t);
      }
    }
  }
  return a;
}

}  // namespace

RgbImage resize(const RgbImage& src, int w, int h) {
  RgbImage out;
  out.width = w;
  out.height = h;
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  const Axis ax = make_axis(src.width, w), ay = make_axis(src.height, h);
  std::vector<float> row(static_cast<size_t>(src.width) * 3);
  for (int oy = 0; oy < h; ++oy) {
    std::fill(row.begin(), row.end(), 0.0f);
    for (int k = 0; k < ay.count[oy]; ++k) {
      const float wy = ay.weights[ay.offset[oy] + k];
      const uint8_t* s = &src.pixels[static_cast<size_t>(ay.first[oy] + k) * src.width * 3];
      for (size_t i = 0; i < row.size(); ++i) row[i] += wy * s[i];
    }
    uint8_t* d = &out.pixels[static_cast<size_t>(oy) * w * 3];
    for (int ox = 0; ox < w; ++ox) {
      float acc[3] = {0, 0, 0};
      for (int k = 0; k < ax.count[ox]; ++k) {
        const float wx = ax.weights[ax.offset[ox] + k];
        const float* r = &row[static_cast<size_t>(ax.first[ox] + k) * 3];
        acc[0] += wx * r[0], acc[1] += wx * r[1], acc[2] += wx * r[2];
      }
      for (int c = 0; c < 3; ++c)
        d[ox * 3 + c] = static_cast<uint8_t>(std::clamp(acc[c] + 0.5f, 0.0f, 255.0f));
    }
  }
  return out;
}

RgbImage resize_cover(const RgbImage& src, int w, int h) {
  const double s = std::max(static_cast<double>(w) / src.width, static_cast<double>(h) / src.height);
  const int rw = std::max(w, static_cast<int>(std::lround(src.width * s)));
  const int rh = std::max(h, static_cast<int>(std::lround(src.height * s)));
  const RgbImage big = resize(src, rw, rh);
  RgbImage out;
  out.width = w;
  out.height = h;
  out.pixels.resize(static_cast<size_t>(w) * h * 3);
  const int x0 = (rw - w) / 2, y0 = (rh - h) / 2;
  for (int y = 0; y < h; ++y)
    std::copy_n(&big.pixels[(static_cast<size_t>(y + y0) * rw + x0) * 3], static_cast<size_t>(w) * 3,
                &out.pixels[static_cast<size_t>(y) * w * 3]);
  return out;
}

RgbImage compose_scene(const SceneConfig& c, const RgbImage& background,
                       const std::vector<const RgbImage*>& faces, const std::vector<Rect>& rects) {
  RgbImage scene = resize_cover(background, c.width, c.height);
  for (size_t f = 0; f < faces.size(); ++f) {
    const Rect& r = rects[f];
    const RgbImage face = resize(*faces[f], r.w, r.h);
    for (int y = 0; y < r.h; ++y)
      std::copy_n(&face.pixels[static_cast<size_t>(y) * r.w * 3], static_cast<size_t>(r.w) * 3,
                  &scene.pixels[(static_cast<size_t>(r.y + y) * c.width + r.x) * 3]);
  }
  return scene;
}

}  // namespace faceattr::cli
