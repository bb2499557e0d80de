// Reading the JSON metadata of a model file (concepts.cpp, average_maps.cpp) with
// nlohmann::json without exceptions (the wasm build has none): every value's type is
// checked before it is read.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace faceattr::pipeline::metadata_json {

using json = nlohmann::json;

// The parsed text, or a discarded value (is_discarded()) when it is not JSON.
inline json parse(const char* text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

// A number that is finite as a float: JSON has no inf or NaN, but 1e39 is beyond a float's
// range (and converting it would be undefined behaviour).
inline bool finite_number(const json& v) {
  if (!v.is_number()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max());
}

// An array of exactly n finite_number values, into *out.
inline bool float_array(const json& j, size_t n, std::vector<float>* out) {
  if (!j.is_array() || j.size() != n) return false;
  out->clear();
  for (const json& v : j) {
    if (!finite_number(v)) return false;
    out->push_back(v.get<float>());
  }
  return true;
}

}  // namespace faceattr::pipeline::metadata_json
