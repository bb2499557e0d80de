// Concept contributions (see concepts.h), read from the model's JSON metadata
// (metadata_json.h).
#include "pipeline/concepts.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "pipeline/metadata_json.h"

namespace faceattr::pipeline {

using namespace metadata_json;

void ConceptHeads::load(const model::Model& m, int units, std::string* why) {
  why->clear();
  *this = ConceptHeads();
  const char* names_text = m.find_metadata("concepts.names");
  const char* units_text = m.find_metadata("concepts.units");
  const char* weights_text = m.find_metadata("concepts.weights");
  if (!names_text && !units_text && !weights_text) return;
  const auto fail = [&](const std::string& what) {
    *this = ConceptHeads();
    *why = "concepts metadata ignored: " + what;
  };
  if (!names_text || !units_text || !weights_text)
    return fail("concepts.names, concepts.units and concepts.weights must all be present");
  const json names = parse(names_text), def = parse(units_text), weights = parse(weights_text);
  if (!names.is_array()) return fail("concepts.names is not a JSON array");
  for (const json& n : names) {
    if (!n.is_string()) return fail("concepts.names holds a non-string");
    names_.push_back(n.get<std::string>());
  }
  const size_t n_concepts = names_.size();
  if (!def.is_object() || !def.contains("concepts") || !def.contains("unit_mean") ||
      !def.contains("unit_scale"))
    return fail("concepts.units is not an object with unit_mean, unit_scale and concepts");
  const size_t u = static_cast<size_t>(units);
  if (!float_array(def["unit_mean"], u, &unit_mean_) || !float_array(def["unit_scale"], u, &unit_scale_))
    return fail("concepts.units: unit_mean and unit_scale must be " + std::to_string(units) +
                " numbers each");
  for (float s : unit_scale_)
    if (!(s > 0.0f) || !std::isfinite(s)) return fail("concepts.units: a unit_scale is not positive");
  const json& members = def["concepts"];
  if (!members.is_array() || members.size() != n_concepts)
    return fail("concepts.units: concepts must list " + std::to_string(n_concepts) + " unit lists");
  for (const json& list : members) {
    if (!list.is_array() || list.empty()) return fail("concepts.units: a concept has no units");
    members_.emplace_back();
    for (const json& v : list) {
      if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() >= units)
        return fail("concepts.units: a unit index is outside [0, " + std::to_string(units) + ")");
      members_.back().push_back(v.get<int>());
    }
  }
  if (!weights.is_object()) return fail("concepts.weights is not a JSON object");
  std::unordered_map<std::string, size_t> attribute;
  for (size_t a = 0; a < m.attribute_names.size(); ++a) attribute[m.attribute_names[a]] = a;
  heads_.assign(m.attribute_names.size(), {});
  for (auto it = weights.begin(); it != weights.end(); ++it) {
    const auto found = attribute.find(it.key());
    if (found == attribute.end())
      return fail("concepts.weights names an unknown attribute '" + it.key() + "'");
    const json& head = it.value();
    if (!head.is_object() || !head.contains("terms") || !head["terms"].is_array())
      return fail("concepts.weights['" + it.key() + "'] has no terms array");
    for (const char* key : {"bias", "threshold"})
      if (head.contains(key) && !finite_number(head[key]))
        return fail("concepts.weights['" + it.key() + "']: " + key + " is not a finite number");
    std::vector<Term>& terms = heads_[found->second];
    for (const json& t : head["terms"]) {
      if (!t.is_array() || t.size() != 2 || !t[0].is_number_integer() || !finite_number(t[1]) ||
          t[0].get<long long>() < 0 || t[0].get<long long>() >= static_cast<long long>(n_concepts))
        return fail("concepts.weights['" + it.key() + "']: a term is not [concept index, weight]");
      terms.push_back(Term{t[0].get<int>(), t[1].get<float>()});
    }
    max_terms_ = std::max(max_terms_, static_cast<int>(terms.size()));
  }
  if (max_terms_ == 0) return fail("concepts.weights has no terms");
}

int ConceptHeads::contributions(int attribute, const float* pooled,
                                faceattr_concept_contribution* out) const {
  if (!loaded() || attribute < 0 || static_cast<size_t>(attribute) >= heads_.size()) return 0;
  const std::vector<Term>& terms = heads_[static_cast<size_t>(attribute)];
  int n = 0;
  for (const Term& t : terms) {
    const std::vector<int>& units = members_[static_cast<size_t>(t.concept_index)];
    double c = 0;
    for (int u : units)
      c += (pooled[u] - unit_mean_[static_cast<size_t>(u)]) / unit_scale_[static_cast<size_t>(u)];
    c /= static_cast<double>(units.size());
    faceattr_concept_contribution item{names_[static_cast<size_t>(t.concept_index)].c_str(),
                                       static_cast<float>(t.weight * c)};
    // Insertion by |contribution|, largest first.
    int k = n++;
    while (k > 0 && std::fabs(out[k - 1].contribution) < std::fabs(item.contribution)) {
      out[k] = out[k - 1];
      --k;
    }
    out[k] = item;
  }
  return n;
}

}  // namespace faceattr::pipeline
