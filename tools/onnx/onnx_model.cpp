// ModelProto assembly: opset, metadata, checker, shape inference, file output.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cstdio>
#include <map>
#include <stdexcept>

#include "onnx_export.h"

namespace faceattr::onnx_export {
namespace {

namespace mf = faceattr::modelfile;

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_array(const std::vector<float>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
    out += (i ? "," : "") + std::string(buf);
  }
  return out + "]";
}

std::string json_array(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
  return out + "]";
}

bool is_int8_model(const mf::ModelDef& m) {
  for (const auto& t : m.tensors)
    if (t.dtype == mf::DType::I8) return true;
  return false;
}

void put(onnx::ModelProto* p, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = p->add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}

std::vector<int64_t> nchw(const std::vector<int>& s) {
  if (s.size() == 4) return {s[0], s[3], s[1], s[2]};
  return std::vector<int64_t>(s.begin(), s.end());
}

}  // namespace

void add_metadata(const modelfile::ModelDef& m, onnx::ModelProto* p) {
  put(p, "faceattr.export",
      "faceattr .fam -> ONNX, format version " + std::to_string(modelfile::kFormatVersion));
  put(p, "kind", m.kind);
  put(p, "name", m.name);
  put(p, "input_width", std::to_string(m.input_width));
  put(p, "input_height", std::to_string(m.input_height));
  put(p, "input_channels", std::to_string(m.input_channels));
  put(p, "input_layout", "NCHW, RGB");
  put(p, "normalisation", "input[c] = (pixel / 255 - mean[c]) / std[c]");
  put(p, "mean", json_array(m.mean));
  put(p, "std", json_array(m.std));
  put(p, "precision", is_int8_model(m) ? "int8" : "fp32");
  if (m.kind == "anet") {
    put(p, "attribute_names", json_array(m.attribute_names));
    put(p, "thresholds", json_array(m.thresholds));
    if (!m.balanced_thresholds.empty()) put(p, "balanced_thresholds", json_array(m.balanced_thresholds));
  }
  for (const auto& [k, v] : m.metadata) put(p, "fam." + k, v);
}

void verify_model(const modelfile::ModelDef& m, const std::vector<std::string>& names, onnx::ModelProto* p) {
  try {
    onnx::checker::check_model(*p);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("onnx export: onnx::checker refused the model: ") + e.what());
  }
  try {
    onnx::shape_inference::InferShapes(*p, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict=*/1, false));
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("onnx export: shape inference failed: ") + e.what());
  }

  std::map<std::string, const onnx::ValueInfoProto*> infos;
  for (const auto& v : p->graph().value_info()) infos[v.name()] = &v;
  for (const auto& v : p->graph().input()) infos[v.name()] = &v;
  for (const auto& v : p->graph().output()) infos[v.name()] = &v;

  std::vector<bool> produced(m.tensors.size(), false);
  for (int i : m.inputs) produced[i] = true;
  for (const auto& n : m.nodes) produced[n.output] = true;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    if (!produced[i]) continue;
    const auto& t = m.tensors[i];
    auto it = infos.find(names[i]);
    if (it == infos.end() || !it->second->type().tensor_type().has_shape())
      throw std::runtime_error("onnx export: shape inference gave no shape for tensor '" + t.name + "'");
    const auto& shape = it->second->type().tensor_type().shape();
    std::vector<int64_t> want = nchw(t.shape), got;
    for (const auto& d : shape.dim()) got.push_back(d.has_dim_value() ? d.dim_value() : -1);
    if (got != want) {
      std::string g, w;
      for (auto d : got) g += std::to_string(d) + " ";
      for (auto d : want) w += std::to_string(d) + " ";
      throw std::runtime_error("onnx export: tensor '" + t.name + "' inferred as [ " + g +
                               "], expected NCHW [ " + w + "]");
    }
    const int32_t want_type = t.dtype == mf::DType::I8 ? onnx::TensorProto::INT8 : onnx::TensorProto::FLOAT;
    if (it->second->type().tensor_type().elem_type() != want_type)
      throw std::runtime_error("onnx export: tensor '" + t.name + "' has the wrong element type");
  }
}

onnx::ModelProto export_model(const modelfile::ModelDef& model, const ExportOptions& options) {
  onnx::ModelProto p;
  p.set_ir_version(onnx::IR_VERSION_2020_5_8);  // IR 7: the first to cover opset 13
  p.set_producer_name("faceattr-export-onnx");
  p.set_producer_version(options.producer_version);
  p.set_model_version(1);
  p.set_doc_string(model.description);
  onnx::OperatorSetIdProto* opset = p.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  std::vector<std::string> names = build_graph(model, p.mutable_graph());
  add_metadata(model, &p);
  verify_model(model, names, &p);
  return p;
}

void save_model(const onnx::ModelProto& model, const std::string& path) {
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw std::runtime_error("onnx export: could not serialise the model");
  modelfile::write_file_atomic(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

}  // namespace faceattr::onnx_export
