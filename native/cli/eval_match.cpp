#include "eval_match.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace faceattr::cli {

double box_iou(const Box& a, const Box& b) {
  const double ix = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const double iy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0.0;
  const double inter = ix * iy;
  const double uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

bool lenient_match(const Box& pred, const Box& truth) {
  if (pred.w <= 0 || pred.h <= 0 || truth.w <= 0 || truth.h <= 0) return false;
  const double cx = pred.x + 0.5 * pred.w, cy = pred.y + 0.5 * pred.h;
  if (cx < truth.x || cx > truth.x + truth.w || cy < truth.y || cy > truth.y + truth.h) return false;
  const double ratio = std::sqrt(pred.w * pred.h) / std::sqrt(truth.w * truth.h);
  return ratio >= 0.5 && ratio <= 2.0;
}

namespace {

struct Pair {
  double key;  // smaller first
  int t, p;
};

std::vector<int> greedy(std::vector<Pair> pairs, size_t n_truth, size_t n_pred) {
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return std::tie(a.key, a.t, a.p) < std::tie(b.key, b.t, b.p);
  });
  std::vector<int> match(n_truth, -1);
  std::vector<char> used(n_pred, 0);
  for (const Pair& q : pairs) {
    if (match[static_cast<size_t>(q.t)] >= 0 || used[static_cast<size_t>(q.p)]) continue;
    match[static_cast<size_t>(q.t)] = q.p;
    used[static_cast<size_t>(q.p)] = 1;
  }
  return match;
}

}  // namespace

std::vector<int> match_by_iou(const std::vector<Box>& truth, const std::vector<Box>& pred, double min_iou) {
  std::vector<Pair> pairs;
  for (size_t t = 0; t < truth.size(); ++t)
    for (size_t p = 0; p < pred.size(); ++p) {
      const double v = box_iou(pred[p], truth[t]);
      if (v > 0 && v >= min_iou) pairs.push_back({-v, static_cast<int>(t), static_cast<int>(p)});
    }
  return greedy(std::move(pairs), truth.size(), pred.size());
}

std::vector<int> match_lenient(const std::vector<Box>& truth, const std::vector<Box>& pred) {
  std::vector<Pair> pairs;
  for (size_t t = 0; t < truth.size(); ++t)
    for (size_t p = 0; p < pred.size(); ++p) {
      if (!lenient_match(pred[p], truth[t])) continue;
      const Box& a = pred[p];
      const Box& b = truth[t];
      const double d = std::hypot(a.x + 0.5 * a.w - (b.x + 0.5 * b.w), a.y + 0.5 * a.h - (b.y + 0.5 * b.h));
      pairs.push_back({d, static_cast<int>(t), static_cast<int>(p)});
    }
  return greedy(std::move(pairs), truth.size(), pred.size());
}

}  // namespace faceattr::cli
