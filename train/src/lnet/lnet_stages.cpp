// LNet stages: object pre-training (rotation), weakly supervised training on
// composed scenes, decoder tuning + export. See train/README.md ("LNet").
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include "engine/fit.h"
#include "engine/history.h"
#include "image/preprocess.h"
#include "lnet/lnet.h"
#include "lnet/scenes.h"
#include "model_def.h"
#include "pipeline/lnet_decode.h"
#include "quant/golden.h"
#include "quant/int8.h"
#include "quant/sdk_check.h"
#include "quant/to_modeldef.h"
#include "stages/stages.h"
#include "engine/generated_loop.h"
#include "util/progress.h"

namespace faceattr::train {
namespace fs = std::filesystem;
namespace {

InputSpec lnet_input(const Options& o) {
  InputSpec in = o.input;
  in.width = o.lnet_input_width;
  in.height = o.lnet_input_height;
  return in;
}

int n_tags(const ScenePools& p) { return static_cast<int>(p.attribute_names.size()) + 1; }

torch::Tensor scenes_nchw(const std::vector<Scene>& sc) {
  const int64_t B = static_cast<int64_t>(sc.size()), H = sc[0].height, W = sc[0].width;
  auto x = torch::empty({B, H, W, 3}, torch::kFloat32);
  for (int64_t i = 0; i < B; ++i)
    std::copy(sc[i].pixels.begin(), sc[i].pixels.end(), x.data_ptr<float>() + i * H * W * 3);
  return x.permute({0, 3, 1, 2}).contiguous();
}

// Per-cell face targets: 1 where the cell centre lies inside a pasted rectangle (--box-supervision).
torch::Tensor box_targets(const std::vector<Scene>& sc, int mh, int mw, float cell_w, float cell_h) {
  auto t = torch::zeros({static_cast<int64_t>(sc.size()), 1, mh, mw});
  auto a = t.accessor<float, 4>();
  for (size_t b = 0; b < sc.size(); ++b)
    for (const auto& f : sc[b].faces)
      for (int i = 0; i < mh; ++i)
        for (int j = 0; j < mw; ++j) {
          const float cx = (j + 0.5f) * cell_w, cy = (i + 0.5f) * cell_h;
          if (cx >= f.x && cx < f.x + f.w && cy >= f.y && cy < f.y + f.h) a[b][0][i][j] = 1;
        }
  return t;
}

torch::Tensor pool_maps(const torch::Tensor& maps, const Options& o) {
  auto flat = maps.flatten(2);  // [B, T, HW]
  if (o.lnet_pool == "max") return std::get<0>(flat.max(2));
  if (o.lnet_pool == "mean") return flat.mean(2);
  const double r = o.lnet_lse_r;
  return (torch::logsumexp(flat * r, 2) - std::log(static_cast<double>(flat.size(2)))) / r;
}


// ---- Localisation metrics with the SDK's decoder ----

struct LocResult {
  double found = 0;            // faces found at IoU >= 0.5 / faces
  double free_with_face = 0;   // face-free scenes with >= 1 box / face-free scenes
  double extra_per_scene = 0;  // unmatched boxes per scene with faces
  double mean_iou = 0;         // over found faces
  double hit = 0;              // faces with a box centre inside them (localised, whatever the box size)
  int faces = 0, free_scenes = 0, scenes = 0;
};

float box_iou(const pipeline::FaceBox& b, const FaceRect& r) {
  const float ix = std::min(b.x + b.w, r.x + r.w) - std::max(b.x, r.x);
  const float iy = std::min(b.y + b.h, r.y + r.h) - std::max(b.y, r.y);
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (b.w * b.h + r.w * r.h - ix * iy);
}

// The coarse pass's input: the scenes at half size, letterboxed at the top-left (zeros
// elsewhere), as the SDK's letterbox with shrink 2 (area average = 2x2 mean).
torch::Tensor half_size_input(const torch::Tensor& x) {
  auto xh = torch::zeros_like(x);
  xh.slice(2, 0, x.size(2) / 2).slice(3, 0, x.size(3) / 2).copy_(torch::avg_pool2d(x, 2));
  return xh;
}

// Pyramid level input as the SDK makes it: each scene as an 8-bit RGB frame (its pixels
// de-normalised and rounded, as a camera frame would be), letterboxed by the SDK's own
// image::letterbox_normalize at 1 / shrink of the input (zeros elsewhere). Level 0 (shrink 1)
// is the scenes as composed.
// geo (optional): the SDK's letterbox geometry of the level (all scenes are input-sized).
torch::Tensor level_input(const std::vector<Scene>& scenes, const InputSpec& in, double shrink,
                          image::Letterbox* geo = nullptr) {
  const int64_t N = static_cast<int64_t>(scenes.size());
  auto out = torch::zeros({N, in.height, in.width, 3});
  std::vector<uint8_t> rgb;
  for (int64_t i = 0; i < N; ++i) {
    const Scene& s = scenes[static_cast<size_t>(i)];
    float* dst = out.data_ptr<float>() + i * in.height * in.width * 3;
    if (shrink < 1.0001) {
      std::copy(s.pixels.begin(), s.pixels.end(), dst);
      continue;
    }
    rgb.resize(s.pixels.size());
    for (size_t k = 0; k < s.pixels.size(); ++k) {
      const int c = static_cast<int>(k % 3);
      const float v = (s.pixels[k] * in.std[c] + in.mean[c]) * 255.0f;
      rgb[k] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
    const faceattr_image img{rgb.data(), s.width, s.height, s.width * 3, FACEATTR_PIXEL_RGB};
    image::Letterbox g;
    const Status st = image::letterbox_normalize(img, in.width, in.height, in.mean, in.std, dst, &g,
                                                 static_cast<float>(shrink));
    if (!st.is_ok()) throw std::runtime_error("pyramid level: " + st.message());
    if (geo) *geo = g;
  }
  return out.permute({0, 3, 1, 2}).contiguous();
}

// Scale selectivity of the response (diagnostic for the pyramid decoder): for every face whose
// scene is in `which`, the strongest response in the 3x3 cells around its centre at each level;
// the level of the maximum (parabola-refined in log scale) predicts log(side) up to a constant.
// Prints the rms error of that prediction against a constant, and the mean response per level
// for bins of the true side.
void pyramid_diagnostic(const std::vector<torch::Tensor>& level_maps, double factor,
                        const std::vector<Scene>& scenes, const std::vector<int>& which, float cell) {
  const int L = static_cast<int>(level_maps.size());
  const int mh = static_cast<int>(level_maps[0].size(1)), mw = static_cast<int>(level_maps[0].size(2));
  std::vector<double> logs, lhat;
  const double ts[] = {0.3, 0.5, 0.7, 0.85};
  std::vector<std::vector<double>> cross(4);
  const double edges[] = {0, 30, 38, 48, 60, 1e9};
  std::vector<std::vector<double>> bin_sum(5, std::vector<double>(L, 0.0));
  std::vector<int> bin_n(5, 0);
  for (int i : which) {
    const Scene& s = scenes[static_cast<size_t>(i)];
    for (const auto& f : s.faces) {
      const double side = std::sqrt(static_cast<double>(f.w) * f.h);
      std::vector<double> r(L);
      for (int l = 0; l < L; ++l) {
        const double sc = std::pow(factor, -l);
        const int ci = static_cast<int>((f.y + f.h / 2) * sc / cell),
                  cj = static_cast<int>((f.x + f.w / 2) * sc / cell);
        const float* m = level_maps[l].data_ptr<float>() + static_cast<int64_t>(i) * mh * mw;
        double best = 0;
        for (int di = -1; di <= 1; ++di)
          for (int dj = -1; dj <= 1; ++dj) {
            const int a = ci + di, b = cj + dj;
            if (a >= 0 && a < mh && b >= 0 && b < mw) best = std::max<double>(best, m[a * mw + b]);
          }
        r[l] = best;
      }
      int bl = static_cast<int>(std::max_element(r.begin(), r.end()) - r.begin());
      double lc = bl;
      if (bl > 0 && bl < L - 1) {
        const double a = r[bl - 1], b = r[bl], c = r[bl + 1], den = a - 2 * b + c;
        if (den < 0) lc = bl + 0.5 * (a - c) / den;
      }
      logs.push_back(std::log(side));
      lhat.push_back(lc * std::log(factor));
      // The level where the response first falls below t (linear in between): the face has
      // become too small for the net there, so side x factor^-level ~ constant.
      for (int k = 0; k < 4; ++k) {
        double c = L - 1;
        if (r[0] < ts[k])
          c = 0;
        else
          for (int l = 1; l < L; ++l)
            if (r[l] < ts[k]) {
              c = (l - 1) + (r[l - 1] - ts[k]) / std::max(1e-9, r[l - 1] - r[l]);
              break;
            }
        cross[k].push_back(c * std::log(factor));
      }
      int bin = 0;
      while (side >= edges[bin + 1]) ++bin;
      for (int l = 0; l < L; ++l) bin_sum[bin][l] += r[l];
      ++bin_n[bin];
    }
  }
  const size_t n = logs.size();
  if (n < 2) return;
  double ml = 0, mp = 0;
  for (size_t k = 0; k < n; ++k) ml += logs[k] / n, mp += (logs[k] - lhat[k]) / n;
  double v0 = 0, v1 = 0, cov = 0, vx = 0, mx = 0;
  for (size_t k = 0; k < n; ++k) mx += lhat[k] / n;
  for (size_t k = 0; k < n; ++k) {
    v0 += (logs[k] - ml) * (logs[k] - ml) / n;
    v1 += (logs[k] - lhat[k] - mp) * (logs[k] - lhat[k] - mp) / n;
    cov += (logs[k] - ml) * (lhat[k] - mx) / n;
    vx += (lhat[k] - mx) * (lhat[k] - mx) / n;
  }
  const double beta = vx > 0 ? cov / vx : 0;
  double v2 = 0;
  for (size_t k = 0; k < n; ++k) {
    const double e = logs[k] - ml - beta * (lhat[k] - mx);
    v2 += e * e / n;
  }
  std::fprintf(
      stderr,
      "[lnet-export] pyramid (%d levels, factor %.3f, %zu faces): rms log-side error: constant %.3f, "
      "argmax level %.3f, fitted slope %.3f (%.3f)\n",
      L, factor, n, std::sqrt(v0), std::sqrt(v1), beta, std::sqrt(v2));
  for (int k = 0; k < 4; ++k) {
    double cx = 0, cv = 0, xv = 0;
    for (size_t q = 0; q < n; ++q) cx += cross[k][q] / n;
    for (size_t q = 0; q < n; ++q)
      cv += (logs[q] - ml) * (cross[k][q] - cx) / n, xv += (cross[k][q] - cx) * (cross[k][q] - cx) / n;
    const double b = xv > 0 ? cv / xv : 0;
    double e2 = 0;
    for (size_t q = 0; q < n; ++q) {
      const double e = logs[q] - ml - b * (cross[k][q] - cx);
      e2 += e * e / n;
    }
    std::fprintf(stderr, "[lnet-export]   falls below %.2f: fitted slope %.3f, rms %.3f\n", ts[k], b,
                 std::sqrt(e2));
  }
  for (int b = 0; b < 5; ++b) {
    if (!bin_n[b]) continue;
    std::fprintf(stderr, "[lnet-export]   side %3.0f-%-3.0f (%4d):", edges[b], std::min(edges[b + 1], 999.0),
                 bin_n[b]);
    for (int l = 0; l < L; ++l) std::fprintf(stderr, " %.3f", bin_sum[b][l] / bin_n[b]);
    std::fprintf(stderr, "\n");
  }
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

// maps: [N, mh, mw] probabilities (CPU float); coarse: the same for half_size_input (or an
// undefined tensor: one pass). `which`: scene indices to use.
LocResult localise(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& which,
                   const pipeline::DecodeParams& p, float cell_w, float cell_h,
                   const torch::Tensor& coarse = {}) {
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

// Median of (true side / predicted side) over boxes whose centre falls inside a face.
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

// Faces found, minus 2x the share of face-free scenes showing a face beyond the
// 2% target, minus a little per extra box.
double tuning_key(const LocResult& r) {
  return r.found - 2.0 * std::max(0.0, r.free_with_face - 0.02) - 0.01 * r.extra_per_scene;
}

struct Tuned {
  pipeline::DecodeParams params;
  LocResult tune, report;
};

// Grid over threshold x region fraction x box scale (around the fitted median)
// on the `tune` scenes, maximising tuning_key; scored again on the `report` scenes.
Tuned tune_decoder(const torch::Tensor& maps, const std::vector<Scene>& scenes, const std::vector<int>& tune,
                   const std::vector<int>& report, float cell_w, float cell_h, bool coarse,
                   const torch::Tensor& coarse_maps = {}, const std::vector<int>& fit = {},
                   bool size_model = false) {
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
            LocResult r = localise(maps, scenes, tune, p, cell_w, cell_h, coarse_maps);
            const double key = tuning_key(r);
            if (key > best_key) best_key = key, best.params = p, best.tune = r;
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
        LocResult r = localise(maps, scenes, tune, p, cell_w, cell_h);
        const double key = tuning_key(r);
        if (key > best_key) best_key = key, best.params = p, best.tune = r;
      }
    }
  best.report = localise(maps, scenes, report, best.params, cell_w, cell_h);
  return best;
}

// Image-pyramid maps: level l = the scenes at factor^-l (level_input), its input pixel (x, y)
// = level 0's (x * rx[l], y * ry[l]).
struct Levels {
  std::vector<torch::Tensor> maps;  // [N, mh, mw] each, contiguous
  std::vector<float> rx, ry;
};

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

// Decodes scene i of the pyramid maps (boxes: at most the decoder's max_faces).
int decode_levels(pipeline::Decoder& dec, const Levels& lv, int i, pipeline::FaceBox* boxes) {
  const int64_t cells = lv.maps[0].size(1) * lv.maps[0].size(2);
  const float* maps[8];
  const int L = std::min<int>(8, static_cast<int>(lv.maps.size()));
  for (int l = 0; l < L; ++l) maps[l] = lv.maps[static_cast<size_t>(l)].data_ptr<float>() + i * cells;
  return dec.decode_passes(maps, lv.rx.data(), lv.ry.data(), L, 0.0f, boxes);
}

// localise() for the pyramid decoder.
LocResult localise_levels(const Levels& lv, const std::vector<Scene>& scenes, const std::vector<int>& which,
                          const pipeline::DecodeParams& p, float cell_w, float cell_h) {
  pipeline::Decoder dec(p, static_cast<int>(lv.maps[0].size(1)), static_cast<int>(lv.maps[0].size(2)), cell_w,
                        cell_h, 8);
  return score_scenes(scenes, which,
                      [&](int i, pipeline::FaceBox* boxes) { return decode_levels(dec, lv, i, boxes); });
}

// Pyramid decoder constants on the `tune` scenes: threshold x centroid floor x side (the median
// of true side / decoded side on the hit faces, times a few factors); scored on `report`.
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
        LocResult r = localise_levels(lv, scenes, tune, p, cell_w, cell_h);
        const double key = tuning_key(r);
        if (key > best_key) best_key = key, best.params = p, best.tune = r;
      }
    }
  best.report = localise_levels(lv, scenes, report, best.params, cell_w, cell_h);
  return best;
}

