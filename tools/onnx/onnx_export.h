// faceattr model (.fam, see docs/model-format.md) -> ONNX (opset 13).
//
// Layout of the result:
//  * input "input": float [1, C, H, W], the normalised image (NCHW; the .fam
//    graph is NHWC: transpose [1,H,W,C] -> [1,C,H,W] before feeding it).
//  * output "probs" (anet): float [1, n_attributes]; "output" for other kinds
//    (rank-4 outputs become NCHW).
//  * fp32 graphs map op for op; int8 graphs use the QDQ format: int8 weight
//    initializers with per-channel (axis 0) DequantizeLinear, int32 biases with
//    DequantizeLinear(scale = in_scale * w_scale), and QuantizeLinear /
//    DequantizeLinear pairs around every int8 activation, so ONNX Runtime can
//    fuse them into QLinearConv and friends.
//  * metadata_props: kind, name, input size/layout, mean/std, attribute names,
//    thresholds and, when the model has them, balanced_thresholds (JSON arrays),
//    precision, and the .fam metadata as "fam.<key>".
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "faceattr/faceattr_version.h"
#include "model_def.h"

namespace faceattr::onnx_export {

struct ExportOptions {
  int64_t opset = 13;
  std::string producer_version = FACEATTR_VERSION_STRING;
};

// Name of the graph output for a model kind: "probs" for anet, "output" otherwise.
std::string output_name(const modelfile::ModelDef& model);

// Converts, then runs onnx::checker::check_model and strict shape inference and
// checks every inferred activation shape against the .fam shapes. Throws
// std::runtime_error naming the node or tensor on unsupported or inconsistent
// models and when the checker or shape inference refuses the result.
onnx::ModelProto export_model(const modelfile::ModelDef& model, const ExportOptions& options = {});

// Serialises and writes atomically. Throws std::runtime_error on failure.
void save_model(const onnx::ModelProto& model, const std::string& path);

// Internal steps, exposed for tests. build_graph returns the ONNX value name
// of each .fam tensor (the int8 value for int8 tensors).
std::vector<std::string> build_graph(const modelfile::ModelDef& model, onnx::GraphProto* graph);
void add_metadata(const modelfile::ModelDef& model, onnx::ModelProto* proto);
void verify_model(const modelfile::ModelDef& model, const std::vector<std::string>& names,
                  onnx::ModelProto* proto);

}  // namespace faceattr::onnx_export
