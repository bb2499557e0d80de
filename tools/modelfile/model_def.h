// The model file in plain C++ structs, for the tools that write and read it
// (trainer, ONNX exporter, tests). The SDK has its own allocation-light,
// exception-free reader (sdk/src/model); both follow docs/model-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace faceattr::modelfile {

inline constexpr uint32_t kFormatVersion = 1;

enum class DType { F32 = 0, I8 = 1, I32 = 2 };
enum class Act { None = 0, Relu = 1, Relu6 = 2, LeakyRelu = 3 };
enum class Op {
  Conv2d = 0,
  FullyConnected = 1,
  MaxPool2d = 2,
  AvgPool2d = 3,
  GlobalAvgPool = 4,
  Add = 5,
  Concat = 6,
  Sigmoid = 7,
  Activation = 8,
  Quantize = 9,
  Dequantize = 10
};

struct TensorDef {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int> shape;            // activations NHWC; conv weights OHWI; fc weights [out][in]
  std::vector<float> scales;         // int8/int32: 1 (per tensor) or shape[0] (per output channel)
  std::vector<int32_t> zero_points;  // same count as scales
  std::vector<uint8_t> data;         // constant bytes (little-endian); empty for activations
  bool constant() const { return !data.empty(); }
};

struct NodeDef {
  std::string name;
  Op op = Op::Conv2d;
  std::vector<int> inputs;  // tensor indices; -1 = absent optional input (bias)
  int output = -1;
  // Conv2d / pools
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;
  // Concat
  int axis = 3;
  // Fused (Conv2d, FullyConnected, Add) or standalone (Activation)
  Act act = Act::None;
  float leaky_alpha = 0.01f;
};

struct ModelDef {
  std::string kind;  // "anet" | "lnet"
  std::string name;
  std::string description;
  int input_width = 0, input_height = 0, input_channels = 3;
  std::vector<float> mean, std;
  std::vector<std::string> attribute_names;
  std::vector<float> thresholds;
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
