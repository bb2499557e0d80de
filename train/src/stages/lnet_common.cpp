#include "stages/lnet_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace faceattr::train::lnet {

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

std::string train_stage(const Options& o) { return o.box_supervision ? "lnet-box" : "lnet"; }

torch::Tensor half_size_input(const torch::Tensor& x) {
  auto xh = torch::zeros_like(x);
  xh.slice(2, 0, x.size(2) / 2).slice(3, 0, x.size(3) / 2).copy_(torch::avg_pool2d(x, 2));
  return xh;
}

torch::Tensor level_input(const std::vector<Scene>& scenes, const InputSpec& in, double shrink,
                          image::Letterbox* geo) {
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

void split_val(int n, const std::vector<int>& which, std::vector<int>& protocol, std::vector<int>& large) {
  for (int i : which) (i < n + n / 2 ? protocol : large).push_back(i);
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

}  // namespace faceattr::train::lnet
