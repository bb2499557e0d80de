// `faceattr eval --images` by slices of the ground truth: Male x Young x Pale_Skin (8 slices),
// each with the mean accuracy and mean balanced accuracy over the evaluated attributes and
// their bootstrap intervals (docs/cli.md, "Slices and calibration").
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval_bootstrap.h"

namespace faceattr::cli {

inline constexpr const char* kSliceAttrs[] = {"Male", "Young", "Pale_Skin"};
inline constexpr int kSlices = 8;
inline constexpr int64_t kWorstSliceMinImages = 10;  // smaller slices are not named worst

// (male, young, pale) -> 0..7: male * 4 + young * 2 + pale.
int slice_index(bool male, bool young, bool pale);
std::string slice_name(int slice);  // e.g. "female, young, not pale"

struct SliceStats {
  int64_t n = 0;
  double mean_accuracy = 0, mean_balanced_accuracy = 0;  // over attributes; 0 when n = 0
  Interval accuracy_ci, balanced_ci;                     // {0, 0} when n = 0
};

// The 8 slices. `decisions`, `truth`: n_images x n_attrs (0/1, row-major); slice_of[i]: image
// i's slice, or -1 to leave it out. Each resample draws a slice's images with replacement and
// recomputes both means over the attributes; an attribute with one class only in the resample
// (or the slice) takes that class's rate as its balanced accuracy (AttrCounts).
std::vector<SliceStats> slice_stats(const std::vector<uint8_t>& decisions, const std::vector<uint8_t>& truth,
                                    size_t n_attrs, const std::vector<int>& slice_of,
                                    const BootstrapParams& params);

// The slice with the lowest mean balanced accuracy (by_balanced) or mean accuracy among those
// with at least kWorstSliceMinImages images; -1 when none has.
int worst_slice(const std::vector<SliceStats>& slices, bool by_balanced);

nlohmann::ordered_json slices_json(const std::vector<SliceStats>& slices, const BootstrapParams& params);
void print_slices(const std::vector<SliceStats>& slices, const BootstrapParams& params);

}  // namespace faceattr::cli
