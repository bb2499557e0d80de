// Model attributes matched to the columns of a CelebA attribute file, and the
// per-attribute decisions and summaries that `faceattr eval --images` and
// `--scenes` count with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "celeba_attrs.h"
#include "cli_common.h"
#include "eval_metrics.h"

namespace faceattr::cli {

struct AttrMatch {
  int model_index;  // index in the model's outputs
  size_t file_col;  // column in the attribute file
};

// The model attributes that `table` has a column for, model order; warns on stderr about
// the others and throws Error when there are none.
std::vector<AttrMatch> match_attributes(const std::vector<std::string>& model_names, const AttrTable& table);

// Decisions (probability >= threshold) for the matched attributes.
void decide(const float* probs, const std::vector<AttrMatch>& matches, const std::vector<float>& thresholds,
            uint8_t* out);

// ANet alone on `img` as one face (centre crop at ANet's aspect).
void predict_crop(faceattr_session* s, const faceattr_image& img, std::vector<float>& probs,
                  const std::string& what);

// An empty summary over the matched attributes.
EvalSummary make_summary(const std::vector<std::string>& model_names, const std::vector<AttrMatch>& matches);

// Counts one face: its decisions against row `row` of `table`.
void add_decisions(EvalSummary& s, const uint8_t* decisions, const AttrTable& table, size_t row,
                   const std::vector<AttrMatch>& matches);

// {"n_faces", "mean_accuracy", "mean_balanced_accuracy"}.
nlohmann::ordered_json summary_json(const EvalSummary& s);

}  // namespace faceattr::cli
