// The numerical core of anet-concepts (stages/concepts.cpp): clustering units
// into concepts, concept activations, L1-regularised logistic paths, forward
// stepwise selection and the sparse per-attribute heads refitted on their supports. Pure tensor code on
// the CPU, tested on synthetic data (train/tests/test_concepts.cpp).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace faceattr::train::concepts {

// Average-linkage agglomerative clustering of the columns of x [N, U] with
// distance 1 - Pearson correlation, stopped at k clusters. Columns listed in
// `skip` (e.g. dead units) join no cluster. Returns the clusters, each a sorted
// list of column indices, ordered by their first index; deterministic (ties
// go to the lowest pair of indices).
std::vector<std::vector<int>> cluster_units(const torch::Tensor& x, int k, const std::vector<int>& skip = {});

// Per-column mean and standard deviation of x [N, U] (population sd, floored at 1e-6).
struct Standardiser {
  torch::Tensor mean, scale;  // [U]
};
Standardiser standardiser_of(const torch::Tensor& x);

// Concept activation: the mean over a concept's units of (x_u - mean_u) / scale_u. [N, K].
torch::Tensor concept_activations(const torch::Tensor& x, const std::vector<std::vector<int>>& concepts,
                                  const Standardiser& s);

// For every attribute (column of y [N, A], 0/1) and every k in `ks`: the k
// features of x [N, K] that an L1-regularised logistic regression selects first.
// The path runs over geometrically decreasing penalties (from the one at which
// every weight is zero) with warm-started FISTA; the support for k is the k largest
// |weights| at the first penalty where at least k weights are non-zero (all of them
// when the path never gets there). x is standardised internally.
// Result: [index into ks][attribute] -> sorted feature indices.
std::vector<std::vector<std::vector<int>>> l1_supports(const torch::Tensor& x, const torch::Tensor& y,
                                                       const std::vector<int>& ks, int n_penalties = 25,
                                                       int iters = 25);

// Forward stepwise selection: for every attribute, the feature whose addition lowers the
// refit objective (as in refit, Newton capped at newton_iters steps) the most, k_max times.
// Result: [k - 1][attribute] -> sorted feature indices, nested in k. Ties go to the lower
// index. Throws std::invalid_argument unless 1 <= k_max <= K.
std::vector<std::vector<std::vector<int>>> stepwise_supports(const torch::Tensor& x, const torch::Tensor& y,
                                                             int k_max, double ridge = 1e-3,
                                                             int newton_iters = 12);

// A logistic head per attribute on a fixed subset of features (raw x, not standardised).
struct SparseHead {
  torch::Tensor weight;     // [A, K], zero outside each attribute's support
  torch::Tensor bias;       // [A]
  torch::Tensor threshold;  // [A] on the logit: present when logit >= threshold
  torch::Tensor objective;  // [A] the fit's penalised mean logistic loss on its data
  torch::Tensor logits(const torch::Tensor& x) const;
  torch::Tensor decide(const torch::Tensor& x) const;  // bool [N, A]
};

// Logistic regression of y on x restricted to supports[a] (all of one size), then the
// per-attribute logit threshold that maximises accuracy on the same data. The fit is on
// standardised features: mean logistic loss plus (ridge / 2) |beta - beta0|^2 over the
// standardised weights and the intercept, beta0 the null model (weights 0, intercept the
// prior's logit), minimised by damped Newton with a backtracking line search. So the
// standardised weights and the intercept's distance from the prior's logit are at most
// sqrt(2 ln 2 / ridge) (37 at the default), separable data included; constant features
// get weight 0. Throws std::runtime_error if the fit is not finite.
SparseHead refit(const torch::Tensor& x, const torch::Tensor& y,
                 const std::vector<std::vector<int>>& supports, double ridge = 1e-3);

// Per attribute, the head (weights, bias, threshold) of a or b with the lower training
// objective; ties keep a. *took_b (if given) is the bool [A] mask of attributes taken from b.
SparseHead lower_objective(const SparseHead& a, const SparseHead& b, torch::Tensor* took_b = nullptr);

// Per-attribute accuracy of decisions `d` (bool [N, A]) against y (0/1 [N, A]).
torch::Tensor accuracy(const torch::Tensor& d, const torch::Tensor& y);

}  // namespace faceattr::train::concepts
