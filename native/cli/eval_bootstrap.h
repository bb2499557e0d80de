// Percentile bootstrap intervals for the `faceattr eval` reports (docs/cli.md, "Bootstrap
// intervals"): a group's images are resampled with replacement, the statistic is recomputed on
// each resample, and the interval is the 2.5th and 97.5th percentiles of those values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace faceattr::cli {

struct Interval {
  double lo = 0, hi = 0;
};

struct BootstrapParams {
  int resamples = 1000;
  // Fixed, so that the same images give the same interval on every run. Every group starts
  // from this seed: a group's interval depends on its own images only, not on the others.
  uint64_t seed = 17;
  double level = 0.95;  // central interval
};

// The central `level` interval of `values`: the quantiles (1 - level) / 2 and (1 + level) / 2,
// each interpolated linearly between the order statistics (position q * (n - 1) of the sorted
// values). Empty `values`: {0, 0}.
Interval percentile_interval(std::vector<double> values, double level);

// n indices drawn uniformly from [0, n) with replacement, into `idx`. rng() % n rather than
// std::uniform_int_distribution, whose draws differ between standard libraries: these are the
// same everywhere (the modulo bias is below n / 2^64).
void draw_resample(std::mt19937_64& rng, size_t n, std::vector<uint32_t>& idx);

// Percentile intervals of `n_stats` statistics of n > 0 items: stat(idx, out) writes the
// statistics of the items idx (a resample of [0, n), repeats included) to out[0..n_stats).
template <typename Stat>
std::vector<Interval> bootstrap_intervals(size_t n, size_t n_stats, Stat&& stat, const BootstrapParams& p) {
  std::mt19937_64 rng(p.seed);
  std::vector<std::vector<double>> values(n_stats);
  for (std::vector<double>& v : values) v.reserve(static_cast<size_t>(p.resamples));
  std::vector<uint32_t> idx;
  std::vector<double> out(n_stats);
  for (int r = 0; r < p.resamples; ++r) {
    draw_resample(rng, n, idx);
    stat(static_cast<const std::vector<uint32_t>&>(idx), out.data());
    for (size_t s = 0; s < n_stats; ++s) values[s].push_back(out[s]);
  }
  std::vector<Interval> intervals;
  for (std::vector<double>& v : values) intervals.push_back(percentile_interval(std::move(v), p.level));
  return intervals;
}

// The interval of the share of 1s in `correct` (one 0/1 per image), n > 0.
Interval bootstrap_accuracy_interval(const std::vector<uint8_t>& correct, const BootstrapParams& p);

}  // namespace faceattr::cli
