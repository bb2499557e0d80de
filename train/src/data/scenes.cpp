#include "data/scenes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "data/celeba.h"
#include "data/folders.h"
#include "engine/splits.h"
#include "util/progress.h"

namespace faceattr::train {
namespace {

float uni(std::mt19937& rng, float a, float b) { return std::uniform_real_distribution<float>(a, b)(rng); }

inline float mirror(float v, int n) {
  // Reflect into [0, n-1].
  const float m = static_cast<float>(n - 1);
  if (m <= 0) return 0;
  const float period = 2 * m;
  v = std::fmod(std::fabs(v), period);
  return v > m ? period - v : v;
}

inline void bilinear(const RgbImage& s, float x, float y, float* rgb) {
  x = mirror(x, s.width);
  y = mirror(y, s.height);
  const int x0 = std::min(static_cast<int>(x), s.width - 1), y0 = std::min(static_cast<int>(y), s.height - 1);
  const int x1 = std::min(x0 + 1, s.width - 1), y1 = std::min(y0 + 1, s.height - 1);
  const float fx = x - x0, fy = y - y0;
  const uint8_t* p00 = &s.pixels[(static_cast<size_t>(y0) * s.width + x0) * 3];
  const uint8_t* p01 = &s.pixels[(static_cast<size_t>(y0) * s.width + x1) * 3];
  const uint8_t* p10 = &s.pixels[(static_cast<size_t>(y1) * s.width + x0) * 3];
  const uint8_t* p11 = &s.pixels[(static_cast<size_t>(y1) * s.width + x1) * 3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = (p00[c] * (1 - fx) + p01[c] * fx) * (1 - fy) + (p10[c] * (1 - fx) + p11[c] * fx) * fy;
}

// Region (x0, y0, sw, sh) of src -> w x h RGB floats in [0, 255].
void sample_region(const RgbImage& src, float x0, float y0, float sw, float sh, int w, int h, bool flip,
                   std::vector<float>& out) {
  out.assign(static_cast<size_t>(w) * h * 3, 0.0f);
  const float sx = sw / w, sy = sh / h;
  const int nx = std::clamp(static_cast<int>(std::ceil(sx)), 1, 4),
            ny = std::clamp(static_cast<int>(std::ceil(sy)), 1, 4);
  const float inv = 1.0f / (nx * ny);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float acc[3] = {0, 0, 0};
      const int xx = flip ? w - 1 - x : x;
      for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i) {
          float rgb[3];
          bilinear(src, x0 + (xx + (i + 0.5f) / nx) * sx - 0.5f, y0 + (y + (j + 0.5f) / ny) * sy - 0.5f, rgb);
          acc[0] += rgb[0], acc[1] += rgb[1], acc[2] += rgb[2];
        }
      float* o = &out[(static_cast<size_t>(y) * w + x) * 3];
      o[0] = acc[0] * inv, o[1] = acc[1] * inv, o[2] = acc[2] * inv;
    }
}

// Photometric jitter of an RGB float patch (brightness, contrast, saturation, grey).
void jitter(std::vector<float>& px, std::mt19937& rng, float amount) {
  colour_jitter(px, rng, amount, amount, 1.5f * amount);
}

// Alpha of a feathered superellipse at normalised coordinates u, v in [-1, 1].
inline float feather_alpha(float u, float v, float p, float f) {
  const float d = std::pow(std::pow(std::fabs(u), p) + std::pow(std::fabs(v), p), 1.0f / p);
  const float t = std::clamp((1.0f - d) / f, 0.0f, 1.0f);
  return t * t * (3 - 2 * t);
}

// Pastes an RGB patch (w x h floats) at (x, y) of a scene buffer of width W / content height CH.
void paste(std::vector<float>& scene, int W, int CH, const std::vector<float>& patch, int x, int y, int w,
           int h, bool hard, float p, float f) {
  for (int j = 0; j < h; ++j) {
    const int sy = y + j;
    if (sy < 0 || sy >= CH) continue;
    for (int i = 0; i < w; ++i) {
      const int sx = x + i;
      if (sx < 0 || sx >= W) continue;
      const float a = hard ? 1.0f : feather_alpha((i + 0.5f) / w * 2 - 1, (j + 0.5f) / h * 2 - 1, p, f);
      if (a <= 0) continue;
      float* d = &scene[(static_cast<size_t>(sy) * W + sx) * 3];
      const float* s = &patch[(static_cast<size_t>(j) * w + i) * 3];
      for (int c = 0; c < 3; ++c) d[c] = d[c] * (1 - a) + s[c] * a;
    }
  }
}

float overlap_iou(const FaceRect& a, const FaceRect& b) {
  const float ix = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (a.w * a.h + b.w * b.h - ix * iy);
}

// A scene without faces: every tag 0.
Scene unlabelled(const ScenePools& p) {
  Scene s;
  s.tags.assign(p.attribute_names.size() + 1, 0.0f);
  return s;
}

// A pasted face: its rectangle, its attribute tags (max with the scene's) and the face tag.
void add_face(Scene& s, const FaceRect& r, const std::vector<float>& attrs) {
  s.faces.push_back(r);
  for (size_t a = 0; a < attrs.size(); ++a) s.tags[a] = std::max(s.tags[a], attrs[a]);
  s.tags.back() = 1.0f;
}

// `s` (its faces and tags) with the composed pixels normalised; rows from CH on are letterbox.
Scene finish(std::vector<float>& rgb, int W, int H, int CH, const InputSpec& in, Scene s) {
  s.width = W;
  s.height = H;
  s.pixels.assign(static_cast<size_t>(W) * H * 3, 0.0f);  // letterbox: 0 after normalisation
  for (int y = 0; y < CH; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) {
        const size_t i = (static_cast<size_t>(y) * W + x) * 3 + c;
        s.pixels[i] = (rgb[i] / 255.0f - in.mean[c]) / in.std[c];
      }
  return s;
}

void background(const RgbImage& bg, int W, int CH, std::mt19937& rng, bool random_crop,
                std::vector<float>& out) {
  const float aspect = static_cast<float>(W) / CH;
  float cw = static_cast<float>(bg.width), ch = cw / aspect;
  if (ch > bg.height) ch = static_cast<float>(bg.height), cw = ch * aspect;
  float x0 = (bg.width - cw) / 2, y0 = (bg.height - ch) / 2;
  bool flip = false;
  if (random_crop) {
    const float s = std::sqrt(uni(rng, 0.45f, 1.0f));
    cw *= s, ch *= s;
    x0 = uni(rng, 0, bg.width - cw), y0 = uni(rng, 0, bg.height - ch);
    flip = uni(rng, 0, 1) < 0.5f;
  }
  sample_region(bg, x0, y0, cw, ch, W, CH, flip, out);
}

}  // namespace

