// The last step of the fully convolutional exports (lnet-export, loc-export):
// the SDK check of both model files, then the files, their golden files and
// the export report.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "quant/int8.h"

namespace faceattr::train {

struct FcnExport {
  std::string tag;    // log prefix, e.g. "[lnet-export]"
  std::string model;  // for the error message, e.g. "LNet"
  std::vector<uint8_t> bytes32, bytes8;
  torch::Tensor x_nhwc;                 // validation inputs [N,H,W,3], normalised
  torch::Tensor expected32, expected8;  // LibTorch's probabilities for them, [N, outputs]
  torch::Tensor golden_in;              // golden_inputs() [G,H,W,3]
  torch::Tensor golden32, golden8;      // LibTorch's probabilities for them
  double out_step = 0;                  // the int8 model's output logit step
  std::string golden_layout, golden_source;
};

using Metadata = std::vector<std::pair<std::string, std::string>>;

// e.bytes32 and e.bytes8: the models <name>-fp32 and <name>-int8 (kind "lnet") of the folded
// stack and its int8 version, described as "<description>, fp32" and "<description>, int8
// post-training quantised".
void serialize_models(FcnExport& e, const std::vector<FoldedConv>& folded, const QNet& q, const InputSpec& in,
                      const std::string& name, const std::string& description, Metadata meta32,
                      Metadata meta8);

// SDK checks (raw network, every kernel family): fp32 within 1e-4; int8 within 1e-4 on the
// reference kernels (the emulation is exact; 1e-4 covers the sigmoid), other families within
// 4 output logit steps through the sigmoid (slope <= 1/4), which may round an intermediate
// value one step differently. Throws on a failed check before writing anything. Then
// <stem>-fp32.fam, <stem>-int8.fam and their golden files; `report` gets the file sizes and
// the checks and is written to report_path.
void check_and_write(const FcnExport& e, const std::string& stem, nlohmann::json report,
                     const std::string& report_path);

}  // namespace faceattr::train