// Face response maps [N, mh, mw] of the module for scenes (batches of 64).
torch::Tensor module_maps(LNet& net, const torch::Tensor& x, const std::string& which) {
  torch::NoGradGuard ng;
  net->eval();
  std::vector<torch::Tensor> out;
  for (int64_t s = 0; s < x.size(0); s += 64) {
    auto t = net->tag_maps(x.slice(0, s, std::min<int64_t>(s + 64, x.size(0))));
    out.push_back(torch::sigmoid(which == "face" ? t.select(1, t.size(1) - 1) : t.mean(1)));
  }
  return torch::cat(out).contiguous();
}

std::vector<Scene> val_scenes(const ScenePools& p, const InputSpec& in, const Options& o, int n) {
  std::vector<Scene> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back(compose_val_scene(p, in, o.seed + 99, i));
  // Half as many again face-free scenes: the false-face rate needs more than 10% of n.
  for (int i = 0; i < n / 2; ++i) v.push_back(compose_val_scene(p, in, o.seed + 98, i, true));
  // Large faces (webcam framing), appended last; as many per n as lnet_val_large per lnet_val_scenes.
  const int n_large = o.lnet_val_scenes > 0
                          ? static_cast<int>(static_cast<int64_t>(o.lnet_val_large) * n / o.lnet_val_scenes)
                          : 0;
  for (int i = 0; i < n_large; ++i)
    v.push_back(compose_large_val_scene(p, in, o.seed + 97, i, static_cast<float>(o.lnet_large_face_max)));
  return v;
}

