#include <algorithm>
#include <cmath>
#include <functional>

#include "stages/lnet_common.h"

namespace faceattr::train::lnet {
namespace {

float box_iou(const pipeline::FaceBox& b, const FaceRect& r) {
  const float ix = std::min(b.x + b.w, r.x + r.w) - std::max(b.x, r.x);
  const float iy = std::min(b.y + b.h, r.y + r.h) - std::max(b.y, r.y);
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (b.w * b.h + r.w * r.h - ix * iy);
}

// Scores the boxes decode(i, boxes) gives (at most 8) for each scene i in `which`.
LocResult score_scenes(const std::vector<Scene>& scenes, const std::vector<int>& which,
                       const std::function<int(int, pipeline::FaceBox*)>& decode) {
  pipeline::FaceBox boxes[8];
  LocResult r;
  int found = 0, free_fp = 0, extra = 0, face_scenes = 0, hits = 0;
  double iou_sum = 0;
  for (int i : which) {
    const Scene& s = scenes[static_cast<size_t>(i)];
    const int n = decode(i, boxes);
    ++r.scenes;
    if (s.faces.empty()) {
      ++r.free_scenes;
      free_fp += n > 0;
      continue;
    }
    ++face_scenes;
    bool used[8] = {};
    for (const auto& f : s.faces) {
      ++r.faces;
      for (int k = 0; k < n; ++k) {
        const float cx = boxes[k].x + boxes[k].w / 2, cy = boxes[k].y + boxes[k].h / 2;
        if (cx >= f.x && cx < f.x + f.w && cy >= f.y && cy < f.y + f.h) {
          ++hits;
          break;
        }
      }
      int best = -1;
      float bi = 0.5f;
      for (int k = 0; k < n; ++k)
        if (!used[k] && box_iou(boxes[k], f) >= bi) bi = box_iou(boxes[k], f), best = k;
      if (best >= 0) used[best] = true, ++found, iou_sum += bi;
    }
    for (int k = 0; k < n; ++k) extra += !used[k];
  }
  r.found = r.faces ? static_cast<double>(found) / r.faces : 0;
  r.free_with_face = r.free_scenes ? static_cast<double>(free_fp) / r.free_scenes : 0;
  r.extra_per_scene = face_scenes ? static_cast<double>(extra) / face_scenes : 0;
  r.mean_iou = found ? iou_sum / found : 0;
  r.hit = r.faces ? static_cast<double>(hits) / r.faces : 0;
  return r;
}

// Median of true side / decoded side over the faces of `which` that some decoded box
// is centred on (the first such box, strongest first); 0 when there is none.
float median_side_ratio(const std::vector<Scene>& scenes, const std::vector<int>& which,
                        const std::function<int(int, pipeline::FaceBox*)>& decode) {
  pipeline::FaceBox boxes[8];
  std::vector<float> ratios;
  for (int i : which) {
    const Scene& s = scenes[static_cast<size_t>(i)];
    const int n = decode(i, boxes);
    for (const auto& f : s.faces)
      for (int k = 0; k < n; ++k) {
        const float cx = boxes[k].x + boxes[k].w / 2, cy = boxes[k].y + boxes[k].h / 2;
        if (cx >= f.x && cx < f.x + f.w && cy >= f.y && cy < f.y + f.h) {
          ratios.push_back(std::sqrt(f.w * f.h) / std::sqrt(boxes[k].w * boxes[k].h));
          break;
        }
      }
  }
  if (ratios.empty()) return 0.0f;
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  return ratios[ratios.size() / 2];
}

float fit_box_scale(const torch::Tensor& maps, const std::vector<Scene>& scenes,
                    const std::vector<int>& which, pipeline::DecodeParams p, float cell_w, float cell_h) {
  p.box_scale = 1.0f;
  const int mh = static_cast<int>(maps.size(1)), mw = static_cast<int>(maps.size(2));
  pipeline::Decoder dec(p, mh, mw, cell_w, cell_h, 8);
  auto m = maps.contiguous();
  const float r = median_side_ratio(scenes, which, [&](int i, pipeline::FaceBox* boxes) {
    return dec.decode(m.data_ptr<float>() + static_cast<int64_t>(i) * mh * mw, 0.0f, boxes);
  });
  return r > 0 ? r : 1.0f;
}

// Least-squares fit of the log-linear size model (DecodeParams::size_*) on the boxes whose
// centre falls inside a face: log(true side) ~ bias + w1 logit(p1) + w2 logit(p2). The
// candidates do not depend on the size model except through NMS: two rounds.
void fit_size_model(const torch::Tensor& maps, const torch::Tensor& coarse, const std::vector<Scene>& scenes,
                    const std::vector<int>& which, pipeline::DecodeParams* p, float cell_w, float cell_h) {
  const int mh = static_cast<int>(maps.size(1)), mw = static_cast<int>(maps.size(2));
  auto m = maps.contiguous(), c = coarse.contiguous();
  auto logit = [](float v) {
    v = std::min(1.0f - 1e-4f, std::max(1e-4f, v));
    return std::log(v / (1.0f - v));
  };
  auto near = [&](const float* map, float x, float y) {  // = Decoder::near_peak
    const int ci = static_cast<int>(std::floor(y / cell_h)), cj = static_cast<int>(std::floor(x / cell_w));
    float best = 0;
    for (int i = std::max(0, ci - 1); i <= std::min(mh - 1, ci + 1); ++i)
      for (int j = std::max(0, cj - 1); j <= std::min(mw - 1, cj + 1); ++j)
        best = std::max(best, map[i * mw + j]);
    return best;
  };
  if (p->size_bias <= 0) p->size_bias = std::log(4.0f * cell_w), p->size_w1 = p->size_w2 = 0;
  for (int round = 0; round < 2; ++round) {
    pipeline::Decoder dec(*p, mh, mw, cell_w, cell_h, 8);
    pipeline::FaceBox boxes[8];
    double A[3][3] = {}, b[3] = {};
    int n_pairs = 0;
    for (int i : which) {
      const Scene& s = scenes[static_cast<size_t>(i)];
      const float* fm = m.data_ptr<float>() + static_cast<int64_t>(i) * mh * mw;
      const float* cm = c.data_ptr<float>() + static_cast<int64_t>(i) * mh * mw;
      const int n = dec.decode(fm, 0.0f, boxes, cm);
      for (const auto& f : s.faces)
        for (int k = 0; k < n; ++k) {
          const float cx = boxes[k].x + boxes[k].w / 2, cy = boxes[k].y + boxes[k].h / 2;
          if (cx >= f.x && cx < f.x + f.w && cy >= f.y && cy < f.y + f.h) {
            const double x[3] = {1.0, logit(near(fm, cx, cy)), logit(near(cm, cx / 2, cy / 2))};
            const double y = std::log(std::sqrt(f.w * f.h));
            for (int r = 0; r < 3; ++r) {
              b[r] += x[r] * y;
              for (int q = 0; q < 3; ++q) A[r][q] += x[r] * x[q];
            }
            ++n_pairs;
            break;
          }
        }
    }
    if (n_pairs < 10) return;
    for (int r = 0; r < 3; ++r) A[r][r] += 1e-3;  // ridge: a constant logit column stays solvable
    for (int a = 0; a < 3; ++a)
      for (int r = 0; r < 3; ++r) {
        if (r == a) continue;
        const double f = A[r][a] / A[a][a];
        for (int q = 0; q < 3; ++q) A[r][q] -= f * A[a][q];
        b[r] -= f * b[a];
      }
    p->size_bias = static_cast<float>(std::clamp(b[0] / A[0][0], 0.01, 20.0));
    p->size_w1 = static_cast<float>(std::clamp(b[1] / A[1][1], -10.0, 10.0));
    p->size_w2 = static_cast<float>(std::clamp(b[2] / A[2][2], -10.0, 10.0));
  }
}

// Decodes scene i of the pyramid maps (boxes: at most the decoder's max_faces).
int decode_levels(pipeline::Decoder& dec, const Levels& lv, int i, pipeline::FaceBox* boxes) {
  const int64_t cells = lv.maps[0].size(1) * lv.maps[0].size(2);
  const float* maps[8];
  const int L = std::min<int>(8, static_cast<int>(lv.maps.size()));
  for (int l = 0; l < L; ++l) maps[l] = lv.maps[static_cast<size_t>(l)].data_ptr<float>() + i * cells;
  return dec.decode_passes(maps, lv.rx.data(), lv.ry.data(), L, 0.0f, boxes);
}

// Keeps `p` in `best` when the tuning key of its result `r` beats best_key.
void keep_best(const pipeline::DecodeParams& p, const LocResult& r, Tuned& best, double& best_key) {
  const double key = tuning_key(r);
  if (key > best_key) best_key = key, best.params = p, best.tune = r;
}

}  // namespace

LocResult localise(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& which,
                   const pipeline::DecodeParams& p, float cell_w, float cell_h, const torch::Tensor& coarse) {
  const int mh = static_cast<int>(maps.size(1)), mw = static_cast<int>(maps.size(2));
  pipeline::Decoder dec(p, mh, mw, cell_w, cell_h, 8);
  auto m = maps.contiguous();
  auto c = coarse.defined() ? coarse.contiguous() : coarse;
  return score_scenes(scenes, which, [&](int i, pipeline::FaceBox* boxes) {
    const int64_t off = static_cast<int64_t>(i) * mh * mw;
    return dec.decode(m.data_ptr<float>() + off, 0.0f, boxes,
                      c.defined() ? c.data_ptr<float>() + off : nullptr);
  });
}

double tuning_key(const LocResult& r) {
  return r.found - 2.0 * std::max(0.0, r.free_with_face - 0.02) - 0.01 * r.extra_per_scene;
}

Tuned tune_decoder(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& tune,
                   const std::vector<int>& report, float cell_w, float cell_h, bool coarse,
                   const torch::Tensor& coarse_maps, const std::vector<int>& fit, bool size_model) {
  if (coarse_maps.defined() && !size_model) {
    // Coarse pass, sizes from region areas: the one-pass decoder tuned as usual on `tune`,
    // then the coarse threshold x its box scale on `fit` (all sizes), which can only add
    // boxes (large faces) to the one-pass result.
    Tuned best = tune_decoder(maps, scenes, tune, report, cell_w, cell_h, coarse);
    const std::vector<int>& all = fit.empty() ? tune : fit;
    const pipeline::DecodeParams one = best.params;
    const LocResult one_all = localise(maps, scenes, all, one, cell_w, cell_h);
    double best_key = tuning_key(one_all);
    for (float h : {0.9f, 0.95f, 0.98f, 0.99f, 0.995f, 0.998f, 0.999f})
      for (float hs : {1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.3f, 2.6f, 3.0f}) {
        pipeline::DecodeParams p = one;
        p.half_threshold = h;
        p.half_box_scale = hs;
        const LocResult r = localise(maps, scenes, all, p, cell_w, cell_h, coarse_maps);
        // The coarse pass may add at most 1 point of face-free scenes with a face.
        if (r.free_with_face > one_all.free_with_face + 0.01 + 1e-9) continue;
        const double key = tuning_key(r);
        if (key > best_key) best_key = key, best.params = p;
      }
    best.tune = localise(maps, scenes, tune, best.params, cell_w, cell_h, coarse_maps);
    best.report = localise(maps, scenes, report, best.params, cell_w, cell_h, coarse_maps);
    return best;
  }
  if (coarse_maps.defined()) {
    // Coarse pass + size model: grid over both thresholds x region fraction (centroids),
    // size model fitted per cell on the `fit` scenes (all sizes; default: `tune`), then its
    // overall scale x {0.9, 1, 1.1}.
    const std::vector<float> thr = {0.8f, 0.9f, 0.95f, 0.97f, 0.98f, 0.99f, 0.995f};
    const std::vector<float> half = {0.9f, 0.95f, 0.98f, 0.99f, 0.995f, 0.998f, 0.999f};
    Tuned best;
    double best_key = -1e9;
    for (float t : thr)
      for (float h : half)
        for (float f : {0.5f, 0.75f}) {
          pipeline::DecodeParams p;
          p.threshold = t;
          p.half_threshold = h;
          p.region_fraction = f;
          fit_size_model(maps, coarse_maps, scenes, fit.empty() ? tune : fit, &p, cell_w, cell_h);
          const float bias = p.size_bias;
          for (float sm : {0.9f, 1.0f, 1.1f}) {
            p.size_bias = std::max(0.01f, bias + std::log(sm));
            keep_best(p, localise(maps, scenes, tune, p, cell_w, cell_h, coarse_maps), best, best_key);
          }
        }
    best.report = localise(maps, scenes, report, best.params, cell_w, cell_h, coarse_maps);
    return best;
  }
  const std::vector<float> thr =
      coarse ? std::vector<float>{0.3f, 0.5f, 0.7f, 0.85f}
             : std::vector<float>{0.2f, 0.3f,  0.4f,  0.5f,  0.6f,  0.7f,   0.8f,  0.85f,
                                  0.9f, 0.95f, 0.97f, 0.98f, 0.99f, 0.995f, 0.998f};
  const std::vector<float> frac =
      coarse ? std::vector<float>{0.4f, 0.6f}
             : std::vector<float>{0.25f, 0.35f, 0.45f, 0.55f, 0.65f, 0.75f, 0.85f, 0.92f};
  const std::vector<float> scale_mul =
      coarse ? std::vector<float>{1.0f} : std::vector<float>{0.8f, 0.9f, 1.0f, 1.1f, 1.25f};
  Tuned best;
  double best_key = -1e9;
  for (float t : thr)
    for (float f : frac) {
      pipeline::DecodeParams p;
      p.threshold = t;
      p.region_fraction = f;
      p.box_aspect = 1.0f;
      p.nms_iou = 0.3f;
      const float bs = fit_box_scale(maps, scenes, tune, p, cell_w, cell_h);
      for (float sm : scale_mul) {
        p.box_scale = std::clamp(bs * sm, 0.05f, 100.0f);
        keep_best(p, localise(maps, scenes, tune, p, cell_w, cell_h), best, best_key);
      }
    }
  best.report = localise(maps, scenes, report, best.params, cell_w, cell_h);
  return best;
}

Levels make_levels(const std::vector<Scene>& scenes, const InputSpec& in, int levels, double factor,
                   const std::function<torch::Tensor(const torch::Tensor&)>& maps_of) {
  Levels lv;
  for (int l = 0; l < levels; ++l) {
    const double shrink = std::pow(factor, l);
    image::Letterbox g;  // level 0: the scenes as composed (scale 1)
    g.scale_x = g.scale_y = 1.0f;
    lv.maps.push_back(maps_of(level_input(scenes, in, shrink, &g)).contiguous());
    // Level l's input pixel -> level 0's, from the SDK's own geometry (as faces_of_passes).
    lv.rx.push_back(1.0f / g.scale_x);
    lv.ry.push_back(1.0f / g.scale_y);
  }
  return lv;
}

LocResult localise_levels(const Levels& lv, const std::vector<Scene>& scenes, const std::vector<int>& which,
                          const pipeline::DecodeParams& p, float cell_w, float cell_h) {
  pipeline::Decoder dec(p, static_cast<int>(lv.maps[0].size(1)), static_cast<int>(lv.maps[0].size(2)), cell_w,
                        cell_h, 8);
  return score_scenes(scenes, which,
                      [&](int i, pipeline::FaceBox* boxes) { return decode_levels(dec, lv, i, boxes); });
}

Tuned tune_pyramid(const Levels& lv, double factor, const std::vector<Scene>& scenes,
                   const std::vector<int>& tune, const std::vector<int>& report, float cell_w, float cell_h) {
  Tuned best;
  double best_key = -1e9;
  const int mh = static_cast<int>(lv.maps[0].size(1)), mw = static_cast<int>(lv.maps[0].size(2));
  const int L = static_cast<int>(lv.maps.size());
  for (float t : {0.3f, 0.5f, 0.7f, 0.8f, 0.85f, 0.9f, 0.95f, 0.97f, 0.98f, 0.99f, 0.995f})
    for (float f : {0.0f, 0.5f, 0.8f}) {
      pipeline::DecodeParams p;
      p.threshold = t;
      p.region_fraction = f;
      p.box_aspect = 1.0f;
      p.nms_iou = 0.3f;
      p.pyramid_levels = static_cast<float>(L);
      p.pyramid_factor = static_cast<float>(factor);
      p.pyramid_side = 1.0f;
      // Median ratio of true side / side at pyramid_side 1 over the faces a box is centred on.
      pipeline::Decoder dec(p, mh, mw, cell_w, cell_h, 8);
      const float side = median_side_ratio(
          scenes, tune, [&](int i, pipeline::FaceBox* boxes) { return decode_levels(dec, lv, i, boxes); });
      if (side <= 0) continue;
      for (float sm : {0.85f, 0.92f, 1.0f, 1.08f, 1.17f}) {
        p.pyramid_side = std::clamp(side * sm, 0.5f, 1000.0f);
        keep_best(p, localise_levels(lv, scenes, tune, p, cell_w, cell_h), best, best_key);
      }
    }
  best.report = localise_levels(lv, scenes, report, best.params, cell_w, cell_h);
  return best;
}

}  // namespace faceattr::train::lnet
