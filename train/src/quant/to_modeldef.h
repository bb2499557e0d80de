// FoldedNet / QNet -> faceattr::modelfile::ModelDef (NHWC activations, OHWI
// conv weights, docs/model-format.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/augment.h"
#include "model_def.h"
#include "quant/folded.h"
#include "quant/int8.h"

namespace faceattr::train {

struct ModelInfo {
  std::string kind = "anet";
  std::string name, description;
  InputSpec input;
  std::vector<std::string> attribute_names;
  std::vector<float> thresholds;
  std::vector<float> balanced_thresholds;  // optional (empty: not written): equal-error-rate thresholds
  std::vector<std::pair<std::string, std::string>> metadata;
};

modelfile::ModelDef build_fp32_model(const FoldedNet& f, const ModelInfo& info);
// Quantize at the input, int8 convs and pool, Dequantize, then the f32 classifier and Sigmoid.
modelfile::ModelDef build_int8_model(const QNet& q, const ModelInfo& info);

// Fully convolutional (LNet): convs, then a Sigmoid over the last conv's map
// (int8: Quantize, int8 convs, Dequantize, Sigmoid). Output [1, h, w, C].
modelfile::ModelDef build_fp32_fcn_model(const std::vector<FoldedConv>& convs, const ModelInfo& info);
modelfile::ModelDef build_int8_fcn_model(const QNet& q, const ModelInfo& info);

// Metadata values: today's date (UTC, YYYY-MM-DD; the date of SOURCE_DATE_EPOCH when
// set) and a number printed with `format`.
std::string utc_date();
std::string metadata_number(double v, const char* format = "%.4f");

}  // namespace faceattr::train
