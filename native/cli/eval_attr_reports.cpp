#include "eval_attr_reports.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string>

namespace faceattr::cli {

AttrReports make_attr_reports(const std::vector<float>& probs, const std::vector<uint8_t>& decisions,
                              const AttrTable& table, const std::vector<size_t>& rows,
                              const std::vector<AttrMatch>& matches) {
  const size_t na = matches.size();
  std::vector<uint8_t> truth(rows.size() * na);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t k = 0; k < na; ++k) truth[i * na + k] = table.label(rows[i], matches[k].file_col) > 0 ? 1 : 0;
  AttrReports r;
  r.calibration = calibration_report(probs, truth, na);

  size_t col[std::size(kSliceAttrs)];
  for (size_t s = 0; s < std::size(kSliceAttrs); ++s) {
    auto it = std::find(table.names.begin(), table.names.end(), kSliceAttrs[s]);
    if (it == table.names.end()) return r;
    col[s] = static_cast<size_t>(it - table.names.begin());
  }
  r.has_slices = true;
  std::vector<int> slice_of(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    slice_of[i] = slice_index(table.label(rows[i], col[0]) > 0, table.label(rows[i], col[1]) > 0,
                              table.label(rows[i], col[2]) > 0);
  r.slices = slice_stats(decisions, truth, na, slice_of, r.params);
  return r;
}

void add_reports_json(nlohmann::ordered_json& j, const AttrReports& r) {
  const CalibrationReport& c = r.calibration;
  size_t k = 0;
  for (auto& [name, entry] : j["per_attribute"].items()) {
    if (k >= c.ece.size()) break;
    entry["ece"] = c.ece[k];
    entry["distinct_p"] = c.distinct[k];
    ++k;
  }
  j["calibration"] = {{"bins", kCalibrationBins},
                      {"mean_ece", c.mean_ece},
                      {"distinct_p_min", c.distinct_min},
                      {"distinct_p_median", c.distinct_median}};
  j["slices"] = r.has_slices ? slices_json(r.slices, r.params) : nlohmann::ordered_json(nullptr);
}

void print_reports(const AttrReports& r) {
  const CalibrationReport& c = r.calibration;
  std::printf(
      "\ncalibration (%d equal-width bins): mean ECE %.4f; distinct probabilities per attribute: min %lld, "
      "median %g\n",
      kCalibrationBins, c.mean_ece, static_cast<long long>(c.distinct_min), c.distinct_median);
  if (!r.has_slices) {
    std::printf("slices: the attribute file lacks Male, Young or Pale_Skin\n");
    return;
  }
  print_slices(r.slices, r.params);
}

}  // namespace faceattr::cli
