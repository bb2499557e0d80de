// Small helpers for writing an ONNX GraphProto: unique value names, nodes with
// attributes, and initializers from typed vectors.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace faceattr::onnx_export {

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // Returns `base` if no value/node uses it yet, else base_1, base_2, ...; reserves it.
  std::string fresh(const std::string& base);
  // Reserves an exact name; throws std::runtime_error if it is taken.
  void reserve(const std::string& name);

  onnx::NodeProto* node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name_hint);

  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v);
  static void attr(onnx::NodeProto* n, const std::string& name, float v);
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v);

  // Initializers (little-endian raw data). `name` must already be reserved or fresh.
  void init_f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v);
  void init_i8(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int8_t>& v);
  void init_i32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v);

  onnx::GraphProto* graph() { return graph_; }

 private:
  onnx::TensorProto* add_init(const std::string& name, const std::vector<int64_t>& dims, int32_t dtype);
  onnx::GraphProto* graph_;
  std::unordered_set<std::string> used_;        // value names
  std::unordered_set<std::string> used_nodes_;  // node names (a separate namespace)
};

// Type + shape of a graph input/output.
void set_value_info(onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                    const std::vector<int64_t>& dims);

}  // namespace faceattr::onnx_export