// Index subsets of val_scenes(n): the protocol scenes (incl. the face-free ones) and the large faces.
void split_val(int n, const std::vector<int>& which, std::vector<int>& protocol, std::vector<int>& large) {
  for (int i : which) (i < n + n / 2 ? protocol : large).push_back(i);
}

std::string fmt(double v, const char* f = "%.4f") {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

nlohmann::json loc_json(const LocResult& r) {
  return {{"found_iou50", r.found},
          {"face_free_scenes_with_a_face", r.free_with_face},
          {"extra_boxes_per_face_scene", r.extra_per_scene},
          {"face_centre_hit", r.hit},
          {"mean_iou_found", r.mean_iou},
          {"faces", r.faces},
          {"face_free_scenes", r.free_scenes},
          {"scenes", r.scenes}};
}

nlohmann::json params_json(const pipeline::DecodeParams& p) {
  return {{"threshold", p.threshold},
          {"region_fraction", p.region_fraction},
          {"box_scale", p.box_scale},
          {"box_aspect", p.box_aspect},
          {"nms_iou", p.nms_iou},
          {"half_threshold", p.half_threshold},
          {"half_box_scale", p.half_box_scale},
          {"size_bias", p.size_bias},
          {"size_w1", p.size_w1},
          {"size_w2", p.size_w2},
          {"pyramid_levels", p.pyramid_levels},
          {"pyramid_factor", p.pyramid_factor},
          {"pyramid_side", p.pyramid_side}};
}

std::string train_stage(const Options& o) { return o.box_supervision ? "lnet-box" : "lnet"; }

}  // namespace

