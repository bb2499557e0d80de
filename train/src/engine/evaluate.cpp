#include "engine/evaluate.h"

#include <algorithm>
#include <numeric>

#include "data/loader.h"

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

std::vector<float> calibrate_thresholds(const torch::Tensor& probs, const torch::Tensor& targets) {
  const int64_t N = probs.size(0), A = probs.size(1);
  auto p = probs.to(torch::kFloat32).contiguous();
  auto y = targets.to(torch::kFloat32).contiguous();
  std::vector<float> thr(static_cast<size_t>(A), 0.5f);
  for (int64_t a = 0; a < A; ++a) {
    std::vector<std::pair<float, float>> v(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) v[i] = {p[i][a].item<float>(), y[i][a].item<float>()};
    std::sort(v.begin(), v.end());
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

std::vector<double> cross_calibrated_accuracy(const torch::Tensor& probs, const torch::Tensor& targets) {
  const int64_t N = probs.size(0), h = N / 2;
  auto p1 = probs.slice(0, 0, h), p2 = probs.slice(0, h, N);
  auto y1 = targets.slice(0, 0, h), y2 = targets.slice(0, h, N);
  auto a1 = attribute_accuracy(p2, y2, calibrate_thresholds(p1, y1));
  auto a2 = attribute_accuracy(p1, y1, calibrate_thresholds(p2, y2));
  std::vector<double> out(a1.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = (a1[i] * static_cast<double>(N - h) + a2[i] * static_cast<double>(h)) / static_cast<double>(N);
  return out;
}

}  // namespace faceattr::train
