// Scenes for `faceattr eval --scenes`: face crops pasted whole onto object
// photos, deterministically from a seed, with their rectangles recorded as the
// localisation ground truth (docs/cli.md, "eval on composed scenes").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image_decode.h"

namespace faceattr::cli {

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
};

// Intersection over union of a float box {x, y, w, h} and a rectangle.
double iou(const float* box, const Rect& r);

// Resamples `src` to w x h (area average when shrinking, bilinear when enlarging).
RgbImage resize(const RgbImage& src, int w, int h);
// Scales `src` to cover w x h (aspect kept), then centre-crops to w x h.
RgbImage resize_cover(const RgbImage& src, int w, int h);

struct ScenePlan {
  int background = 0;       // index into the object list
  std::vector<int> faces;   // indices into the face list
  std::vector<Rect> rects;  // where each face goes, same order
};

struct SceneConfig {
  int width = 320, height = 240;
  int min_face_w = 48, max_face_w = 140;
  int face_free_percent = 10, two_face_percent = 10;  // the rest: one face
  uint32_t seed = 1;
};

// Plans scene `index` (independent of the others, so scenes can be composed in
// any order or in parallel). `face_size(i, &w, &h)` gives face i's pixel size;
// faces keep their aspect ratio at a width drawn in [min_face_w, max_face_w]
// (narrower when needed to fit the height); two faces never overlap.
template <typename FaceSize>
ScenePlan plan_scene(const SceneConfig& c, size_t index, size_t n_backgrounds, size_t n_faces,
                     FaceSize face_size);

// Pastes the planned faces (already decoded) onto the background (any size;
// resized to cover the scene).
RgbImage compose_scene(const SceneConfig& c, const RgbImage& background,
                       const std::vector<const RgbImage*>& faces, const std::vector<Rect>& rects);

// Deterministic generator: splitmix64, so scenes do not depend on the C++
// library's distributions.
class SceneRng {
 public:
  explicit SceneRng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (inclusive; the modulo bias is negligible for these ranges).
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }

 private:
  uint64_t s_;
};

template <typename FaceSize>
ScenePlan plan_scene(const SceneConfig& c, size_t index, size_t n_backgrounds, size_t n_faces,
                     FaceSize face_size) {
  SceneRng rng(static_cast<uint64_t>(c.seed) * 0x100000001B3ull + index);
  ScenePlan p;
  p.background = static_cast<int>(rng.next() % n_backgrounds);
  const int kind = rng.range(0, 99);
  const int n = kind < c.face_free_percent ? 0 : kind < c.face_free_percent + c.two_face_percent ? 2 : 1;
  for (int f = 0; f < n; ++f) {
    // A few tries to place a second face clear of the first; else the scene keeps one face.
    for (int attempt = 0; attempt < 50; ++attempt) {
      const int face = static_cast<int>(rng.next() % n_faces);
      int fw = 0, fh = 0;
      face_size(face, &fw, &fh);
      if (fw <= 0 || fh <= 0) continue;
      int w = rng.range(c.min_face_w, c.max_face_w);
      int h = static_cast<int>(static_cast<double>(w) * fh / fw + 0.5);
      if (h > c.height) {
        h = c.height;
        w = static_cast<int>(static_cast<double>(h) * fw / fh + 0.5);
      }
      if (w < 1 || h < 1 || w > c.width) continue;
      Rect r{rng.range(0, c.width - w), rng.range(0, c.height - h), w, h};
      bool clear = true;
      for (const Rect& o : p.rects)
        clear = clear && (r.x >= o.x + o.w || o.x >= r.x + r.w || r.y >= o.y + o.h || o.y >= r.y + r.h);
      if (!clear) continue;
      p.faces.push_back(face);
      p.rects.push_back(r);
      break;
    }
  }
  return p;
}

}  // namespace faceattr::cli
