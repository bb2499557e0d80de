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
    {"lnet.pyramid_levels", &DecodeParams::pyramid_levels, 0.0f, 8.0f, false},
    {"lnet.pyramid_factor", &DecodeParams::pyramid_factor, 1.05f, 4.0f, false},
    {"lnet.pyramid_side", &DecodeParams::pyramid_side, 0.0f, 1000.0f, false},
    {"lnet.dense", &DecodeParams::dense, 0.0f, 1.0f, false},
    {"lnet.offset_range", &DecodeParams::offset_range, 0.0f, 8.0f, true},
    {"lnet.box_min", &DecodeParams::box_min, 0.0f, 10000.0f, true},
    {"lnet.box_max", &DecodeParams::box_max, 0.0f, 10000.0f, true},
    {"lnet.crop_w", &DecodeParams::crop_w, 0.0f, 10.0f, false},
    {"lnet.crop_h", &DecodeParams::crop_h, 0.0f, 10.0f, false},
    {"lnet.crop_dy", &DecodeParams::crop_dy, -2.0f, 2.0f, false},
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

// Whether no 8-neighbour of cell (i, j) of an H x W map exceeds v (its value).
bool is_local_peak(const float* map, int H, int W, int i, int j, float v) {
  for (int y = std::max(0, i - 1); y <= std::min(H - 1, i + 1); ++y)
    for (int x = std::max(0, j - 1); x <= std::min(W - 1, j + 1); ++x)
      if ((y != i || x != j) && cell_value(map, y * W + x) > v) return false;
  return true;
}

// Logit of a response, clamped to p in [1e-4, 1 - 1e-4].
float logit(float p) {
  p = std::min(1.0f - 1e-4f, std::max(1e-4f, p));
  return std::log(p / (1.0f - p));
}

}  // namespace

// Cross-field checks after the ranges.
Status check_pyramid(const DecodeParams& p, const char* prefix) {
  if (p.pyramid_levels != std::floor(p.pyramid_levels))
    return model_format_error(std::string(prefix) + "lnet.pyramid_levels = " +
                              std::to_string(p.pyramid_levels) + " is not an integer");
  if (p.pyramid_levels >= 2.0f && !(p.pyramid_side > 0.0f))
    return model_format_error(std::string(prefix) + "lnet.pyramid_levels needs lnet.pyramid_side > 0");
  if (p.dense != 0.0f && p.dense != 1.0f)
    return model_format_error(std::string(prefix) + "lnet.dense = " + std::to_string(p.dense) +
                              " is neither 0 nor 1");
  if (!(p.box_max > p.box_min))
    return model_format_error(std::string(prefix) + "lnet.box_max must exceed lnet.box_min");
  if ((p.crop_w > 0.0f) != (p.crop_h > 0.0f))
    return model_format_error(std::string(prefix) + "lnet.crop_w and lnet.crop_h must both be set (> 0)");
  return Status::ok();
}

Status validate_decode_params(const DecodeParams& p) {
  for (const Range& r : kRanges) {
    const float v = p.*(r.field);
    if (!in_range(r, v))
      return model_format_error(std::string(r.key) + " = " + std::to_string(v) + " is outside " +
                                range_text(r));
  }
  return check_pyramid(p, "");
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
  FACEATTR_RETURN_IF_ERROR(check_pyramid(p, "LNet metadata "));
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
  candidates_.resize(2 * cells);                                      // fine + coarse pass
  boxes_.resize(static_cast<size_t>(std::max(2, passes())) * cells);  // every pass's peaks
}

int Decoder::passes() const {
  if (dense()) return 1;
  if (pyramid()) return static_cast<int>(p_.pyramid_levels);
  return wants_coarse_map() ? 2 : 1;
}

float Decoder::pass_shrink(int pass) const {
  if (pass <= 0) return 1.0f;
  if (pyramid()) return std::pow(p_.pyramid_factor, static_cast<float>(pass));
  return 2.0f;
}