void run_lnet_pretrain(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  // Objects only are needed; the face pools stay small.
  ScenePools pools = load_scene_pools(o, 64, 0);
  LNet net(n_tags(pools), o.lnet_width_mult);
  net->to(dev);
  const int S = 96;  // square crops: a rotation by 90 degrees keeps the shape
  InputSpec in = lnet_input(o);
  auto step = [&](int epoch, int s, std::map<std::string, double>& stats) {
    std::mt19937 rng(static_cast<uint32_t>(o.seed * 7 + static_cast<uint64_t>(epoch) * 100003u + s));
    const int B = o.lnet_batch;
    auto x = torch::empty({B, S, S, 3});
    auto y = torch::empty({B}, torch::kInt64);
    std::vector<float> patch;
    for (int b = 0; b < B; ++b) {
      const RgbImage& im = pools.all_objects[rng() % pools.all_objects.size()];
      const float side =
          std::uniform_real_distribution<float>(0.35f, 1.0f)(rng) * std::min(im.width, im.height);
      const float cx = std::uniform_real_distribution<float>(side / 2, im.width - side / 2)(rng);
      const float cy = std::uniform_real_distribution<float>(side / 2, im.height - side / 2)(rng);
      sample_square(im, cx, cy, side, side, S, S, patch);
      float* d = x.data_ptr<float>() + static_cast<int64_t>(b) * S * S * 3;
      for (size_t i = 0; i < patch.size(); ++i) d[i] = (patch[i] / 255.0f - in.mean[i % 3]) / in.std[i % 3];
      y[b] = static_cast<int64_t>(rng() % 4);
    }
    auto xc = x.permute({0, 3, 1, 2});
    std::vector<torch::Tensor> rotated;
    for (int b = 0; b < B; ++b) rotated.push_back(torch::rot90(xc[b], y[b].item<int64_t>(), {1, 2}));
    auto xb = torch::stack(rotated).contiguous().to(dev);
    auto yb = y.to(dev);
    auto logits = net->rotation_logits(xb);
    stats["rot_acc"] += logits.argmax(1).eq(yb).to(torch::kFloat32).mean().item<double>();
    return torch::nn::functional::cross_entropy(logits, yb);
  };
  train_loop(o, "lnet-pretrain", o.lnet_pretrain_epochs, o.lnet_pretrain_steps, o.lnet_pretrain_lr, *net, o.lnet_batch, "lnet", step,
             nullptr);
}