void colour_jitter(std::vector<float>& px, std::mt19937& rng, float brightness, float contrast,
                   float saturation) {
  const float b = uni(rng, -brightness, brightness) * 255, c = 1 + uni(rng, -contrast, contrast),
              s = 1 + uni(rng, -saturation, saturation);
  const bool grey = uni(rng, 0, 1) < 0.05f;
  double mean = 0;
  for (float v : px) mean += v;
  mean /= std::max<size_t>(1, px.size());
  for (size_t i = 0; i + 2 < px.size(); i += 3) {
    const float l = 0.299f * px[i] + 0.587f * px[i + 1] + 0.114f * px[i + 2];
    for (int k = 0; k < 3; ++k) {
      float v = grey ? l : l + (px[i + k] - l) * s;
      v = (v - static_cast<float>(mean)) * c + static_cast<float>(mean) + b;
      px[i + k] = std::clamp(v, 0.0f, 255.0f);
    }
  }
}

void sample_square(const RgbImage& src, float cx, float cy, float sw, float sh, int w, int h,
                   std::vector<float>& out) {
  sample_region(src, cx - sw / 2, cy - sh / 2, sw, sh, w, h, false, out);
}

ScenePools load_scene_pools(const Options& o, int max_celeba, int max_lfw) {
  ScenePools p;
  AttributeSplits splits = make_attribute_splits(o);
  p.attribute_names = splits.attribute_names;
  auto add_celeba = [&](const Dataset& ds, std::vector<FaceSource>& dst, int cap) {
    size_t n = ds.samples.size();
    if (cap > 0) n = std::min(n, static_cast<size_t>(cap));
    Progress bar("[scenes] decoding CelebA", n);
    for (size_t i = 0; i < n; ++i) {
      FaceSource f;
      f.img = decode_jpeg_file(ds.samples[i].path);
      f.attrs = ds.samples[i].attrs;
      // ANet's un-augmented framing is the centre 0.8-aspect box (full height of the aligned crop);
      // the test-crop-like square has that height as its side.
      f.side = static_cast<float>(f.img.height);
      f.cx = f.img.width / 2.0f;
      f.cy = f.img.height / 2.0f;
      dst.push_back(std::move(f));
      if (i % 256 == 0) bar.update(i);
    }
    bar.finish();
  };
  add_celeba(splits.train, p.train_faces, max_celeba);
  add_celeba(splits.val, p.val_faces, 0);
  if (max_lfw != 0) {
    LfwSet lfw = load_lfw(o.lfw_dir, o.lfw_min_images);
    const FaceFrame fr = lfw_face_frame();
    size_t n = lfw.images.size();
    // Spread the cap over all people: every k-th image.
    const size_t step = max_lfw > 0 ? std::max<size_t>(1, n / static_cast<size_t>(max_lfw)) : 1;
    Progress bar("[scenes] decoding LFW", n / step);
    for (size_t i = 0, k = 0; i < n; i += step, ++k) {
      FaceSource f;
      f.img = decode_jpeg_file(lfw.images[i].path);
      const float bw = fr.w * f.img.width;
      f.side = bw / 0.8f;  // the ANet box (width 0.8 x height) -> its height
      f.cx = fr.cx * f.img.width;
      f.cy = fr.cy * f.img.height;
      p.train_faces.push_back(std::move(f));
      if (k % 256 == 0) bar.update(k);
    }
    bar.finish();
  }
  const auto objs = list_object_images(o.objects_dir);
  if (objs.size() < 10) throw std::runtime_error("need at least 10 object photos in " + o.objects_dir);
  for (size_t i = 0; i < objs.size(); ++i) {
    RgbImage im = decode_jpeg_file(objs[i]);
    (i % 10 == 0 ? p.val_objects : p.train_objects).push_back(im);
    p.all_objects.push_back(std::move(im));
  }
  if (p.train_faces.empty() || p.val_faces.empty()) throw std::runtime_error("no faces for scenes");
  std::fprintf(stderr, "[scenes] %zu training faces, %zu validation faces, %zu/%zu objects (train/val)\n",
               p.train_faces.size(), p.val_faces.size(), p.train_objects.size(), p.val_objects.size());
  return p;
}