int Decoder::decode_passes(const float* const* maps, const float* ratio_x, const float* ratio_y, int n_maps,
                           float min_side, FaceBox* out) {
  if (!maps || n_maps < 1 || !maps[0]) return 0;
  if (dense()) return decode_dense(maps[0], min_side, out);
  if (pyramid()) return decode_pyramid(maps, ratio_x, ratio_y, std::min(n_maps, passes()), min_side, out);
  const bool coarse = n_maps >= 2 && ratio_x && ratio_y;
  return decode(maps[0], min_side, out, coarse ? maps[1] : nullptr, coarse ? ratio_x[1] : 2.0f,
                coarse ? ratio_y[1] : 2.0f);
}

int Decoder::decode_pyramid(const float* const* maps, const float* ratio_x, const float* ratio_y, int n_maps,
                            float min_side, FaceBox* out) {
  if (!out || max_faces_ == 0 || map_h_ == 0 || cell_w_ == 0 || cell_h_ == 0) return 0;
  if (!std::isfinite(min_side)) min_side = 0;
  // Usable levels: consecutive from 0, each with a map and finite positive ratios.
  int L = 0;
  while (L < n_maps && maps[L] &&
         (L == 0 || (ratio_x && ratio_y && ratio_x[L] > 0 && ratio_y[L] > 0 && std::isfinite(ratio_x[L]) &&
                     std::isfinite(ratio_y[L]))))
    ++L;
  const int H = map_h_, W = map_w_;
  const float in_w = static_cast<float>(W) * cell_w_, in_h = static_cast<float>(H) * cell_h_;
  const float a = std::sqrt(p_.box_aspect), f = std::log(p_.pyramid_factor);
  int n_box = 0;
  for (int l = 0; l < L; ++l) {
    const float* map = maps[l];
    const float rx = l == 0 ? 1.0f : ratio_x[l], ry = l == 0 ? 1.0f : ratio_y[l];
    for (int i = 0; i < H; ++i) {
      for (int j = 0; j < W; ++j) {
        const float v = cell_value(map, i * W + j);
        if (!(v >= p_.threshold) || !is_local_peak(map, H, W, i, j, v)) continue;
        // Centre: weighted centroid of the 3x3 cells, in this level's input pixels.
        const float floor_v = p_.region_fraction * v;
        double wsum = 0, wx = 0, wy = 0;
        for (int y = std::max(0, i - 1); y <= std::min(H - 1, i + 1); ++y)
          for (int x = std::max(0, j - 1); x <= std::min(W - 1, j + 1); ++x) {
            const double w = std::max(0.0f, cell_value(map, y * W + x) - floor_v) + 1e-6;
            wsum += w, wx += w * (x + 0.5), wy += w * (y + 0.5);
          }
        const float lx = static_cast<float>(wx / wsum) * cell_w_,
                    ly = static_cast<float>(wy / wsum) * cell_h_;
        const float cx = lx * rx, cy = ly * ry;  // level-0 input pixels
        if (!(cx >= 0 && cx < in_w && cy >= 0 && cy < in_h)) continue;
        // Across scales: the same spot on the adjacent levels must not answer more.
        const float z = logit(v);
        float zd = 0, zu = 0;
        const bool has_d = l > 0, has_u = l + 1 < L;
        if (has_d) {
          const float rdx = l - 1 == 0 ? 1.0f : ratio_x[l - 1], rdy = l - 1 == 0 ? 1.0f : ratio_y[l - 1];
          zd = logit(near_peak(maps[l - 1], cx / rdx, cy / rdy));
          if (zd > z) continue;
        }
        if (has_u) {
          zu = logit(near_peak(maps[l + 1], cx / ratio_x[l + 1], cy / ratio_y[l + 1]));
          if (zu > z) continue;
        }
        float level = static_cast<float>(l);
        if (has_d && has_u) {
          const float den = zd - 2.0f * z + zu;
          if (den < 0) level += std::min(0.5f, std::max(-0.5f, 0.5f * (zd - zu) / den));
        }
        const float side = p_.pyramid_side * std::exp(level * f);
        FaceBox b;
        b.w = side * a;
        b.h = side / a;
        b.x = cx - 0.5f * b.w;
        b.y = cy - 0.5f * b.h;
        b.score = std::min(1.0f, std::max(0.0f, v));
        if (!(std::min(b.w, b.h) >= min_side)) continue;
        if (n_box < static_cast<int>(boxes_.size())) boxes_[n_box++] = b;
      }
    }
  }
  return sort_and_suppress(n_box, out, true);
}

