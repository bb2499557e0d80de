// A validated model in plain structs. load_model() is the SDK's only reader of
// the .fam container (docs/model-format.md); it never throws and leaves a
// message naming the offending tensor/node in the returned Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "faceattr_model_generated.h"
#include "util/status.h"

namespace faceattr::model {

// The file's enums, generated from sdk/schema/faceattr_model.fbs (flatc
// --scoped-enums): fb::DType, fb::OpType and fb::Activation.
using DType = fb::DType;
using Op = fb::OpType;
using Act = fb::Activation;
// load_model() range-checks these values, and dtype_size() and the kernels
// handle each of them: a value added to the schema fails these checks until it
// is handled there too.
static_assert(DType::MAX == DType::I32, "DType values the SDK knows");
static_assert(Op::MAX == Op::Dequantize, "Op values the SDK knows");
static_assert(Act::MAX == Act::LeakyRelu, "Act values the SDK knows");

size_t dtype_size(DType d);
const char* op_name(Op op);

struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int> shape;
  size_t elements = 0;
  std::vector<float> scales;         // empty for f32
  std::vector<int32_t> zero_points;  // same count as scales
  bool constant = false;
  const uint8_t* data = nullptr;  // constants: inside Model's aligned byte copy (64-byte aligned)
  size_t data_size = 0;
  size_t bytes() const { return elements * dtype_size(dtype); }
};

// One node; the tools' writer builds the same struct (modelfile::NodeDef).
struct Node {
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

struct Model {
  std::string kind, name, description;
  int input_width = 0, input_height = 0;
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
  std::vector<std::string> attribute_names;
  std::vector<float> thresholds;           // the accuracy policy's (faceattr_threshold_policy)
  std::vector<float> balanced_thresholds;  // the balanced policy's; empty when the file has none
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;
  int input = -1;
  std::vector<int> outputs;

  const char* find_metadata(const char* key) const;  // nullptr when absent

  // Owns the 64-byte aligned copy of the file that constants point into.
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, AlignedFree> bytes;
  size_t size = 0;
};

// Limits applied before anything is allocated from sizes found in a file.
inline constexpr size_t kMaxModelBytes = size_t{1} << 30;       // 1 GiB file
inline constexpr size_t kMaxTensorElements = size_t{1} << 28;   // per tensor
inline constexpr size_t kMaxActivationBytes = size_t{1} << 30;  // all activations together
inline constexpr size_t kMaxTensors = 1 << 16;
inline constexpr size_t kMaxNodes = 1 << 16;

// Parses, verifies and validates `size` bytes. Codes: FACEATTR_ERR_MODEL_FORMAT,
// FACEATTR_ERR_MODEL_VERSION, FACEATTR_ERR_INVALID_ARGUMENT (null), FACEATTR_ERR_OUT_OF_MEMORY.
Status load_model(const void* data, size_t size, Model* out);

// Graph checks on an already parsed model (also used by load_model).
Status validate_graph(const Model& m);

// Re-plans the activation shapes of a validated model for a width x height input
// (a fully convolutional network, e.g. the LNet at a tracker's local-search size),
// then validates the graph again. FACEATTR_ERR_MODEL_FORMAT when a layer has no
// output at that size or a fully connected layer's input size changes.
Status reshape_input(Model* m, int width, int height);

}  // namespace faceattr::model