Scene compose_train_scene(const ScenePools& p, const InputSpec& in, std::mt19937& rng, float large_prob,
                          float large_max, float face_min, float face_max) {
  const int W = in.width, H = in.height;
  // 80%: the input's own aspect; 20%: a 16:9 frame letterboxed at the top-left.
  const int CH = uni(rng, 0, 1) < 0.2f ? std::min(H, static_cast<int>(std::lround(W * 9.0 / 16.0))) : H;
  std::vector<float> rgb, patch;
  background(p.train_objects[rng() % p.train_objects.size()], W, CH, rng, true, rgb);
  rgb.resize(static_cast<size_t>(W) * H * 3, 0.0f);
  jitter(rgb, rng, 0.15f);

  // Distractors: object patches pasted like faces (feathered or hard), so a
  // pasted rectangle or a soft blob edge is never evidence of a face.
  const int n_distract = static_cast<int>(rng() % 3);
  for (int d = 0; d < n_distract; ++d) {
    const RgbImage& ob = p.train_objects[rng() % p.train_objects.size()];
    const int w = static_cast<int>(std::exp(uni(rng, std::log(12.0f), std::log(80.0f))));
    const int h = std::max(4, static_cast<int>(w * std::exp(uni(rng, -0.3f, 0.3f))));
    const float side = uni(rng, 0.2f, 0.8f) * std::min(ob.width, ob.height);
    sample_region(ob, uni(rng, 0, ob.width - side), uni(rng, 0, ob.height - side), side, side * h / w, w, h,
                  false, patch);
    jitter(patch, rng, 0.2f);
    paste(rgb, W, CH, patch, static_cast<int>(uni(rng, -w / 4.0f, W - 0.75f * w)),
          static_cast<int>(uni(rng, -h / 4.0f, CH - 0.75f * h)), w, h, uni(rng, 0, 1) < 0.5f, uni(rng, 2, 6),
          uni(rng, 0.1f, 0.4f));
  }

  Scene s = unlabelled(p);
  const float r = uni(rng, 0, 1);
  // Drawn only when enabled, so that large_prob = 0 reproduces the old scenes exactly.
  const bool large = large_prob > 0 && uni(rng, 0, 1) < large_prob;
  const int n_faces = large ? 1 : r < 0.3f ? 0 : r < 0.7f ? 1 : r < 0.9f ? 2 : 3;
  for (int k = 0; k < n_faces; ++k) {
    const FaceSource& f = p.train_faces[rng() % p.train_faces.size()];
    // Framing around the test-crop square: tighter/looser, off-centre, aspect jitter.
    const float sc = uni(rng, 0.75f, 1.15f), asp = std::exp(uni(rng, -0.12f, 0.12f));
    const float sw = f.side * sc * std::sqrt(asp), sh = f.side * sc / std::sqrt(asp);
    const float cx = f.cx + uni(rng, -0.07f, 0.07f) * sw, cy = f.cy + uni(rng, -0.07f, 0.07f) * sh;
    if (large) {
      // One frame-filling face, possibly cut by the border (up to a quarter per axis).
      const int h = std::max(8, static_cast<int>(uni(rng, 0.45f, std::max(0.5f, large_max)) * CH));
      const int w = std::max(8, static_cast<int>(std::lround(h * sw / sh)));
      const int x = static_cast<int>(std::floor(uni(rng, -0.25f * w, std::max(-0.25f * w, W - 0.75f * w))));
      const int y = static_cast<int>(std::floor(uni(rng, -0.25f * h, std::max(-0.25f * h, CH - 0.75f * h))));
      sample_region(f.img, cx - sw / 2, cy - sh / 2, sw, sh, w, h, uni(rng, 0, 1) < 0.5f, patch);
      jitter(patch, rng, 0.2f);
      const bool hard = uni(rng, 0, 1) < 0.25f;
      paste(rgb, W, CH, patch, x, y, w, h, hard, uni(rng, 2, 6), uni(rng, 0.15f, 0.45f));
      const float x0 = std::max(0, x), y0 = std::max(0, y);
      add_face(s, {x0, y0, std::min<float>(W, x + w) - x0, std::min<float>(CH, y + h) - y0}, f.attrs);
      continue;
    }
    const int w = static_cast<int>(std::exp(uni(rng, std::log(face_min), std::log(face_max))));
    const int h = std::max(4, static_cast<int>(std::lround(w * sh / sw)));
    if (w >= W - 2 || h >= CH - 2) continue;
    FaceRect fr;
    bool placed = false;
    for (int t = 0; t < 12 && !placed; ++t) {
      fr = {std::floor(uni(rng, 0, static_cast<float>(W - w))),
            std::floor(uni(rng, 0, static_cast<float>(CH - h))), static_cast<float>(w),
            static_cast<float>(h)};
      placed = true;
      for (const auto& o : s.faces) placed = placed && overlap_iou(o, fr) < 0.05f;
    }
    if (!placed) continue;
    sample_region(f.img, cx - sw / 2, cy - sh / 2, sw, sh, w, h, uni(rng, 0, 1) < 0.5f, patch);
    jitter(patch, rng, 0.2f);
    const bool hard = uni(rng, 0, 1) < 0.25f;
    paste(rgb, W, CH, patch, static_cast<int>(fr.x), static_cast<int>(fr.y), w, h, hard, uni(rng, 2, 6),
          uni(rng, 0.15f, 0.45f));
    add_face(s, fr, f.attrs);
  }
  return finish(rgb, W, H, CH, in, std::move(s));
}