void run_lnet_train(const Options& o) {
  if (!(o.lnet_hide_prob >= 0 && o.lnet_hide_prob <= 1))
    throw std::runtime_error("lnet_hide_prob must be in [0, 1]");
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  ScenePools pools = load_scene_pools(o, o.lnet_max_celeba, o.lnet_max_lfw);
  const InputSpec in = lnet_input(o);
  const int T = n_tags(pools);
  LNet net(T, o.lnet_width_mult);
  std::string init = o.lnet_init == "auto" ? o.run_dir + "/lnet-pretrain/lnet.pt" : o.lnet_init;
  if (o.lnet_init_keep_head && (init.empty() || !fs::exists(init)))
    throw std::runtime_error("lnet_init_keep_head: no trained LNet to fine-tune at '" + init +
                             "' (--lnet-init)");
  if (!init.empty()) {
    if (o.lnet_init == "auto" && !fs::exists(init)) {
      std::fprintf(stderr, "[lnet] no pre-trained body at %s: training from scratch\n", init.c_str());
    } else {
      load_module(*net, init);
      if (!o.lnet_init_keep_head) {
        torch::NoGradGuard ng;
        net->tags->weight.normal_(0, 0.01);
        net->tags->bias.fill_(-3.0);
      }
      std::fprintf(stderr, "[lnet] %s from %s\n", o.lnet_init_keep_head ? "whole net (fine-tuning)" : "body",
                   init.c_str());
    }
  }
  net->to(dev);
  const int stride = lnet_stride(net);
  // Training scenes may be smaller than the input (same pixel scale, fewer pixels per step).
  InputSpec tin = in;
  tin.width = o.lnet_train_width;
  tin.height = o.lnet_train_height;
  if (tin.width % stride || tin.height % stride)
    throw std::runtime_error("LNet training scene size must be a multiple of the stride");
  const int mh = tin.height / stride, mw = tin.width / stride;
  const float cw = static_cast<float>(stride), chh = static_cast<float>(stride);
  const int n_val = std::min(o.lnet_val_scenes, 300);
  auto vs = val_scenes(pools, in, o, n_val);
  auto xv = scenes_nchw(vs);
  std::vector<int> even, odd, odd_protocol, odd_large, even_protocol, even_large;
  for (int i = 0; i < static_cast<int>(vs.size()); ++i) (i % 2 ? odd : even).push_back(i);
  split_val(n_val, odd, odd_protocol, odd_large);
  split_val(n_val, even, even_protocol, even_large);
  const std::vector<int>& tune_set = o.lnet_val_tune_large ? even : even_protocol;
  const double wf = o.lnet_face_weight;
  auto tag_w = torch::ones({T});
  tag_w[T - 1] = wf;
  tag_w = (tag_w / tag_w.sum()).to(dev);
  auto step = [&](int epoch, int s, std::map<std::string, double>& stats) {
    std::mt19937 rng(static_cast<uint32_t>(o.seed * 11 + static_cast<uint64_t>(epoch) * 1000003u + s));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Scene> sc;
    for (int b = 0; b < o.lnet_batch; ++b)
      sc.push_back(compose_train_scene(pools, tin, rng, static_cast<float>(o.lnet_large_face_prob),
                                       static_cast<float>(o.lnet_large_face_max),
                                       static_cast<float>(o.lnet_face_min),
                                       static_cast<float>(o.lnet_face_max)));
    if (o.lnet_hide_prob > 0) {
      // Hide-and-Seek: its own generator, so the composed scenes are those of an unhidden run.
      std::mt19937 hrng(static_cast<uint32_t>(o.seed * 13 + static_cast<uint64_t>(epoch) * 1000033u + s));
      double hidden = 0, total = 0;
      for (auto& scene : sc) {
        hidden += hide_patches(scene, static_cast<float>(o.lnet_hide_prob), o.lnet_hide_patch, hrng);
        total += static_cast<double>(scene.width) * scene.height;
      }
      stats["hidden_frac"] += hidden / total;
    }
    stats["compose_s"] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto x = scenes_nchw(sc).to(dev);
    auto tags = torch::empty({o.lnet_batch, T});
    for (int b = 0; b < o.lnet_batch; ++b)
      std::copy(sc[b].tags.begin(), sc[b].tags.end(), tags.data_ptr<float>() + b * T);
    tags = tags.to(dev);
    auto maps = net->tag_maps(x);  // [B, T, mh, mw]
    auto pooled = pool_maps(maps, o);
    auto per_tag = torch::binary_cross_entropy_with_logits(pooled, tags, {}, {}, at::Reduction::None).mean(0);
    torch::Tensor loss;
    if (!o.box_supervision) {
      loss = (per_tag * tag_w).sum();
    } else {
      // Attribute tags as in the weak recipe; the face map gets per-cell targets.
      auto tgt = box_targets(sc, mh, mw, cw, chh).to(dev);
      auto face = maps.slice(1, T - 1, T);
      auto pw = torch::full({1}, 4.0, torch::TensorOptions().device(dev));
      auto cell_loss = torch::binary_cross_entropy_with_logits(face, tgt, {}, pw);
      loss = (per_tag.slice(0, 0, T - 1) * tag_w.slice(0, 0, T - 1)).sum() + tag_w[T - 1] * cell_loss * 4.0;
    }
    stats["face_tag_bce"] += per_tag[T - 1].item<double>();
    return loss;
  };
  auto eval = [&]() {
    std::map<std::string, double> r;
    auto xd = xv.to(dev);
    for (const char* which : {"face", "mean"}) {
      auto maps = module_maps(net, xd, which).to(torch::kCPU);
      Tuned t = tune_decoder(maps, vs, tune_set, odd, cw, chh, true);
      const LocResult rp = localise(maps, vs, odd_protocol, t.params, cw, chh);
      r[std::string("val_found_") + which] = rp.found;
      r[std::string("val_free_fp_") + which] = rp.free_with_face;
      if (!odd_large.empty())
        r[std::string("val_found_large_") + which] = localise(maps, vs, odd_large, t.params, cw, chh).found;
    }
    net->train();
    return r;
  };
  train_loop(o, train_stage(o), o.lnet_epochs, o.lnet_steps, o.lnet_lr, *net, o.lnet_batch, "lnet", step, eval);
  auto cost = lnet_cost(net, in.width, in.height);
  std::fprintf(stderr, "[lnet] %s: %.1f M MACs at %dx%d, %.3f M parameters (exported)\n",
               train_stage(o).c_str(), cost.macs / 1e6, in.width, in.height, cost.params / 1e6);
}

