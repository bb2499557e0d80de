// The model file in plain C++ structs, for the tools that write and read it
// (trainer, ONNX exporter, tests), built on the SDK's model definitions. The
// SDK has its own allocation-light, exception-free reader (sdk/src/model); both
// follow docs/model-format.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/file_header.h"
#include "model/model.h"

namespace faceattr::modelfile {

// The enums (generated from sdk/schema/faceattr_model.fbs), the node struct and
// the container version are the SDK's own (sdk/src/model).
using model::Act;
using model::DType;
using model::kFormatVersion;
using model::Op;
using NodeDef = model::Node;

struct TensorDef {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int> shape;            // activations NHWC; conv weights OHWI; fc weights [out][in]
  std::vector<float> scales;         // int8/int32: 1 (per tensor) or shape[0] (per output channel)
  std::vector<int32_t> zero_points;  // same count as scales
  std::vector<uint8_t> data;         // constant bytes (little-endian); empty for activations
  bool constant() const { return !data.empty(); }
};

// A Conv2d node with a square kernel and stride; `pads` is {top, left, bottom,
// right}, `bias` -1 when absent.
NodeDef conv2d_node(const std::string& name, int x, int weight, int bias, int output, int kernel, int stride,
                    std::array<int, 4> pads, int groups, Act act);

struct ModelDef {
  std::string kind;  // "anet" | "lnet"
  std::string name;
  std::string description;
  int input_width = 0, input_height = 0, input_channels = 3;
  std::vector<float> mean, std;
  std::vector<std::string> attribute_names;
  std::vector<float> thresholds;  // the accuracy policy's: one per attribute
  std::vector<float>
      balanced_thresholds;  // optional, the balanced policy's: empty (not written) or one per attribute
  std::vector<TensorDef> tensors;
  std::vector<NodeDef> nodes;
  std::vector<int> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> metadata;

  int add_tensor(TensorDef t) {
    tensors.push_back(std::move(t));
    return static_cast<int>(tensors.size()) - 1;
  }
  // Helpers: activation tensor, f32/i8/i32 constants (data copied little-endian).
  int add_activation(const std::string& name, std::vector<int> shape, DType dtype = DType::F32,
                     float scale = 1.0f, int32_t zero_point = 0);
  int add_const_f32(const std::string& name, std::vector<int> shape, const std::vector<float>& values);
  int add_const_i8(const std::string& name, std::vector<int> shape, const std::vector<int8_t>& values,
                   std::vector<float> scales);
  int add_const_i32(const std::string& name, std::vector<int> shape, const std::vector<int32_t>& values,
                    std::vector<float> scales);
  int add_node(NodeDef n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }
  const std::string* find_metadata(const std::string& key) const;
};

// Serialises to the container of docs/model-format.md. Throws
// std::invalid_argument when the definition is inconsistent (bad indices,
// data sizes that do not match shape and dtype, missing quantisation).
std::vector<uint8_t> serialize(const ModelDef& model);

// Parses and verifies a container (magic, version, sizes, CRC, FlatBuffers
// verifier). Throws std::runtime_error with a message naming the problem.
ModelDef parse(const uint8_t* data, size_t size);

// Writes bytes to `path` atomically (temp file in the same folder, fsync, rename).
// Throws std::runtime_error on failure.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file(const std::string& path);  // throws std::runtime_error

}  // namespace faceattr::modelfile