int hide_patches(Scene& s, float prob, const std::vector<int>& patch_sizes, std::mt19937& rng) {
  if (prob <= 0 || patch_sizes.empty()) return 0;
  const int side = patch_sizes[rng() % patch_sizes.size()];
  if (side <= 0) return 0;
  const int ox = static_cast<int>(rng() % static_cast<uint32_t>(side)),
            oy = static_cast<int>(rng() % static_cast<uint32_t>(side));
  int hidden = 0;
  // Patch (gx, gy) covers [gx * side - ox, (gx + 1) * side - ox) x the same in y, clipped to the scene.
  for (int y0 = -oy; y0 < s.height; y0 += side)
    for (int x0 = -ox; x0 < s.width; x0 += side) {
      if (uni(rng, 0, 1) >= prob) continue;
      for (int y = std::max(0, y0); y < std::min(s.height, y0 + side); ++y) {
        const int xa = std::max(0, x0), xb = std::min(s.width, x0 + side);
        float* row = &s.pixels[(static_cast<size_t>(y) * s.width + xa) * 3];
        std::fill(row, row + static_cast<size_t>(xb - xa) * 3, 0.0f);
        hidden += xb - xa;
      }
    }
  return hidden;
}

Scene compose_val_scene(const ScenePools& p, const InputSpec& in, uint64_t seed, int index, bool face_free) {
  std::mt19937 rng(static_cast<uint32_t>(seed * 1000003ull + static_cast<uint64_t>(index) * 7919ull + 17));
  const int W = in.width, H = in.height;
  std::vector<float> rgb, patch;
  background(p.val_objects[rng() % p.val_objects.size()], W, H, rng, false, rgb);
  Scene s = unlabelled(p);
  const int r = index % 10;  // 10% face-free, 10% two faces, 80% one
  const int n_faces = face_free || r == 0 ? 0 : r == 1 ? 2 : 1;
  // 48-140 px on a 320-wide frame, at this input's scale.
  const float scale = W / 320.0f;
  for (int k = 0; k < n_faces; ++k) {
    const FaceSource& f = p.val_faces[rng() % p.val_faces.size()];
    int w = static_cast<int>(std::lround(uni(rng, 48, 140) * scale));
    int h = w;  // square test-crop-like image
    FaceRect fr;
    bool placed = false;
    for (int t = 0; t < 50 && !placed; ++t) {
      if (t == 25) w = h = std::max(8, w / 2);
      fr = {std::floor(uni(rng, 0, static_cast<float>(W - w))),
            std::floor(uni(rng, 0, static_cast<float>(H - h))), static_cast<float>(w), static_cast<float>(h)};
      placed = true;
      for (const auto& o : s.faces) placed = placed && overlap_iou(o, fr) == 0;
    }
    if (!placed) continue;
    sample_square(f.img, f.cx, f.cy, f.side, f.side, w, h, patch);
    paste(rgb, W, H, patch, static_cast<int>(fr.x), static_cast<int>(fr.y), w, h, true, 2, 1);
    add_face(s, fr, f.attrs);
  }
  return finish(rgb, W, H, H, in, std::move(s));
}