void run_lnet_export(const Options& o) {
  torch::manual_seed(o.seed);
  ScenePools pools = load_scene_pools(o, o.lnet_max_celeba, o.lnet_max_lfw);
  const InputSpec in = lnet_input(o);
  const int T = n_tags(pools);
  LNet net(T, o.lnet_width_mult);
  const std::string stage = train_stage(o);
  load_module(*net, o.run_dir + "/" + stage + "/lnet.pt");
  net->eval();
  const int stride = lnet_stride(net), mh = in.height / stride, mw = in.width / stride;
  if (mh * stride != in.height || mw * stride != in.width)
    throw std::runtime_error("LNet input must be a multiple of the stride " + std::to_string(stride));
  const float cw = static_cast<float>(stride), chh = static_cast<float>(stride);

  auto vs = val_scenes(pools, in, o, o.lnet_val_scenes);
  auto xv = scenes_nchw(vs);
  std::vector<int> even, odd, all, odd_protocol, odd_large, even_protocol, even_large;
  for (int i = 0; i < static_cast<int>(vs.size()); ++i) (i % 2 ? odd : even).push_back(i), all.push_back(i);
  split_val(o.lnet_val_scenes, odd, odd_protocol, odd_large);
  split_val(o.lnet_val_scenes, even, even_protocol, even_large);
  // The decoder is tuned on the even protocol scenes (+ the even large-face ones with lnet_val_tune_large).
  const std::vector<int>& tune_set = o.lnet_val_tune_large ? even : even_protocol;

  // Response map choice (face tag vs the average of all tag maps) and decoder constants:
  // tuned on the even validation scenes, reported on the odd ones.
  nlohmann::json rep;
  std::string which = o.lnet_map;
  std::map<std::string, Tuned> by_map;
  for (const char* w : {"face", "mean"}) {
    auto maps = module_maps(net, xv, w);
    by_map[w] = tune_decoder(maps, vs, tune_set, odd, cw, chh, false);
    const auto& t = by_map[w];
    std::fprintf(
        stderr,
        "[lnet-export] map %-4s: tune found %.4f free-fp %.4f | report found %.4f free-fp %.4f extra %.3f "
        "iou %.3f (thr %.2f frac %.2f scale %.3f)\n",
        w, t.tune.found, t.tune.free_with_face, t.report.found, t.report.free_with_face,
        t.report.extra_per_scene, t.report.mean_iou, t.params.threshold, t.params.region_fraction,
        t.params.box_scale);
    rep["module"][w] = {
        {"params", params_json(t.params)}, {"tune", loc_json(t.tune)}, {"report", loc_json(t.report)}};
  }
  if (which == "auto") {
    auto key = [](const Tuned& t) { return tuning_key(t.tune); };
    which = key(by_map["mean"]) > key(by_map["face"]) ? "mean" : "face";
  }
  std::fprintf(stderr, "[lnet-export] response map: %s\n", which.c_str());

  if (o.lnet_pyramid_levels > 1) {
    std::vector<torch::Tensor> lm;
    for (int l = 0; l < o.lnet_pyramid_levels; ++l)
      lm.push_back(module_maps(net, level_input(vs, in, std::pow(o.lnet_pyramid_factor, l)), which));
    std::vector<int> prot, large;
    split_val(o.lnet_val_scenes, all, prot, large);
    pyramid_diagnostic(lm, o.lnet_pyramid_factor, vs, prot, cw);
  }
  // fp32: fold BN, check against the module.
  auto folded = fold_lnet(net, which);
  auto maps32 = torch::sigmoid(folded_forward(folded, xv)).squeeze(1).contiguous();
  const double fold_diff = (maps32 - module_maps(net, xv, which)).abs().max().item<double>();
  std::fprintf(stderr, "[lnet-export] BN folding: max |map diff| %.2e\n", fold_diff);
  if (fold_diff > 1e-4) throw std::runtime_error("BN folding changed the response map");
  // The coarse pass's maps (--lnet-coarse-pass): the same network on the scenes at half size.
  const torch::Tensor xh = o.lnet_coarse_pass ? half_size_input(xv) : torch::Tensor();
  const torch::Tensor half32 = o.lnet_coarse_pass
                                   ? torch::sigmoid(folded_forward(folded, xh)).squeeze(1).contiguous()
                                   : torch::Tensor();
  // The size model is fitted on every even scene (protocol and large faces: the whole size range).
  const bool pyr = o.lnet_pyramid_levels > 1;
  Levels lv32, lv8;
  if (pyr)
    lv32 = make_levels(vs, in, o.lnet_pyramid_levels, o.lnet_pyramid_factor, [&](const torch::Tensor& x) {
      return torch::sigmoid(folded_forward(folded, x)).squeeze(1);
    });
  Tuned t32 = pyr ? tune_pyramid(lv32, o.lnet_pyramid_factor, vs, tune_set, odd, cw, chh)
                  : tune_decoder(maps32, vs, tune_set, odd, cw, chh, false, half32, even, o.lnet_size_model);

  // int8: calibration on training scenes.
  RangeObserver obs;
  obs.percentile = o.calib_percentile;
  {
    std::mt19937 rng(static_cast<uint32_t>(o.seed + 4242));
    for (int done = 0; done < o.lnet_calib_scenes; done += 32) {
      std::vector<Scene> sc;
      for (int b = 0; b < std::min(32, o.lnet_calib_scenes - done); ++b)
        sc.push_back(compose_train_scene(pools, in, rng, static_cast<float>(o.lnet_large_face_prob),
                                         static_cast<float>(o.lnet_large_face_max),
                                         static_cast<float>(o.lnet_face_min),
                                         static_cast<float>(o.lnet_face_max)));
      std::vector<torch::Tensor> acts;
      folded_forward(folded, scenes_nchw(sc), &acts);
      obs.observe(acts);
    }
  }
  double in_lo = 1e9, in_hi = -1e9;
  for (int c = 0; c < 3; ++c) {
    in_lo = std::min(in_lo, static_cast<double>((0 - in.mean[c]) / in.std[c]));
    in_hi = std::max(in_hi, static_cast<double>((1 - in.mean[c]) / in.std[c]));
  }
  // The face logit map: only logits near the decoder's threshold matter, so its
  // int8 range is clipped below at -8 (p = 0.0003: "no face" either way),
  // which spends the 256 steps on the useful range.
  obs.lo.back() = std::max(obs.lo.back(), -8.0 * obs.batches);
  QNet q = quantize_conv_stack(folded, in_lo, in_hi, obs, weight_qmax_for_bits(o.int8_weight_bits));
  std::fprintf(stderr, "[lnet-export] int8 output logit range %.3f..%.3f (step %.4f)\n",
               obs.lo.back() / obs.batches, obs.hi.back() / obs.batches, q.convs.back().out.scale);
  auto maps8 = torch::sigmoid(conv_stack_dequantized(q, xv)).squeeze(1).contiguous();
  std::fprintf(stderr, "[lnet-export] int8 vs fp32 map: max |diff| %.3f, mean %.4f\n",
               (maps8 - maps32).abs().max().item<double>(), (maps8 - maps32).abs().mean().item<double>());
  const torch::Tensor half8 = o.lnet_coarse_pass
                                  ? torch::sigmoid(conv_stack_dequantized(q, xh)).squeeze(1).contiguous()
                                  : torch::Tensor();
  if (pyr)
    lv8 = make_levels(vs, in, o.lnet_pyramid_levels, o.lnet_pyramid_factor, [&](const torch::Tensor& x) {
      return torch::sigmoid(conv_stack_dequantized(q, x)).squeeze(1);
    });
  Tuned t8 = pyr ? tune_pyramid(lv8, o.lnet_pyramid_factor, vs, tune_set, odd, cw, chh)
                 : tune_decoder(maps8, vs, tune_set, odd, cw, chh, false, half8, even, o.lnet_size_model);
  std::map<std::string, std::pair<LocResult, LocResult>> by_scale;  // odd scenes: protocol, large
  for (auto* tp : {&t32, &t8}) {
    const char* n = tp == &t32 ? "fp32" : "int8";
    const auto& mp = tp == &t32 ? maps32 : maps8;
    const auto& hp = tp == &t32 ? half32 : half8;
    const Levels& lv = tp == &t32 ? lv32 : lv8;
    const LocResult rp = pyr ? localise_levels(lv, vs, odd_protocol, tp->params, cw, chh)
                             : localise(mp, vs, odd_protocol, tp->params, cw, chh, hp);
    const LocResult rl = pyr ? localise_levels(lv, vs, odd_large, tp->params, cw, chh)
                             : localise(mp, vs, odd_large, tp->params, cw, chh, hp);
    by_scale[n] = {rp, rl};
    std::fprintf(stderr,
                 "[lnet-export] %s: odd protocol scenes found %.4f, face-free with a face %.4f (%d scenes); "
                 "odd large-face scenes found %.4f (centre hit %.4f, %d faces)\n",
                 n, rp.found, rp.free_with_face, rp.scenes, rl.found, rl.hit, rl.faces);
    std::fprintf(stderr,
                 "[lnet-export] %s: report (odd scenes) found %.4f (centre hit %.4f), face-free with a face "
                 "%.4f, extra %.3f, iou %.3f; "
                 "thr %.3f frac %.2f scale %.3f half-thr %.4f half-scale %.3f size %.3f %+.3f %+.3f "
                 "pyramid %g x %.3f side %.2f\n",
                 n, tp->report.found, tp->report.hit, tp->report.free_with_face, tp->report.extra_per_scene,
                 tp->report.mean_iou, tp->params.threshold, tp->params.region_fraction, tp->params.box_scale,
                 tp->params.half_threshold, tp->params.half_box_scale, tp->params.size_bias,
                 tp->params.size_w1, tp->params.size_w2, tp->params.pyramid_levels, tp->params.pyramid_factor,
                 tp->params.pyramid_side);
  }

  // Model files.
  auto cost = lnet_cost(net, in.width, in.height);
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  ModelInfo info;
  info.kind = "lnet";
  info.input = in;
  auto meta = [&](const Tuned& t, const std::string& prec) {
    std::vector<std::pair<std::string, std::string>> m = {
        {"license",
         "Trained on CelebA, LFW and ImageNet images: non-commercial research use only (see the datasets' "
         "terms)"},
        {"training_data",
         "scenes composed from CelebA 89x109 train-split faces (validation identities held out) and LFW "
         "faces on "
         "ImageNet object photos; image-level tags only" +
             std::string(o.box_supervision ? " (COMPARISON MODEL: per-cell box supervision)" : "")},
        {"recipe", "scripts/train_recipe.sh --lnet (train/README.md, LNet)"},
        {"architecture",
         "8x conv3x3-BN-ReLU (3 stride-2, stride 8) + conv1x1 -> 1 face logit map, sigmoid; BN folded"},
        {"macs", std::to_string(cost.macs)},
        {"params", std::to_string(cost.params)},
        {"lnet.map", which},
        {"lnet.threshold", fmt(t.params.threshold, "%.3f")},
        {"lnet.region_fraction", fmt(t.params.region_fraction, "%.3f")},
        {"lnet.box_scale", fmt(t.params.box_scale, "%.4f")},
        {"lnet.box_aspect", fmt(t.params.box_aspect, "%.3f")},
        {"lnet.nms_iou", fmt(t.params.nms_iou, "%.3f")},
        {"box",
         "the decoded box approximates the rectangle of a ~square face crop whose central 0.8-wide part is "
         "ANet's framing"},
        {"val_found_iou50", fmt(t.report.found)},
        {"val_face_free_with_face", fmt(t.report.free_with_face)},
        {"precision", prec},
        {"date", date}};
    if (t.params.half_threshold > 0) {  // coarse pass
      m.push_back({"lnet.half_threshold", fmt(t.params.half_threshold, "%.4f")});
      if (t.params.half_box_scale > 0)
        m.push_back({"lnet.half_box_scale", fmt(t.params.half_box_scale, "%.4f")});
    }
    if (t.params.pyramid_levels >= 2) {  // image pyramid
      m.push_back({"lnet.pyramid_levels", fmt(t.params.pyramid_levels, "%.0f")});
      m.push_back({"lnet.pyramid_factor", fmt(t.params.pyramid_factor, "%.5f")});
      m.push_back({"lnet.pyramid_side", fmt(t.params.pyramid_side, "%.3f")});
    }
    if (t.params.size_bias > 0) {  // size model
      m.push_back({"lnet.size_bias", fmt(t.params.size_bias, "%.5f")});
      m.push_back({"lnet.size_w1", fmt(t.params.size_w1, "%.5f")});
      m.push_back({"lnet.size_w2", fmt(t.params.size_w2, "%.5f")});
    }
    return m;
  };
  const std::string name = o.box_supervision ? o.lnet_name + "-box" : o.lnet_name;
  const std::string out_dir = o.box_supervision ? o.run_dir + "/lnet-box/models" : o.out_dir;
  info.name = name + "-fp32";
  info.description = "LNet face localiser (weakly supervised, response map), fp32";
  info.metadata = meta(t32, "fp32");
  auto bytes32 = modelfile::serialize(build_fp32_fcn_model(folded, info));
  info.name = name + "-int8";
  info.description = "LNet face localiser (weakly supervised, response map), int8 post-training quantised";
  info.metadata =
      meta(t8, "int8: " + weight_bits_description(o.int8_weight_bits) + ", per-tensor activations (" +
                   std::to_string(o.lnet_calib_scenes) + " calibration scenes)");
  auto bytes8 = modelfile::serialize(build_int8_fcn_model(q, info));

  // SDK checks (raw network, every kernel family) on 32 validation scenes and the golden inputs.
  const int64_t n_check = std::min<int64_t>(32, xv.size(0));
  auto x_nhwc = xv.slice(0, 0, n_check).permute({0, 2, 3, 1}).contiguous();
  const int G = 4;
  auto g_in = golden_inputs(G, in.height, in.width);
  auto g_nchw = g_in.permute({0, 3, 1, 2}).contiguous();
  auto g32 = torch::sigmoid(folded_forward(folded, g_nchw)).flatten(1);
  auto g8 = torch::sigmoid(conv_stack_dequantized(q, g_nchw)).flatten(1);
  const double out_step = q.convs.back().out.scale;
  // Reference kernels: the emulation is exact (1e-4 covers the sigmoid). Other
  // kernel families may round an intermediate value one step differently; the
  // bound allows 4 steps of the output logit (slope of the sigmoid <= 1/4).
  const double bound8 = 0.25 * 4 * out_step;
  nlohmann::json checks = nlohmann::json::array();
  bool ok = true;
  auto record = [&](const SdkCheck& c, const std::string& model) {
    std::fprintf(stderr, "[lnet-export] SDK check %s %s: max |diff| %.2e (bound %.1e, n=%d) %s\n",
                 model.c_str(), c.what.c_str(), c.max_abs_diff, c.bound, c.n, c.ok() ? "ok" : "FAILED");
    checks.push_back({{"model", model},
                      {"what", c.what},
                      {"max_abs_diff", c.max_abs_diff},
                      {"bound", c.bound},
                      {"n", c.n}});
    ok = ok && c.ok();
  };
  for (auto& c : check_network(bytes32, x_nhwc, maps32.slice(0, 0, n_check).flatten(1), 1e-4))
    record(c, "fp32");
  for (auto& c : check_network(bytes32, g_in, g32, 1e-4)) record(c, "fp32-golden");
  for (auto& c : check_network(bytes8, x_nhwc, maps8.slice(0, 0, n_check).flatten(1), 0)) {
    c.bound = c.what == "network/reference" ? 1e-4 : bound8;
    record(c, "int8");
  }
  for (auto& c : check_network(bytes8, g_in, g8, 0)) {
    c.bound = c.what == "network/reference" ? 1e-4 : bound8;
    record(c, "int8-golden");
  }
  if (!ok) throw std::runtime_error("the SDK disagrees with LibTorch on the exported LNet (see above)");

  fs::create_directories(out_dir);
  const std::string stem = out_dir + "/" + name;
  modelfile::write_file_atomic(stem + "-fp32.fam", bytes32);
  modelfile::write_file_atomic(stem + "-int8.fam", bytes8);
  const std::string layout = "NHWC, already normalised (the network input, not pixels); outputs: the [h][w] response map", source = "LibTorch (faceattr_train lnet-export)";
  write_golden(stem + "-fp32.fam.golden.json", g32, layout, source);
  write_golden(stem + "-int8.fam.golden.json", g8, layout, source, out_step / 4);

  rep["map"] = which;
  rep["box_supervision"] = o.box_supervision;
  rep["macs"] = cost.macs;
  rep["params"] = cost.params;
  rep["input"] = {in.width, in.height};
  rep["map_size"] = {mw, mh};
  rep["val_scenes"] = vs.size();
  rep["fold_max_diff"] = fold_diff;
  rep["fp32"] = {{"params", params_json(t32.params)},
                 {"tune_even", loc_json(t32.tune)},
                 {"report_odd", loc_json(t32.report)},
                 {"report_odd_protocol", loc_json(by_scale["fp32"].first)},
                 {"report_odd_large", loc_json(by_scale["fp32"].second)},
                 {"all", loc_json(pyr ? localise_levels(lv32, vs, all, t32.params, cw, chh)
                                      : localise(maps32, vs, all, t32.params, cw, chh, half32))}};
  rep["int8"] = {{"params", params_json(t8.params)},
                 {"tune_even", loc_json(t8.tune)},
                 {"report_odd", loc_json(t8.report)},
                 {"report_odd_protocol", loc_json(by_scale["int8"].first)},
                 {"report_odd_large", loc_json(by_scale["int8"].second)},
                 {"all", loc_json(pyr ? localise_levels(lv8, vs, all, t8.params, cw, chh)
                                      : localise(maps8, vs, all, t8.params, cw, chh, half8))}};
  rep["fp32_bytes"] = bytes32.size();
  rep["int8_bytes"] = bytes8.size();
  rep["sdk_checks"] = checks;
  rep["note"] =
      "validation scenes: held-out CelebA identities on held-out object photos, pasted whole and hard-edged "
      "(the eval protocol at LNet scale); decoder tuned on even scenes, reported on odd scenes";
  fs::create_directories(o.run_dir + "/" + stage);
  write_text_atomic(o.run_dir + "/" + stage + "/export-report.json", rep.dump(2) + "\n");
  std::fprintf(stderr, "[lnet-export] wrote %s-fp32.fam (%zu bytes), %s-int8.fam (%zu bytes)\n", stem.c_str(),
               bytes32.size(), stem.c_str(), bytes8.size());
}

}  // namespace faceattr::train
