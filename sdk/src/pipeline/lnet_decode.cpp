// LNet response-map decoder: peaks -> regions -> boxes -> NMS (see lnet_decode.h).
#include "pipeline/lnet_decode.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <locale>
#include <sstream>
#include <string>

namespace faceattr::pipeline {
namespace {

// Locale-independent strict float parse: the whole string must be one finite decimal.
bool parse_float(const char* s, float* out) {
  const size_t n = std::strlen(s);
  if (n == 0 || n > 64) return false;
  // A stream in the classic locale (std::from_chars for floats is missing from
  // the libc++ of Debian's emscripten); the whole string must be consumed.
  std::istringstream in{std::string(s, n)};
  in.imbue(std::locale::classic());
  float v = 0;
  in >> std::noskipws >> v;
  if (in.fail() || in.peek() != std::char_traits<char>::eof() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

struct Range {
  const char* key;
  float DecodeParams::*field;
  float lo, hi;
  bool lo_open;
};

constexpr Range kRanges[] = {
    {"lnet.threshold", &DecodeParams::threshold, 0.0f, 1.0f, true},
    {"lnet.region_fraction", &DecodeParams::region_fraction, 0.0f, 1.0f, true},
    {"lnet.box_scale", &DecodeParams::box_scale, 0.0f, 100.0f, true},
    {"lnet.box_aspect", &DecodeParams::box_aspect, 0.1f, 10.0f, false},
    {"lnet.nms_iou", &DecodeParams::nms_iou, 0.0f, 1.0f, false},
    {"lnet.half_threshold", &DecodeParams::half_threshold, 0.0f, 1.0f, false},
    {"lnet.half_box_scale", &DecodeParams::half_box_scale, 0.0f, 100.0f, false},
    {"lnet.size_bias", &DecodeParams::size_bias, 0.0f, 20.0f, false},
    {"lnet.size_w1", &DecodeParams::size_w1, -10.0f, 10.0f, false},
    {"lnet.size_w2", &DecodeParams::size_w2, -10.0f, 10.0f, false},
};

bool in_range(const Range& r, float v) {
  return std::isfinite(v) && (r.lo_open ? v > r.lo : v >= r.lo) && v <= r.hi;
}

std::string range_text(const Range& r) {
  return std::string(r.lo_open ? "(" : "[") + std::to_string(r.lo) + ", " + std::to_string(r.hi) + "]";
}

float iou(const FaceBox& a, const FaceBox& b) {
  const float ix = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const float inter = ix * iy;
  const float uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

inline float cell_value(const float* map, int i) {
  const float v = map[i];
  return std::isfinite(v) ? v : 0.0f;  // NaN/inf never seed or join a region
}

// Logit of a response, clamped to p in [1e-4, 1 - 1e-4].
float logit(float p) {
  p = std::min(1.0f - 1e-4f, std::max(1e-4f, p));
  return std::log(p / (1.0f - p));
}

}  // namespace

Status validate_decode_params(const DecodeParams& p) {
  for (const Range& r : kRanges) {
    const float v = p.*(r.field);
    if (!in_range(r, v))
      return model_format_error(std::string(r.key) + " = " + std::to_string(v) + " is outside " +
                                range_text(r));
  }
  return Status::ok();
}

Status decode_params_from_model(const model::Model& lnet, DecodeParams* out) {
  if (!out) return invalid_argument("decode_params_from_model: null output");
  DecodeParams p;
  for (const Range& r : kRanges) {
    const char* s = lnet.find_metadata(r.key);
    if (!s) continue;
    float v = 0;
    if (!parse_float(s, &v))
      return model_format_error(std::string("LNet metadata ") + r.key + " = \"" +
                                std::string(s).substr(0, 64) + "\" is not a finite decimal number");
    if (!in_range(r, v))
      return model_format_error(std::string("LNet metadata ") + r.key + " = " + s + " is outside " +
                                range_text(r));
    p.*(r.field) = v;
  }
  *out = p;
  return Status::ok();
}

Decoder::Decoder(const DecodeParams& p, int map_h, int map_w, float cell_w, float cell_h, int max_faces)
    : p_(p),
      map_h_(map_h > 0 && map_w > 0 ? map_h : 0),
      map_w_(map_h > 0 && map_w > 0 ? map_w : 0),
      cell_w_(cell_w > 0 && std::isfinite(cell_w) ? cell_w : 0),
      cell_h_(cell_h > 0 && std::isfinite(cell_h) ? cell_h : 0),
      max_faces_(std::max(0, max_faces)) {
  const size_t cells = static_cast<size_t>(map_h_) * static_cast<size_t>(map_w_);
  label_.assign(cells, -1);
  stack_.resize(cells);
  peaks_.resize(cells);
  candidates_.resize(2 * cells);  // fine + coarse pass
  boxes_.resize(2 * cells);
}

float Decoder::near_peak(const float* map, float x, float y) const {
  const int ci = static_cast<int>(std::floor(y / cell_h_)), cj = static_cast<int>(std::floor(x / cell_w_));
  float best = 0;
  for (int i = std::max(0, ci - 1); i <= std::min(map_h_ - 1, ci + 1); ++i)
    for (int j = std::max(0, cj - 1); j <= std::min(map_w_ - 1, cj + 1); ++j)
      best = std::max(best, cell_value(map, i * map_w_ + j));
  return best;
}

int Decoder::add_regions(const float* map, float thr, float ratio_x, float ratio_y, bool coarse, int n_cand) {
  const int H = map_h_, W = map_w_;
  // 1. Peaks: cells >= threshold that no 8-neighbour exceeds.
  int n_peaks = 0;
  for (int i = 0; i < H; ++i) {
    for (int j = 0; j < W; ++j) {
      const float v = cell_value(map, i * W + j);
      if (!(v >= thr)) continue;
      bool is_peak = true;
      for (int di = -1; di <= 1 && is_peak; ++di) {
        for (int dj = -1; dj <= 1; ++dj) {
          const int y = i + di, x = j + dj;
          if ((di == 0 && dj == 0) || y < 0 || y >= H || x < 0 || x >= W) continue;
          if (cell_value(map, y * W + x) > v) {
            is_peak = false;
            break;
          }
        }
      }
      if (is_peak) peaks_[n_peaks++] = i * W + j;
    }
  }
  // Strongest first; ties by cell index so the result is deterministic.
  std::sort(peaks_.begin(), peaks_.begin() + n_peaks, [map](int32_t a, int32_t b) {
    const float va = cell_value(map, a), vb = cell_value(map, b);
    return va > vb || (va == vb && a < b);
  });

  // 2. Regions: flood fill (4-connected) from each unclaimed peak over unclaimed
  //    cells >= region_fraction * peak. A plateau's other peaks are then claimed.
  std::fill(label_.begin(), label_.end(), -1);
  const float in_w = static_cast<float>(W) * cell_w_, in_h = static_cast<float>(H) * cell_h_;
  for (int k = 0; k < n_peaks; ++k) {
    const int seed = peaks_[k];
    if (label_[seed] != -1) continue;
    const float peak = cell_value(map, seed);
    const float floor_v = p_.region_fraction * peak;
    int sp = 0;
    stack_[sp++] = seed;
    label_[seed] = k;
    int count = 0;
    double wsum = 0, wx = 0, wy = 0;
    while (sp > 0) {
      const int c = stack_[--sp];
      const int i = c / W, j = c % W;
      const float v = cell_value(map, c);
      ++count;
      const double w = static_cast<double>(v - floor_v) + 1e-6;  // weight: height above the region floor
      wsum += w;
      wx += w * (j + 0.5);
      wy += w * (i + 0.5);
      const int nb[4][2] = {{i - 1, j}, {i + 1, j}, {i, j - 1}, {i, j + 1}};
      for (const auto& q : nb) {
        if (q[0] < 0 || q[0] >= H || q[1] < 0 || q[1] >= W) continue;
        const int n = q[0] * W + q[1];
        if (label_[n] != -1 || !(cell_value(map, n) >= floor_v)) continue;
        label_[n] = k;
        stack_[sp++] = n;
      }
    }
    // Centre: the weighted centroid, in the fine pass's input pixels.
    Candidate c;
    c.cx = static_cast<float>(wx / wsum) * cell_w_ * ratio_x;
    c.cy = static_cast<float>(wy / wsum) * cell_h_ * ratio_y;
    c.score = std::min(1.0f, std::max(0.0f, peak));
    c.count = count;
    c.coarse = coarse;
    if (!(c.cx >= 0 && c.cx < in_w && c.cy >= 0 && c.cy < in_h)) continue;  // coarse pass: off the frame
    candidates_[n_cand++] = c;
  }
  return n_cand;
}

int Decoder::decode(const float* map, float min_side, FaceBox* out, const float* coarse, float ratio_x,
                    float ratio_y) {
  if (!map || !out || max_faces_ == 0 || map_h_ == 0 || cell_w_ == 0 || cell_h_ == 0) return 0;
  if (!std::isfinite(min_side)) min_side = 0;
  if (!wants_coarse_map() || !(ratio_x > 0) || !(ratio_y > 0) || !std::isfinite(ratio_x) ||
      !std::isfinite(ratio_y))
    coarse = nullptr;

  int n_cand = add_regions(map, p_.threshold, 1.0f, 1.0f, false, 0);
  if (coarse) n_cand = add_regions(coarse, p_.half_threshold, ratio_x, ratio_y, true, n_cand);

  // Boxes: centred on the candidate, side from the size model.
  const float a = std::sqrt(p_.box_aspect);
  int n_box = 0;
  for (int k = 0; k < n_cand; ++k) {
    const Candidate& c = candidates_[k];
    float side;
    if (p_.size_bias > 0) {
      const float p1 = near_peak(map, c.cx, c.cy);
      const float p2 = coarse ? near_peak(coarse, c.cx / ratio_x, c.cy / ratio_y) : p1;
      side = std::exp(std::min(20.0f, p_.size_bias + p_.size_w1 * logit(p1) + p_.size_w2 * logit(p2)));
    } else if (c.coarse) {
      const float scale = p_.half_box_scale > 0 ? p_.half_box_scale : p_.box_scale;
      side = scale * std::sqrt(static_cast<float>(c.count) * cell_w_ * cell_h_ * ratio_x * ratio_y);
    } else {
      side = p_.box_scale * std::sqrt(static_cast<float>(c.count) * cell_w_ * cell_h_);
    }
    FaceBox b;
    b.w = side * a;
    b.h = side / a;
    b.x = c.cx - 0.5f * b.w;
    b.y = c.cy - 0.5f * b.h;
    b.score = c.score;
    if (!(std::min(b.w, b.h) >= min_side)) continue;
    boxes_[n_box++] = b;
  }
  // Strongest first across both passes; insertion sort (stable: the fine pass wins ties; no
  // allocation, unlike std::stable_sort). Each pass is already sorted, so this is cheap.
  for (int k = 1; k < n_box; ++k) {
    const FaceBox b = boxes_[k];
    int j = k;
    for (; j > 0 && boxes_[j - 1].score < b.score; --j) boxes_[j] = boxes_[j - 1];
    boxes_[j] = b;
  }

  // 3. Greedy NMS over the boxes (strongest first).
  int n_out = 0;
  for (int c = 0; c < n_box && n_out < max_faces_; ++c) {
    bool keep = true;
    for (int o = 0; o < n_out && keep; ++o) keep = iou(boxes_[c], out[o]) <= p_.nms_iou;
    if (keep) out[n_out++] = boxes_[c];
  }
  return n_out;
}

}  // namespace faceattr::pipeline
