// faceattr_model_* entry points: a model's header fields and graph, read-only.
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "api/guard.h"
#include "api/session.h"

using faceattr::invalid_argument;
using faceattr::Status;

// Shapes, node inputs and outputs are handed out as the model's own int arrays.
static_assert(std::is_same<int, int32_t>::value, "faceattr_*_info arrays alias std::vector<int> data");

namespace faceattr::api {

void bind_model(const model::Model* m, faceattr_model* out) {
  out->model = m;
  out->attribute_names.clear();
  for (const std::string& a : m->attribute_names) out->attribute_names.push_back(a.c_str());
  out->metadata_keys.clear();
  out->metadata_values.clear();
  for (const auto& kv : m->metadata) {
    out->metadata_keys.push_back(kv.first.c_str());
    out->metadata_values.push_back(kv.second.c_str());
  }
}

}  // namespace faceattr::api

namespace {

// The model file's activation values (docs/model-format.md) in the C API's spelling.
const char* activation_name(int act) {
  static const char* const kNames[] = {"none", "relu", "relu6", "leaky_relu"};
  return act >= 0 && act < 4 ? kNames[act] : "?";
}

template <class T>
const T* data_or_null(const std::vector<T>& v) {
  return v.empty() ? nullptr : v.data();
}

}  // namespace

extern "C" {

faceattr_status faceattr_model_load(const void* data, size_t size, faceattr_model** out) {
  faceattr::clear_last_error();
  FACEATTR_GUARD_BEGIN
  if (out == nullptr) return faceattr::report(invalid_argument("faceattr_model_load: out is null"));
  *out = nullptr;
  if (data == nullptr || size == 0)
    return faceattr::report(invalid_argument("faceattr_model_load: null or empty buffer"));
  std::unique_ptr<faceattr_model> m(new (std::nothrow) faceattr_model);
  if (m) m->owned.reset(new (std::nothrow) faceattr::model::Model);
  if (!m || !m->owned) return faceattr::report(Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot allocate a model"));
  const Status st = faceattr::model::load_model(data, size, m->owned.get());
  if (!st.is_ok()) return faceattr::report(st);
  faceattr::api::bind_model(m->owned.get(), m.get());
  *out = m.release();
  return FACEATTR_OK;
  FACEATTR_GUARD_END
}

void faceattr_model_free(faceattr_model* model) { delete model; }

const faceattr_model* faceattr_session_model(const faceattr_session* session, int32_t which) {
  if (session == nullptr) return nullptr;
  if (which == 0) return &session->models[0];
  if (which == 1 && session->pipeline.has_lnet()) return &session->models[1];
  return nullptr;
}

faceattr_status faceattr_model_get_info(const faceattr_model* model, faceattr_model_info* out) {
  faceattr::clear_last_error();
  if (model == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_model_get_info: null argument"));
  const faceattr::model::Model& m = *model->model;
  faceattr_model_info& i = *out;
  std::memset(&i, 0, sizeof i);
  i.kind = m.kind.c_str();
  i.name = m.name.c_str();
  i.description = m.description.c_str();
  i.input_width = m.input_width;
  i.input_height = m.input_height;
  for (int c = 0; c < 3; ++c) {
    i.mean[c] = m.mean[c];
    i.std[c] = m.std[c];
  }
  i.n_attributes = static_cast<int32_t>(m.attribute_names.size());
  i.attribute_names = data_or_null(model->attribute_names);
  i.thresholds = data_or_null(m.thresholds);
  i.n_metadata = static_cast<int32_t>(m.metadata.size());
  i.metadata_keys = data_or_null(model->metadata_keys);
  i.metadata_values = data_or_null(model->metadata_values);
  i.n_tensors = static_cast<int32_t>(m.tensors.size());
  i.n_nodes = static_cast<int32_t>(m.nodes.size());
  i.input = m.input;
  i.n_outputs = static_cast<int32_t>(m.outputs.size());
  i.outputs = data_or_null(m.outputs);
  i.balanced_thresholds = data_or_null(m.balanced_thresholds);
  return FACEATTR_OK;
}

faceattr_status faceattr_model_get_tensor(const faceattr_model* model, int32_t index,
                                          faceattr_tensor_info* out) {
  faceattr::clear_last_error();
  if (model == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_model_get_tensor: null argument"));
  const auto& tensors = model->model->tensors;
  if (index < 0 || static_cast<size_t>(index) >= tensors.size())
    return faceattr::report(invalid_argument("faceattr_model_get_tensor: index " + std::to_string(index) +
                                             " out of range [0, " + std::to_string(tensors.size()) + ")"));
  const faceattr::model::Tensor& t = tensors[static_cast<size_t>(index)];
  faceattr_tensor_info& i = *out;
  std::memset(&i, 0, sizeof i);
  i.name = t.name.c_str();
  i.dtype = static_cast<faceattr_dtype>(static_cast<int>(t.dtype));  // the file's values, as faceattr_dtype
  i.n_dims = static_cast<int32_t>(t.shape.size());
  i.shape = data_or_null(t.shape);
  i.n_scales = static_cast<int32_t>(t.scales.size());
  i.scales = data_or_null(t.scales);
  i.zero_points = data_or_null(t.zero_points);
  i.constant = t.constant ? 1 : 0;
  i.data = t.constant ? t.data : nullptr;
  i.data_size = t.constant && t.data != nullptr ? t.data_size : 0;
  return FACEATTR_OK;
}

faceattr_status faceattr_model_get_node(const faceattr_model* model, int32_t index, faceattr_node_info* out) {
  faceattr::clear_last_error();
  if (model == nullptr || out == nullptr)
    return faceattr::report(invalid_argument("faceattr_model_get_node: null argument"));
  const auto& nodes = model->model->nodes;
  if (index < 0 || static_cast<size_t>(index) >= nodes.size())
    return faceattr::report(invalid_argument("faceattr_model_get_node: index " + std::to_string(index) +
                                             " out of range [0, " + std::to_string(nodes.size()) + ")"));
  const faceattr::model::Node& n = nodes[static_cast<size_t>(index)];
  faceattr_node_info& i = *out;
  std::memset(&i, 0, sizeof i);
  i.name = n.name.c_str();
  i.op = faceattr::model::op_name(n.op);
  i.n_inputs = static_cast<int32_t>(n.inputs.size());
  i.inputs = data_or_null(n.inputs);
  i.output = n.output;
  i.kernel_h = n.kernel_h;
  i.kernel_w = n.kernel_w;
  i.stride_h = n.stride_h;
  i.stride_w = n.stride_w;
  i.pad_top = n.pad_top;
  i.pad_left = n.pad_left;
  i.pad_bottom = n.pad_bottom;
  i.pad_right = n.pad_right;
  i.groups = n.groups;
  i.axis = n.axis;
  i.activation = activation_name(static_cast<int>(n.act));
  i.leaky_alpha = n.leaky_alpha;
  return FACEATTR_OK;
}

}  // extern "C"
