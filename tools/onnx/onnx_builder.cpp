#include "onnx_builder.h"

#include <cstring>
#include <stdexcept>

namespace faceattr::onnx_export {

std::string GraphBuilder::fresh(const std::string& base) {
  std::string name = base.empty() ? std::string("v") : base;
  for (int k = 1; used_.count(name) != 0; ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

void GraphBuilder::reserve(const std::string& name) {
  if (!used_.insert(name).second)
    throw std::runtime_error("onnx export: duplicate value name '" + name + "'");
}

onnx::NodeProto* GraphBuilder::node(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name_hint) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op_type);
  const std::string base = name_hint.empty() ? op_type : name_hint;
  std::string name = base;
  for (int k = 1; used_nodes_.count(name) != 0; ++k) name = base + "_" + std::to_string(k);
  used_nodes_.insert(name);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

void GraphBuilder::attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void GraphBuilder::attr(onnx::NodeProto* n, const std::string& name, float v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void GraphBuilder::attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

onnx::TensorProto* GraphBuilder::add_init(const std::string& name, const std::vector<int64_t>& dims,
                                          int32_t dtype) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(dtype);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

namespace {
template <typename T>
std::string raw_bytes(const std::vector<T>& v) {
  // x86-64 / aarch64 / wasm are little-endian, as ONNX raw_data requires.
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}
}  // namespace

void GraphBuilder::init_f32(const std::string& name, const std::vector<int64_t>& dims,
                            const std::vector<float>& v) {
  add_init(name, dims, onnx::TensorProto::FLOAT)->set_raw_data(raw_bytes(v));
}

void GraphBuilder::init_i8(const std::string& name, const std::vector<int64_t>& dims,
                           const std::vector<int8_t>& v) {
  add_init(name, dims, onnx::TensorProto::INT8)->set_raw_data(raw_bytes(v));
}

void GraphBuilder::init_i32(const std::string& name, const std::vector<int64_t>& dims,
                            const std::vector<int32_t>& v) {
  add_init(name, dims, onnx::TensorProto::INT32)->set_raw_data(raw_bytes(v));
}

void set_value_info(onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                    const std::vector<int64_t>& dims) {
  vi->set_name(name);
  onnx::TypeProto_Tensor* t = vi->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

}  // namespace faceattr::onnx_export
