#include "engine/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/loader.h"
#include "stages/concepts_math.h"

namespace faceattr::train {

Predictions predict(ANet& net, const Dataset& ds, const InputSpec& in, const AugmentSpec& aug,
                    torch::Device dev, int batch_size, int workers, bool flip_average) {
  torch::NoGradGuard ng;
  const bool was_training = net->is_training();
  net->eval();
  AugmentSpec a = aug;
  a.enabled = false;
  LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.workers = workers;
  BatchLoader loader(ds, epoch_order(ds.samples.size(), false, 0, 0), in, a, lo);
  std::vector<torch::Tensor> logits, feats, targets;
  Batch b;
  while (loader.next(b)) {
    auto x = b.images.to(dev);
    auto f = net->features(x);
    if (flip_average) f = 0.5 * (f + net->features(x.flip({3})));
    feats.push_back(f.to(torch::kCPU));
    logits.push_back(net->head->forward(f).to(torch::kCPU));
    targets.push_back(b.attrs);
  }
  if (was_training) net->train();
  return {torch::cat(logits), torch::cat(feats), torch::cat(targets)};
}

std::vector<double> attribute_accuracy(const torch::Tensor& probs, const torch::Tensor& targets,
                                       const std::vector<float>& thr) {
  const int64_t A = probs.size(1);
  auto t = torch::tensor(thr).view({1, A});
  auto pred = probs.ge(t).to(torch::kFloat32);
  auto acc = pred.eq(targets).to(torch::kFloat64).mean(0);
  std::vector<double> out(static_cast<size_t>(A));
  for (int64_t a = 0; a < A; ++a) out[static_cast<size_t>(a)] = acc[a].item<double>();
  return out;
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

namespace {

// Column a of (probs, targets) as (probability, label) pairs sorted by probability.
struct Columns {
  torch::Tensor p, y;  // contiguous float32 [N, A]
  Columns(const torch::Tensor& probs, const torch::Tensor& targets)
      : p(probs.to(torch::kFloat32).contiguous()), y(targets.to(torch::kFloat32).contiguous()) {}
  int64_t rows() const { return p.size(0); }
  int64_t cols() const { return p.size(1); }
  std::vector<std::pair<float, float>> sorted(int64_t a) const {
    const int64_t N = rows(), A = cols();
    const float* pp = p.data_ptr<float>();
    const float* yy = y.data_ptr<float>();
    std::vector<std::pair<float, float>> v(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) v[static_cast<size_t>(i)] = {pp[i * A + a], yy[i * A + a]};
    std::sort(v.begin(), v.end());
    return v;
  }
};

}  // namespace

std::vector<float> calibrate_thresholds(const torch::Tensor& probs, const torch::Tensor& targets) {
  const Columns cols(probs, targets);
  const int64_t A = cols.cols();
  std::vector<float> thr(static_cast<size_t>(A), 0.5f);
  for (int64_t a = 0; a < A; ++a) {
    const std::vector<std::pair<float, float>> v = cols.sorted(a);
    // Threshold just above v[k-1]: items 0..k-1 negative, k..N-1 positive.
    double pos_total = 0;
    for (auto& e : v) pos_total += e.second;
    double correct = pos_total;  // k = 0: everything positive
    double best = correct;
    float best_thr = v.empty() ? 0.5f : v[0].first;
    size_t k = 0;
    while (k < v.size()) {
      size_t j = k;
      while (j < v.size() && v[j].first == v[k].first) {
        correct += v[j].second > 0.5f ? -1 : 1;
        ++j;
      }
      if (correct > best) {
        best = correct;
        best_thr = j < v.size() ? 0.5f * (v[k].first + v[j].first) : std::nextafter(v[k].first, 2.0f);
      }
      k = j;
    }
    // Prefer 0.5 when it is as good (robustness on a small split).
    double at_half = 0;
    for (auto& e : v) at_half += (e.first >= 0.5f) == (e.second > 0.5f);
    thr[static_cast<size_t>(a)] = at_half >= best ? 0.5f : best_thr;
  }
  return thr;
}

namespace {

// 2-fold score per attribute: thresholds fitted on one half of the rows, scored on the
// other, and vice versa, averaged with the halves' sizes as weights.
using ThresholdFit = std::vector<float> (*)(const torch::Tensor&, const torch::Tensor&);
using ThresholdScore = std::vector<double> (*)(const torch::Tensor&, const torch::Tensor&,
                                               const std::vector<float>&);
std::vector<double> two_fold(const torch::Tensor& probs, const torch::Tensor& targets, ThresholdFit fit,
                             ThresholdScore score) {
  const int64_t N = probs.size(0), h = N / 2;
  auto p1 = probs.slice(0, 0, h), p2 = probs.slice(0, h, N);
  auto y1 = targets.slice(0, 0, h), y2 = targets.slice(0, h, N);
  auto a1 = score(p2, y2, fit(p1, y1));
  auto a2 = score(p1, y1, fit(p2, y2));
  std::vector<double> out(a1.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = (a1[i] * static_cast<double>(N - h) + a2[i] * static_cast<double>(h)) / static_cast<double>(N);
  return out;
}

}  // namespace

std::vector<double> cross_calibrated_accuracy(const torch::Tensor& probs, const torch::Tensor& targets) {
  return two_fold(probs, targets, calibrate_thresholds, attribute_accuracy);
}

std::vector<double> attribute_balanced_accuracy(const torch::Tensor& probs, const torch::Tensor& targets,
                                                const std::vector<float>& thr) {
  const int64_t A = probs.size(1);
  auto pred = probs.ge(torch::tensor(thr).view({1, A})).to(torch::kFloat64);
  auto y = targets.to(torch::kFloat64);
  auto pos = y.sum(0), neg = (1 - y).sum(0);
  auto tp = (pred * y).sum(0), tn = ((1 - pred) * (1 - y)).sum(0);
  std::vector<double> out(static_cast<size_t>(A));
  for (int64_t a = 0; a < A; ++a) {
    const double np = pos[a].item<double>(), nn = neg[a].item<double>();
    const double tpr = np > 0 ? tp[a].item<double>() / np : -1, tnr = nn > 0 ? tn[a].item<double>() / nn : -1;
    out[static_cast<size_t>(a)] = tpr < 0 ? tnr : tnr < 0 ? tpr : 0.5 * (tpr + tnr);
  }
  return out;
}

std::vector<float> balanced_thresholds(const torch::Tensor& probs, const torch::Tensor& targets) {
  const Columns cols(probs, targets);
  const int64_t N = cols.rows(), A = cols.cols();
  std::vector<float> thr(static_cast<size_t>(A), 0.5f);
  for (int64_t a = 0; a < A; ++a) {
    const std::vector<std::pair<float, float>> v = cols.sorted(a);
    double pos = 0;
    for (auto& e : v) pos += e.second > 0.5f;
    const double neg = static_cast<double>(N) - pos;
    if (pos == 0 || neg == 0) continue;  // no error rate to balance: keep 0.5
    // Cut before v[k]: rows 0..k-1 decided negative. FNR = positives below / pos,
    // FPR = negatives at or above / neg.
    double pos_below = 0, neg_below = 0, best = 2;
    size_t k = 0;
    while (k <= v.size()) {
      const double gap = std::abs(pos_below / pos - (neg - neg_below) / neg);
      if (gap < best) {
        best = gap;
        thr[static_cast<size_t>(a)] = k == 0          ? v[0].first
                                      : k == v.size() ? std::nextafter(v[k - 1].first, 2.0f)
                                                      : 0.5f * (v[k - 1].first + v[k].first);
      }
      if (k == v.size()) break;
      size_t j = k;
      while (j < v.size() && v[j].first == v[k].first) {
        (v[j].second > 0.5f ? pos_below : neg_below) += 1;
        ++j;
      }
      k = j;
    }
  }
  return thr;
}

std::vector<double> cross_balanced_accuracy(const torch::Tensor& probs, const torch::Tensor& targets) {
  return two_fold(probs, targets, balanced_thresholds, attribute_balanced_accuracy);
}

std::vector<double> expected_calibration_error(const torch::Tensor& probs, const torch::Tensor& targets,
                                               int bins) {
  const int64_t N = probs.size(0), A = probs.size(1);
  auto p = probs.to(torch::kFloat64).contiguous();
  auto y = targets.to(torch::kFloat64).contiguous();
  const double* pp = p.data_ptr<double>();
  const double* yy = y.data_ptr<double>();
  std::vector<double> out(static_cast<size_t>(A), 0.0);
  for (int64_t a = 0; a < A; ++a) {
    std::vector<double> n(static_cast<size_t>(bins)), sp(n.size()), sy(n.size());
    for (int64_t i = 0; i < N; ++i) {
      const double v = pp[i * A + a];
      const size_t b = static_cast<size_t>(std::clamp(static_cast<int>(v * bins), 0, bins - 1));
      n[b] += 1, sp[b] += v, sy[b] += yy[i * A + a];
    }
    double e = 0;
    for (size_t b = 0; b < n.size(); ++b)
      if (n[b] > 0) e += n[b] / static_cast<double>(N) * std::abs(sp[b] / n[b] - sy[b] / n[b]);
    out[static_cast<size_t>(a)] = e;
  }
  return out;
}

torch::Tensor PlattScaling::apply(const torch::Tensor& logits) const {
  const int64_t A = logits.size(1);
  return logits * torch::tensor(scale).view({1, A}) + torch::tensor(shift).view({1, A});
}

PlattScaling fit_platt(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t A = logits.size(1);
  std::vector<std::vector<int>> supports(static_cast<size_t>(A));
  for (int64_t a = 0; a < A; ++a) supports[static_cast<size_t>(a)] = {static_cast<int>(a)};
  const concepts::SparseHead h =
      concepts::refit(logits.to(torch::kFloat32), targets.to(torch::kFloat32), supports);
  PlattScaling ps;
  ps.scale.assign(static_cast<size_t>(A), 1.0f);
  ps.shift.assign(static_cast<size_t>(A), 0.0f);
  for (int64_t a = 0; a < A; ++a) {
    const float w = h.weight[a][a].item<float>(), b = h.bias[a].item<float>();
    if (w > 1e-3f && std::isfinite(w) && std::isfinite(b))
      ps.scale[static_cast<size_t>(a)] = w, ps.shift[static_cast<size_t>(a)] = b;
  }
  return ps;
}

double cross_platt_ece(const torch::Tensor& logits, const torch::Tensor& targets, double* before) {
  const int64_t N = logits.size(0), h = N / 2;
  auto z1 = logits.slice(0, 0, h), z2 = logits.slice(0, h, N);
  auto y1 = targets.slice(0, 0, h), y2 = targets.slice(0, h, N);
  const double w1 = static_cast<double>(h) / static_cast<double>(N);
  const double e2 = mean_of(expected_calibration_error(torch::sigmoid(fit_platt(z1, y1).apply(z2)), y2));
  const double e1 = mean_of(expected_calibration_error(torch::sigmoid(fit_platt(z2, y2).apply(z1)), y1));
  if (before) *before = mean_of(expected_calibration_error(torch::sigmoid(logits), targets));
  return w1 * e1 + (1 - w1) * e2;
}

std::vector<double> cross_platt_accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t N = logits.size(0), h = N / 2, A = logits.size(1);
  auto z1 = logits.slice(0, 0, h), z2 = logits.slice(0, h, N);
  auto y1 = targets.slice(0, 0, h), y2 = targets.slice(0, h, N);
  const std::vector<float> half(static_cast<size_t>(A), 0.5f);
  const auto a2 = attribute_accuracy(torch::sigmoid(fit_platt(z1, y1).apply(z2)), y2, half);
  const auto a1 = attribute_accuracy(torch::sigmoid(fit_platt(z2, y2).apply(z1)), y1, half);
  std::vector<double> out(a1.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = (a1[i] * static_cast<double>(h) + a2[i] * static_cast<double>(N - h)) / static_cast<double>(N);
  return out;
}

}  // namespace faceattr::train