int Decoder::decode_dense(const float* map, float min_side, FaceBox* out) {
  if (!map || !out || max_faces_ == 0 || map_h_ == 0 || cell_w_ == 0 || cell_h_ == 0) return 0;
  if (!std::isfinite(min_side)) min_side = 0;
  const int H = map_h_, W = map_w_;
  const float log_range = std::log(p_.box_max / p_.box_min);
  // Each channel's value in [0, 1] (NaN/inf -> 0: such a cell proposes nothing).
  auto ch = [map](int cell, int c) {
    const float v = map[static_cast<size_t>(cell) * 5 + static_cast<size_t>(c)];
    return std::isfinite(v) ? std::min(1.0f, std::max(0.0f, v)) : 0.0f;
  };
  int n_box = 0;
  for (int i = 0; i < H; ++i) {
    for (int j = 0; j < W; ++j) {
      const int cell = i * W + j;
      const float v = ch(cell, 0);
      if (!(v >= p_.threshold)) continue;
      bool peak = true;  // no 8-neighbour scores higher
      for (int y = std::max(0, i - 1); y <= std::min(H - 1, i + 1) && peak; ++y)
        for (int x = std::max(0, j - 1); x <= std::min(W - 1, j + 1); ++x)
          if ((y != i || x != j) && ch(y * W + x, 0) > v) {
            peak = false;
            break;
          }
      if (!peak) continue;
      const float cx =
          (static_cast<float>(j) + 0.5f + p_.offset_range * (2.0f * ch(cell, 1) - 1.0f)) * cell_w_;
      const float cy =
          (static_cast<float>(i) + 0.5f + p_.offset_range * (2.0f * ch(cell, 2) - 1.0f)) * cell_h_;
      FaceBox b;
      b.w = p_.box_min * std::exp(log_range * ch(cell, 3));
      b.h = p_.box_min * std::exp(log_range * ch(cell, 4));
      b.x = cx - 0.5f * b.w;
      b.y = cy - 0.5f * b.h;
      b.score = v;
      if (!(std::min(b.w, b.h) >= min_side)) continue;
      boxes_[n_box++] = b;
    }
  }
  return sort_and_suppress(n_box, out, false);
}

int Decoder::sort_and_suppress(int n_box, FaceBox* out, bool centre_rule) {
  // Strongest first; insertion sort (stable: earlier passes win ties; no allocation, unlike
  // std::stable_sort).
  for (int k = 1; k < n_box; ++k) {
    const FaceBox b = boxes_[k];
    int j = k;
    for (; j > 0 && boxes_[j - 1].score < b.score; --j) boxes_[j] = boxes_[j - 1];
    boxes_[j] = b;
  }
  // Greedy NMS (strongest first); with centre_rule a box whose centre lies in a kept box (or
  // that holds a kept box's centre) goes too: the same face at another pyramid level.
  int n_out = 0;
  for (int c = 0; c < n_box && n_out < max_faces_; ++c) {
    const FaceBox& b = boxes_[c];
    bool keep = true;
    for (int o = 0; o < n_out && keep; ++o) {
      keep = iou(b, out[o]) <= p_.nms_iou;
      if (keep && centre_rule) {
        const FaceBox& k = out[o];
        const float bx = b.x + 0.5f * b.w, by = b.y + 0.5f * b.h, kx = k.x + 0.5f * k.w,
                    ky = k.y + 0.5f * k.h;
        keep = !(bx >= k.x && bx < k.x + k.w && by >= k.y && by < k.y + k.h) &&
               !(kx >= b.x && kx < b.x + b.w && ky >= b.y && ky < b.y + b.h);
      }
    }
    if (keep) out[n_out++] = b;
  }
  return n_out;
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
      if (v >= thr && is_local_peak(map, H, W, i, j, v)) peaks_[n_peaks++] = i * W + j;
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
  if (dense()) return decode_dense(map, min_side, out);
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
  return sort_and_suppress(n_box, out, false);
}

}  // namespace faceattr::pipeline
