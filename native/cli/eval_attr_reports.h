// What `faceattr eval --images` reports beside accuracy: the calibration of the probabilities
// behind the decisions (eval_calibration.h) and the slices by Male x Young x Pale_Skin
// (celeba_slices.h), with their JSON and text forms (docs/cli.md, "Slices and calibration").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "celeba_attrs.h"
#include "celeba_slices.h"
#include "eval_attrs.h"
#include "eval_bootstrap.h"
#include "eval_calibration.h"

namespace faceattr::cli {

struct AttrReports {
  CalibrationReport calibration;
  bool has_slices = false;  // false when the attribute file lacks Male, Young or Pale_Skin
  std::vector<SliceStats> slices;
  BootstrapParams params;
};

// `probs`, `decisions`: rows.size() x matches.size(), the probability and decision behind each
// counted face (row i: image rows[i] of `table`).
AttrReports make_attr_reports(const std::vector<float>& probs, const std::vector<uint8_t>& decisions,
                              const AttrTable& table, const std::vector<size_t>& rows,
                              const std::vector<AttrMatch>& matches);

// Adds "ece" and "distinct_p" to each per_attribute entry of `j` (in match order), then
// "calibration" and "slices" (null without the slice columns).
void add_reports_json(nlohmann::ordered_json& j, const AttrReports& r);

// The calibration summary line and the slice table.
void print_reports(const AttrReports& r);

}  // namespace faceattr::cli
