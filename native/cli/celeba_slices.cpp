#include "celeba_slices.h"

#include <cstdio>

#include "eval_metrics.h"

namespace faceattr::cli {

namespace {

using json = nlohmann::ordered_json;

// Both means over attributes for the images idx of `codes` (per image and attribute:
// decision * 2 + truth); counts: scratch, n_attrs x 4.
void slice_means(const std::vector<uint8_t>& codes, size_t n_attrs, const std::vector<uint32_t>& idx,
                 std::vector<int64_t>& counts, double* out) {
  counts.assign(n_attrs * 4, 0);
  for (uint32_t i : idx) {
    const uint8_t* c = &codes[size_t{i} * n_attrs];
    for (size_t k = 0; k < n_attrs; ++k) ++counts[k * 4 + c[k]];
  }
  double acc = 0, bal = 0;
  for (size_t k = 0; k < n_attrs; ++k) {
    AttrCounts a;
    a.tn = counts[k * 4 + 0];
    a.fn = counts[k * 4 + 1];
    a.fp = counts[k * 4 + 2];
    a.tp = counts[k * 4 + 3];
    acc += a.accuracy();
    bal += a.balanced_accuracy();
  }
  out[0] = acc / static_cast<double>(n_attrs);
  out[1] = bal / static_cast<double>(n_attrs);
}

json interval_json(const Interval& ci) { return json::array({ci.lo, ci.hi}); }

}  // namespace

int slice_index(bool male, bool young, bool pale) {
  return (male ? 4 : 0) + (young ? 2 : 0) + (pale ? 1 : 0);
}

std::string slice_name(int slice) {
  return std::string(slice & 4 ? "male" : "female") + (slice & 2 ? ", young" : ", not young") +
         (slice & 1 ? ", pale" : ", not pale");
}

std::vector<SliceStats> slice_stats(const std::vector<uint8_t>& decisions, const std::vector<uint8_t>& truth,
                                    size_t n_attrs, const std::vector<int>& slice_of,
                                    const BootstrapParams& params) {
  std::vector<SliceStats> out(kSlices);
  if (n_attrs == 0) return out;
  std::vector<int64_t> counts;
  for (int s = 0; s < kSlices; ++s) {
    std::vector<uint8_t> codes;
    for (size_t i = 0; i < slice_of.size(); ++i) {
      if (slice_of[i] != s) continue;
      for (size_t k = 0; k < n_attrs; ++k)
        codes.push_back(
            static_cast<uint8_t>((decisions[i * n_attrs + k] ? 2 : 0) + (truth[i * n_attrs + k] ? 1 : 0)));
    }
    SliceStats& st = out[static_cast<size_t>(s)];
    st.n = static_cast<int64_t>(codes.size() / n_attrs);
    if (st.n == 0) continue;
    std::vector<uint32_t> all(static_cast<size_t>(st.n));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint32_t>(i);
    double point[2];
    slice_means(codes, n_attrs, all, counts, point);
    st.mean_accuracy = point[0];
    st.mean_balanced_accuracy = point[1];
    const std::vector<Interval> ci = bootstrap_intervals(
        all.size(), 2,
        [&](const std::vector<uint32_t>& idx, double* o) { slice_means(codes, n_attrs, idx, counts, o); },
        params);
    st.accuracy_ci = ci[0];
    st.balanced_ci = ci[1];
  }
  return out;
}

int worst_slice(const std::vector<SliceStats>& slices, bool by_balanced) {
  int worst = -1;
  for (size_t s = 0; s < slices.size(); ++s) {
    if (slices[s].n < kWorstSliceMinImages) continue;
    const double v = by_balanced ? slices[s].mean_balanced_accuracy : slices[s].mean_accuracy;
    const double w = worst < 0 ? 2.0
                               : (by_balanced ? slices[static_cast<size_t>(worst)].mean_balanced_accuracy
                                              : slices[static_cast<size_t>(worst)].mean_accuracy);
    if (v < w) worst = static_cast<int>(s);
  }
  return worst;
}

json slices_json(const std::vector<SliceStats>& slices, const BootstrapParams& params) {
  json list = json::array();
  for (size_t s = 0; s < slices.size(); ++s) {
    const SliceStats& st = slices[s];
    const bool any = st.n > 0;
    list.push_back({{"slice", slice_name(static_cast<int>(s))},
                    {"Male", (s & 4) != 0},
                    {"Young", (s & 2) != 0},
                    {"Pale_Skin", (s & 1) != 0},
                    {"n", st.n},
                    {"mean_accuracy", any ? json(st.mean_accuracy) : json(nullptr)},
                    {"mean_accuracy_ci95", any ? interval_json(st.accuracy_ci) : json(nullptr)},
                    {"mean_balanced_accuracy", any ? json(st.mean_balanced_accuracy) : json(nullptr)},
                    {"mean_balanced_accuracy_ci95", any ? interval_json(st.balanced_ci) : json(nullptr)}});
  }
  auto name_or_null = [&](int s) { return s < 0 ? json(nullptr) : json(slice_name(s)); };
  return {{"by", json::array({kSliceAttrs[0], kSliceAttrs[1], kSliceAttrs[2]})},
          {"bootstrap", {{"resamples", params.resamples}, {"seed", params.seed}, {"level", params.level}}},
          {"slices", std::move(list)},
          {"worst_min_images", kWorstSliceMinImages},
          {"worst_by_mean_balanced_accuracy", name_or_null(worst_slice(slices, true))},
          {"worst_by_mean_accuracy", name_or_null(worst_slice(slices, false))}};
}

void print_slices(const std::vector<SliceStats>& slices, const BootstrapParams& params) {
  std::printf("\nslices by the labels Male x Young x Pale_Skin (%.0f%% bootstrap intervals, %d resamples)\n",
              params.level * 100.0, params.resamples);
  std::printf("%-28s %6s %9s  %-16s %9s  %s\n", "slice", "images", "mean acc", "95% interval", "mean bal",
              "95% interval");
  for (size_t s = 0; s < slices.size(); ++s) {
    const SliceStats& st = slices[s];
    if (st.n == 0) {
      std::printf("%-28s %6d %9s  %-16s %9s  %s\n", slice_name(static_cast<int>(s)).c_str(), 0, "-", "-", "-",
                  "-");
      continue;
    }
    std::printf("%-28s %6lld %9.4f  [%.4f, %.4f] %9.4f  [%.4f, %.4f]\n",
                slice_name(static_cast<int>(s)).c_str(), static_cast<long long>(st.n), st.mean_accuracy,
                st.accuracy_ci.lo, st.accuracy_ci.hi, st.mean_balanced_accuracy, st.balanced_ci.lo,
                st.balanced_ci.hi);
  }
  const int wb = worst_slice(slices, true), wa = worst_slice(slices, false);
  if (wb < 0) {
    std::printf("worst slice: none has %lld or more images\n", static_cast<long long>(kWorstSliceMinImages));
    return;
  }
  const SliceStats& b = slices[static_cast<size_t>(wb)];
  std::printf("worst slice (>= %lld images) by mean balanced accuracy: %s, %.4f (mean accuracy %.4f)\n",
              static_cast<long long>(kWorstSliceMinImages), slice_name(wb).c_str(), b.mean_balanced_accuracy,
              b.mean_accuracy);
  const SliceStats& a = slices[static_cast<size_t>(wa)];
  std::printf("worst slice (>= %lld images) by mean accuracy: %s, %.4f (mean balanced accuracy %.4f)\n",
              static_cast<long long>(kWorstSliceMinImages), slice_name(wa).c_str(), a.mean_accuracy,
              a.mean_balanced_accuracy);
}

}  // namespace faceattr::cli
