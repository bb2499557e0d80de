#include "eval_attrs.h"

#include <algorithm>
#include <cstdio>

namespace faceattr::cli {

std::vector<AttrMatch> match_attributes(const std::vector<std::string>& model_names, const AttrTable& table) {
  std::vector<AttrMatch> matches;
  std::string unmatched;
  for (size_t a = 0; a < model_names.size(); ++a) {
    auto it = std::find(table.names.begin(), table.names.end(), model_names[a]);
    if (it == table.names.end()) {
      unmatched += (unmatched.empty() ? "" : ", ") + model_names[a];
    } else {
      matches.push_back({static_cast<int>(a), static_cast<size_t>(it - table.names.begin())});
    }
  }
  if (matches.empty()) throw Error("no model attribute appears in the attribute file");
  if (!unmatched.empty()) {
    std::fprintf(stderr, "faceattr: warning: not in the attribute file, not evaluated: %s\n",
                 unmatched.c_str());
  }
  return matches;
}

void decide(const float* probs, const std::vector<AttrMatch>& matches, const std::vector<float>& thresholds,
            uint8_t* out) {
  for (size_t k = 0; k < matches.size(); ++k) {
    const int a = matches[k].model_index;
    out[k] = probs[a] >= thresholds[a] ? 1 : 0;
  }
}

void predict_crop(faceattr_session* s, const faceattr_image& img, std::vector<float>& probs,
                  const std::string& what) {
  faceattr_status st = faceattr_session_predict_crop(s, &img, probs.data());
  if (st != FACEATTR_OK) throw_api_error("cannot predict " + what, st);
}

EvalSummary make_summary(const std::vector<std::string>& model_names, const std::vector<AttrMatch>& matches) {
  EvalSummary s;
  s.counts.resize(matches.size());
  for (const AttrMatch& m : matches) s.names.push_back(model_names[m.model_index]);
  return s;
}

void add_decisions(EvalSummary& s, const uint8_t* decisions, const AttrTable& table, size_t row,
                   const std::vector<AttrMatch>& matches) {
  ++s.n_images;
  for (size_t k = 0; k < matches.size(); ++k)
    s.counts[k].add(decisions[k] != 0, table.label(row, matches[k].file_col) > 0);
}

nlohmann::ordered_json summary_json(const EvalSummary& s) {
  return {{"n_faces", s.n_images},
          {"mean_accuracy", s.mean_accuracy()},
          {"mean_balanced_accuracy", s.mean_balanced_accuracy()}};
}

}  // namespace faceattr::cli
