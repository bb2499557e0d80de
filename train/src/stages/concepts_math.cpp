#include "stages/concepts_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace faceattr::train::concepts {
namespace {

// Standardised copy of x (float) and the statistics used.
torch::Tensor standardise(const torch::Tensor& x, const Standardiser& s) { return (x - s.mean) / s.scale; }

// Indices of the k largest entries of v (ties to the lower index), sorted ascending.
std::vector<int> top_k_indices(const torch::Tensor& v, int k) {
  auto c = v.to(torch::kDouble).contiguous();
  const double* p = c.data_ptr<double>();
  std::vector<int> idx(static_cast<size_t>(c.numel()));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
  k = std::min<int>(k, static_cast<int>(idx.size()));
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return p[a] > p[b]; });
  idx.resize(static_cast<size_t>(k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace

Standardiser standardiser_of(const torch::Tensor& x) {
  auto xf = x.to(torch::kFloat);
  return {xf.mean(0), xf.std(0, /*unbiased=*/false).clamp_min(1e-6)};
}

std::vector<std::vector<int>> cluster_units(const torch::Tensor& x, int k, const std::vector<int>& skip) {
  const int64_t U = x.size(1);
  auto xd = x.to(torch::kDouble);
  auto z = (xd - xd.mean(0)) / xd.std(0, false).clamp_min(1e-12);
  auto corr = (z.t().matmul(z) / static_cast<double>(x.size(0))).contiguous();
  const double* c = corr.data_ptr<double>();
  std::vector<char> alive(static_cast<size_t>(U), 1);
  for (int s : skip)
    if (s >= 0 && s < U) alive[static_cast<size_t>(s)] = 0;
  std::vector<std::vector<int>> members(static_cast<size_t>(U));
  std::vector<double> d(static_cast<size_t>(U * U));
  int n = 0;
  for (int64_t i = 0; i < U; ++i) {
    members[static_cast<size_t>(i)] = {static_cast<int>(i)};
    n += alive[static_cast<size_t>(i)];
    for (int64_t j = 0; j < U; ++j) d[static_cast<size_t>(i * U + j)] = 1.0 - c[i * U + j];
  }
  // Naive O(U^3) average linkage (Lance-Williams update): a few hundred units.
  while (n > std::max(1, k)) {
    double best = std::numeric_limits<double>::infinity();
    int64_t bi = -1, bj = -1;
    for (int64_t i = 0; i < U; ++i) {
      if (!alive[static_cast<size_t>(i)]) continue;
      for (int64_t j = i + 1; j < U; ++j)
        if (alive[static_cast<size_t>(j)] && d[static_cast<size_t>(i * U + j)] < best)
          best = d[static_cast<size_t>(i * U + j)], bi = i, bj = j;
    }
    auto& mi = members[static_cast<size_t>(bi)];
    auto& mj = members[static_cast<size_t>(bj)];
    const double ni = static_cast<double>(mi.size()), nj = static_cast<double>(mj.size());
    for (int64_t m = 0; m < U; ++m) {
      if (!alive[static_cast<size_t>(m)] || m == bi || m == bj) continue;
      const double v =
          (ni * d[static_cast<size_t>(bi * U + m)] + nj * d[static_cast<size_t>(bj * U + m)]) / (ni + nj);
      d[static_cast<size_t>(bi * U + m)] = d[static_cast<size_t>(m * U + bi)] = v;
    }
    mi.insert(mi.end(), mj.begin(), mj.end());
    mj.clear();
    alive[static_cast<size_t>(bj)] = 0;
    --n;
  }
  std::vector<std::vector<int>> out;
  for (int64_t i = 0; i < U; ++i)
    if (alive[static_cast<size_t>(i)]) {
      auto m = members[static_cast<size_t>(i)];
      std::sort(m.begin(), m.end());
      out.push_back(std::move(m));
    }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return out;
}

torch::Tensor concept_activations(const torch::Tensor& x, const std::vector<std::vector<int>>& concepts,
                                  const Standardiser& s) {
  auto z = standardise(x.to(torch::kFloat), s);
  auto out = torch::zeros({x.size(0), static_cast<int64_t>(concepts.size())});
  for (size_t j = 0; j < concepts.size(); ++j) {
    auto idx = torch::tensor(std::vector<int64_t>(concepts[j].begin(), concepts[j].end()));
    out.select(1, static_cast<int64_t>(j)).copy_(z.index_select(1, idx).mean(1));
  }
  return out;
}

std::vector<std::vector<std::vector<int>>> l1_supports(const torch::Tensor& x, const torch::Tensor& y,
                                                       const std::vector<int>& ks, int n_penalties,
                                                       int iters) {
  torch::NoGradGuard ng;
  auto xs = standardise(x.to(torch::kFloat), standardiser_of(x));
  auto yf = y.to(torch::kFloat);
  const int64_t N = xs.size(0), K = xs.size(1), A = yf.size(1);
  // Step 1/L with L the Lipschitz constant of the mean logistic loss's gradient.
  const double L =
      torch::linalg::eigvalsh(xs.t().matmul(xs) / static_cast<double>(N), "L").max().item<double>() / 4.0 +
      1e-6;
  auto prior = yf.mean(0).clamp(1e-4, 1 - 1e-4);
  auto b = torch::log(prior / (1 - prior));
  auto w = torch::zeros({A, K});
  auto g0 = (torch::sigmoid(b).unsqueeze(0) - yf).t().matmul(xs) / static_cast<double>(N);
  auto lam_max = g0.abs().amax(1);  // [A]: the smallest penalty with every weight zero
  const double ratio = std::pow(1e-3, 1.0 / std::max(1, n_penalties - 1));
  std::vector<std::vector<std::vector<int>>> out(ks.size(),
                                                 std::vector<std::vector<int>>(static_cast<size_t>(A)));
  std::vector<std::vector<char>> done(ks.size(), std::vector<char>(static_cast<size_t>(A), 0));
  for (int p = 0; p < n_penalties; ++p) {
    auto thr = (lam_max * std::pow(ratio, p) / L).unsqueeze(1);
    auto zw = w.clone(), zb = b.clone();
    double t = 1.0;
    for (int it = 0; it < iters; ++it) {
      auto r = torch::sigmoid(xs.matmul(zw.t()) + zb) - yf;  // [N, A]
      auto gw = r.t().matmul(xs) / static_cast<double>(N);
      auto gb = r.mean(0);
      auto v = zw - gw / L;
      auto wn = torch::sign(v) * torch::clamp_min(v.abs() - thr, 0.0);
      auto bn = zb - gb / L;
      const double tn = (1.0 + std::sqrt(1.0 + 4.0 * t * t)) / 2.0;
      zw = wn + (wn - w) * ((t - 1.0) / tn);
      zb = bn + (bn - b) * ((t - 1.0) / tn);
      w = wn, b = bn, t = tn;
    }
    auto nnz = (w != 0).sum(1).contiguous();
    bool all_done = true;
    for (size_t ki = 0; ki < ks.size(); ++ki)
      for (int64_t a = 0; a < A; ++a) {
        if (!done[ki][static_cast<size_t>(a)] && nnz[a].item<int64_t>() >= ks[ki]) {
          out[ki][static_cast<size_t>(a)] = top_k_indices(w[a].abs(), ks[ki]);
          done[ki][static_cast<size_t>(a)] = 1;
        }
        all_done = all_done && done[ki][static_cast<size_t>(a)];
      }
    if (all_done) break;  // the rest of the path selects nothing new
  }
  // Never reached k non-zero weights: rank by |weight|, then by the correlation at zero.
  for (size_t ki = 0; ki < ks.size(); ++ki)
    for (int64_t a = 0; a < A; ++a)
      if (!done[ki][static_cast<size_t>(a)])
        out[ki][static_cast<size_t>(a)] = top_k_indices(w[a].abs() * 1e3 + g0[a].abs(), ks[ki]);
  return out;
}

torch::Tensor SparseHead::logits(const torch::Tensor& x) const {
  return x.to(torch::kFloat).matmul(weight.t()) + bias;
}

torch::Tensor SparseHead::decide(const torch::Tensor& x) const { return logits(x) >= threshold; }

namespace {

// The supports as one [A, k] index tensor (all of one size k).
torch::Tensor support_index(const std::vector<std::vector<int>>& supports) {
  const int64_t k = static_cast<int64_t>(supports.at(0).size());
  std::vector<int64_t> flat;
  for (const auto& sup : supports) {
    if (static_cast<int64_t>(sup.size()) != k) throw std::invalid_argument("refit: supports differ in size");
    flat.insert(flat.end(), sup.begin(), sup.end());
  }
  return torch::tensor(flat, torch::kLong).reshape({static_cast<int64_t>(supports.size()), k});
}

// The standardised design of x restricted to each attribute's support (idx [A, k]), plus an
// intercept column: [A, N, k + 1] in double. Constant features (sd at the standardiser's floor) are 0.
torch::Tensor support_design(const torch::Tensor& xs, const torch::Tensor& idx) {
  const int64_t N = xs.size(0), A = idx.size(0), k = idx.size(1);
  auto xg = xs.t().index_select(0, idx.reshape({-1})).reshape({A, k, N}).transpose(1, 2);  // [A, N, k]
  return torch::cat({xg, torch::ones({A, N, 1}, torch::kDouble)}, 2);                      // [A, N, k + 1]
}

struct NewtonFit {
  torch::Tensor beta;       // [A, k + 1]: standardised weights, then the intercept
  torch::Tensor objective;  // [A]
};

// Batched damped Newton per attribute on its support plus an intercept, in double. The
// objective is the mean logistic loss plus (ridge / 2) |beta - beta0|^2, beta0 the null
// model (weights 0, intercept the prior's logit): strictly convex, so Newton steps with an
// Armijo backtracking line search converge from anywhere. Every step lowers the objective
// from beta0's, which is at most ln 2, so |beta - beta0| <= sqrt(2 ln 2 / ridge) at every
// iterate, even when the support separates the classes.
NewtonFit newton_fit(const torch::Tensor& xg, const torch::Tensor& yt, double ridge, int max_iters) {
  const int64_t A = xg.size(0), N = xg.size(1), k = xg.size(2) - 1;
  auto prior = yt.mean(1).clamp(1e-4, 1 - 1e-4);
  auto beta0 = torch::zeros({A, k + 1}, torch::kDouble);
  beta0.select(1, k).copy_(torch::log(prior / (1 - prior)));
  const auto objective = [&](const torch::Tensor& b) {  // [A]
    auto z = xg.bmm(b.unsqueeze(2)).squeeze(2);         // [A, N]
    auto nll = torch::clamp_min(z, 0) + torch::log1p(torch::exp(-z.abs())) - yt * z;
    return nll.mean(1) + 0.5 * ridge * (b - beta0).pow(2).sum(1);
  };
  const auto eye = torch::eye(k + 1, torch::kDouble).unsqueeze(0) * ridge;
  auto beta = beta0.clone();
  auto f = objective(beta);
  auto active = torch::ones({A}, torch::kBool);
  for (int it = 0; it < max_iters && active.any().item<bool>(); ++it) {
    auto p = torch::sigmoid(xg.bmm(beta.unsqueeze(2)).squeeze(2));  // [A, N]
    auto g = xg.transpose(1, 2).bmm((p - yt).unsqueeze(2)).squeeze(2) / static_cast<double>(N) +
             ridge * (beta - beta0);
    auto h = (xg * (p * (1 - p)).unsqueeze(2)).transpose(1, 2).bmm(xg) / static_cast<double>(N) + eye;
    auto step = torch::linalg::solve(h, g.unsqueeze(2), true).squeeze(2);
    auto decrement = (g * step).sum(1);  // Newton decrement squared, >= 0 (h is positive definite)
    active = active & (decrement > 1e-14);
    // Backtracking: halve each attribute's step until its objective drops enough (Armijo).
    auto t = active.to(torch::kDouble);
    auto pending = active.clone();
    for (int halvings = 0; halvings < 40 && pending.any().item<bool>(); ++halvings) {
      auto f_new = objective(beta - t.unsqueeze(1) * step);
      auto ok = f_new <= f - 1e-4 * t * decrement;
      pending = pending & ~ok;
      t = torch::where(pending, t * 0.5, t);
    }
    // A step that never decreased the objective enough: at the precision floor, stop there.
    t = torch::where(pending, torch::zeros_like(t), t);
    active = active & ~pending;
    beta = beta - t.unsqueeze(1) * step;
    f = objective(beta);
  }
  return {beta, f};
}

// x standardised as refit does, in double.
torch::Tensor standardised_design(const torch::Tensor& xf, const Standardiser& s) {
  return (standardise(xf, s) * (s.scale > 1e-6f).to(torch::kFloat)).to(torch::kDouble);
}

}  // namespace

std::vector<std::vector<std::vector<int>>> stepwise_supports(const torch::Tensor& x, const torch::Tensor& y,
                                                             int k_max, double ridge, int newton_iters) {
  torch::NoGradGuard ng;
  auto xf = x.to(torch::kFloat);
  const int64_t K = xf.size(1), A = y.size(1);
  if (k_max < 1 || k_max > K) throw std::invalid_argument("stepwise_supports: k_max must be in 1..K");
  const auto xs = standardised_design(xf, standardiser_of(xf));
  const auto yt = y.to(torch::kDouble).t().contiguous();
  std::vector<std::vector<int>> cur(static_cast<size_t>(A));
  std::vector<std::vector<std::vector<int>>> out;
  for (int step = 0; step < k_max; ++step) {
    auto best = torch::full({A}, std::numeric_limits<double>::infinity(), torch::kDouble);
    auto best_j = torch::full({A}, -1, torch::kLong);
    for (int64_t j = 0; j < K; ++j) {
      // Attributes that already hold j try it twice (the ridge keeps that well posed) and
      // are not scored.
      std::vector<std::vector<int>> sup = cur;
      auto held = torch::zeros({A}, torch::kBool);
      for (int64_t a = 0; a < A; ++a) {
        auto& s = sup[static_cast<size_t>(a)];
        if (std::find(s.begin(), s.end(), static_cast<int>(j)) != s.end()) held[a] = true;
        s.push_back(static_cast<int>(j));
      }
      const auto f = newton_fit(support_design(xs, support_index(sup)), yt, ridge, newton_iters).objective;
      const auto better = (f < best) & ~held;  // strict: ties keep the lower index
      best = torch::where(better, f, best);
      best_j = torch::where(better, torch::full_like(best_j, j), best_j);
    }
    for (int64_t a = 0; a < A; ++a)
      cur[static_cast<size_t>(a)].push_back(static_cast<int>(best_j[a].item<int64_t>()));
    out.push_back(cur);
    for (auto& s : out.back()) std::sort(s.begin(), s.end());
  }
  return out;
}

SparseHead refit(const torch::Tensor& x, const torch::Tensor& y,
                 const std::vector<std::vector<int>>& supports, double ridge) {
  torch::NoGradGuard ng;
  auto xf = x.to(torch::kFloat);
  auto yf = y.to(torch::kFloat);
  const int64_t N = xf.size(0), K = xf.size(1), A = yf.size(1);
  if (static_cast<int64_t>(supports.size()) != A)
    throw std::invalid_argument("refit: one support per attribute");
  if (!(ridge > 0)) throw std::invalid_argument("refit: the ridge must be positive");
  const Standardiser s = standardiser_of(xf);
  const auto idx = support_index(supports);
  const int64_t k = idx.size(1);
  const auto fit =
      newton_fit(support_design(standardised_design(xf, s), idx), yf.to(torch::kDouble).t(), ridge, 50);
  const auto& beta = fit.beta;
  if (!torch::isfinite(beta).all().item<bool>()) throw std::runtime_error("refit: the fit is not finite");
  auto wstd = torch::zeros({A, K}, torch::kDouble);
  wstd.scatter_(1, idx, beta.narrow(1, 0, k));
  // Back to raw units, in double: w = w_std / scale, b = b_std - sum w_std * mean / scale.
  auto scale = s.scale.to(torch::kDouble).unsqueeze(0), mean = s.mean.to(torch::kDouble).unsqueeze(0);
  SparseHead h;
  h.objective = fit.objective.to(torch::kFloat);
  h.weight = (wstd / scale).to(torch::kFloat);
  h.bias = (beta.select(1, k) - (wstd * mean / scale).sum(1)).to(torch::kFloat);
  // Accuracy-maximising threshold: positives are the logits from a cut upward in sorted order.
  auto lg = h.logits(xf);
  auto sorted = lg.sort(0);
  auto sv = std::get<0>(sorted), order = std::get<1>(sorted);
  auto ys = yf.gather(0, order);
  auto neg_below = torch::cat({torch::zeros({1, A}), (1 - ys).cumsum(0)}, 0);           // [N+1, A]
  auto pos_from = torch::cat({ys.flip(0).cumsum(0).flip(0), torch::zeros({1, A})}, 0);  // [N+1, A]
  auto best = (neg_below + pos_from).argmax(0);                                         // [A]
  h.threshold = torch::empty({A});
  for (int64_t a = 0; a < A; ++a) {
    const int64_t i = best[a].item<int64_t>();
    float t;
    if (i == 0)
      t = sv[0][a].item<float>() - 1.0f;
    else if (i == N)
      t = sv[N - 1][a].item<float>() + 1.0f;
    else
      t = 0.5f * (sv[i - 1][a].item<float>() + sv[i][a].item<float>());
    h.threshold[a] = t;
  }
  return h;
}

SparseHead lower_objective(const SparseHead& a, const SparseHead& b, torch::Tensor* took_b) {
  auto use_b = b.objective < a.objective;  // [A]; ties keep a
  SparseHead h;
  h.weight = torch::where(use_b.unsqueeze(1), b.weight, a.weight);
  h.bias = torch::where(use_b, b.bias, a.bias);
  h.threshold = torch::where(use_b, b.threshold, a.threshold);
  h.objective = torch::where(use_b, b.objective, a.objective);
  if (took_b) *took_b = use_b;
  return h;
}

torch::Tensor accuracy(const torch::Tensor& d, const torch::Tensor& y) {
  return (d.to(torch::kBool) == (y > 0.5)).to(torch::kFloat).mean(0);
}

}  // namespace faceattr::train::concepts