Scene compose_large_val_scene(const ScenePools& p, const InputSpec& in, uint64_t seed, int index,
                              float large_max) {
  std::mt19937 rng(static_cast<uint32_t>(seed * 1000003ull + static_cast<uint64_t>(index) * 7919ull + 29));
  const int W = in.width, H = in.height;
  std::vector<float> rgb, patch;
  background(p.val_objects[rng() % p.val_objects.size()], W, H, rng, false, rgb);
  Scene s = unlabelled(p);
  const FaceSource& f = p.val_faces[rng() % p.val_faces.size()];
  const int side = std::max(8, static_cast<int>(std::lround(uni(rng, 0.45f, std::max(0.5f, large_max)) * H)));
  const int x = static_cast<int>(std::floor(uni(rng, -0.2f * side, std::max(-0.2f * side, W - 0.8f * side))));
  const int y = static_cast<int>(std::floor(uni(rng, -0.2f * side, std::max(-0.2f * side, H - 0.8f * side))));
  sample_square(f.img, f.cx, f.cy, f.side, f.side, side, side, patch);
  paste(rgb, W, H, patch, x, y, side, side, true, 2, 1);
  const float x0 = std::max(0, x), y0 = std::max(0, y);
  add_face(s, {x0, y0, std::min<float>(W, x + side) - x0, std::min<float>(H, y + side) - y0}, f.attrs);
  return finish(rgb, W, H, H, in, std::move(s));
}

}  // namespace faceattr::train
