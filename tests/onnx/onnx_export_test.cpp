// ONNX exporter: structure, layouts and error messages (the numbers are
// checked against ONNX Runtime by ort_parity.mjs, see tests/onnx.cmake).
#include "onnx_export.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "model_def.h"
#include "tiny_onnx_models.h"

namespace mf = faceattr::modelfile;
namespace ox = faceattr::onnx_export;
using Catch::Matchers::Contains;

namespace {

const onnx::TensorProto& initializer(const onnx::ModelProto& p, const std::string& name) {
  for (const auto& t : p.graph().initializer())
    if (t.name() == name) return t;
  FAIL("no initializer " << name);
  throw std::logic_error("unreachable");
}

template <typename T>
std::vector<T> raw(const onnx::TensorProto& t) {
  std::vector<T> v(t.raw_data().size() / sizeof(T));
  std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
  return v;
}

template <typename T>
std::vector<T> data_of(const mf::TensorDef& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

const onnx::NodeProto& node_named(const onnx::ModelProto& p, const std::string& name) {
  for (const auto& n : p.graph().node())
    if (n.name() == name) return n;
  FAIL("no node " << name);
  throw std::logic_error("unreachable");
}

int64_t attr_i(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  FAIL("node " << n.name() << " has no attribute " << name);
  return 0;
}

std::vector<int64_t> dims(const onnx::ValueInfoProto& v) {
  std::vector<int64_t> d;
  for (const auto& x : v.type().tensor_type().shape().dim()) d.push_back(x.dim_value());
  return d;
}

std::string meta(const onnx::ModelProto& p, const std::string& key) {
  for (const auto& e : p.metadata_props())
    if (e.key() == key) return e.value();
  return "<missing>";
}

int tensor_index(const mf::ModelDef& m, const std::string& name) {
  for (size_t i = 0; i < m.tensors.size(); ++i)
    if (m.tensors[i].name == name) return static_cast<int>(i);
  FAIL("no tensor " << name);
  return -1;
}

}  // namespace

TEST_CASE("fp32 tiny model exports every op, NCHW in and probs out", "[onnx]") {
  const mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
  const onnx::ModelProto p = ox::export_model(m);
  std::set<std::string> ops;
  for (const auto& n : p.graph().node()) ops.insert(n.op_type());
  for (const char* op : {"Conv", "Relu", "Clip", "LeakyRelu", "Add", "MaxPool", "AveragePool", "Concat",
                         "GlobalAveragePool", "Flatten", "Gemm", "Sigmoid"})
    CHECK(ops.count(op) == 1);
  CHECK(ops.count("QuantizeLinear") == 0);
  REQUIRE(p.graph().input_size() == 1);
  CHECK(p.graph().input(0).name() == "input");
  CHECK(dims(p.graph().input(0)) == std::vector<int64_t>{1, 3, 16, 12});
  REQUIRE(p.graph().output_size() == 1);
  CHECK(p.graph().output(0).name() == "probs");
  CHECK(dims(p.graph().output(0)) == std::vector<int64_t>{1, 5});
  CHECK(p.opset_import(0).version() == 13);

  CHECK(attr_i(node_named(p, "dw"), "group") == 8);
  CHECK(attr_i(node_named(p, "grouped"), "group") == 2);
  CHECK(attr_i(node_named(p, "avgpool"), "count_include_pad") == 0);
  CHECK(attr_i(node_named(p, "concat"), "axis") == 1);  // NHWC channels -> NCHW axis 1
  CHECK(attr_i(node_named(p, "fc_out"), "transB") == 1);

  CHECK(meta(p, "kind") == "anet");
  CHECK(meta(p, "attribute_names") == R"(["Smiling","Male","Eyeglasses","Young","Bald"])");
  CHECK(meta(p, "thresholds") == "[0.5,0.449999988,0.5,0.550000012,0.5]");
  CHECK(meta(p, "mean") == "[0.5,0.449999988,0.400000006]");
  CHECK(meta(p, "input_width") == "12");
  CHECK(meta(p, "input_height") == "16");
  CHECK(meta(p, "precision") == "fp32");
  CHECK(meta(p, "fam.license") == "test");
  CHECK(meta(p, "balanced_thresholds") == "<missing>");  // the model has none
}

TEST_CASE("balanced thresholds are exported beside the thresholds when the model has them", "[onnx]") {
  mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
  m.balanced_thresholds = {0.25f, 0.5f, 0.125f, 0.75f, 1.0f};
  const onnx::ModelProto p = ox::export_model(m);
  CHECK(meta(p, "thresholds") == "[0.5,0.449999988,0.5,0.550000012,0.5]");
  CHECK(meta(p, "balanced_thresholds") == "[0.25,0.5,0.125,0.75,1]");
}

TEST_CASE("conv weights go from OHWI to OIHW", "[onnx]") {
  const mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
  const onnx::ModelProto p = ox::export_model(m);
  for (const char* name : {"conv1_w", "dw_w", "grouped_w"}) {
    const mf::TensorDef& t = m.tensors[tensor_index(m, name)];
    const int O = t.shape[0], KH = t.shape[1], KW = t.shape[2], I = t.shape[3];
    const onnx::TensorProto& init = initializer(p, name);
    REQUIRE(std::vector<int64_t>(init.dims().begin(), init.dims().end()) ==
            std::vector<int64_t>{O, I, KH, KW});
    const auto src = data_of<float>(t);
    const auto dst = raw<float>(init);
    REQUIRE(dst.size() == src.size());
    for (int o = 0; o < O; ++o)
      for (int i = 0; i < I; ++i)
        for (int y = 0; y < KH; ++y)
          for (int x = 0; x < KW; ++x)
            REQUIRE(dst[((o * I + i) * KH + y) * KW + x] == src[((o * KH + y) * KW + x) * I + i]);
  }
}

TEST_CASE("fc on a spatial map gets its weight columns in NCHW-flatten order", "[onnx]") {
  const mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
  const onnx::ModelProto p = ox::export_model(m);
  const mf::TensorDef& t = m.tensors[tensor_index(m, "fc_spatial_w")];  // input map [1,4,3,12]
  const auto src = data_of<float>(t);
  const auto dst = raw<float>(initializer(p, "fc_spatial_w"));
  const int H = 4, W = 3, C = 12, in = H * W * C;
  REQUIRE(t.shape == std::vector<int>{6, in});
  for (int o = 0; o < 6; ++o)
    for (int h = 0; h < H; ++h)
      for (int w = 0; w < W; ++w)
        for (int c = 0; c < C; ++c)
          REQUIRE(dst[o * in + (c * H + h) * W + w] == src[o * in + (h * W + w) * C + c]);
  // After global pooling (1x1 map) the order is unchanged.
  CHECK(raw<float>(initializer(p, "fc_gap_w")) == data_of<float>(m.tensors[tensor_index(m, "fc_gap_w")]));
}

TEST_CASE("int8 tiny model exports in QDQ form", "[onnx]") {
  const mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(true);
  const onnx::ModelProto p = ox::export_model(m);
  std::map<std::string, int> ops;
  for (const auto& n : p.graph().node()) ++ops[n.op_type()];
  CHECK(ops["QuantizeLinear"] >= 10);
  CHECK(ops["DequantizeLinear"] >= 20);
  CHECK(ops["Conv"] == 4);
  CHECK(ops["Gemm"] == 3);
  CHECK(meta(p, "precision") == "int8");
  CHECK(dims(p.graph().output(0)) == std::vector<int64_t>{1, 5});

  const onnx::TensorProto& w = initializer(p, "conv1_w");
  CHECK(w.data_type() == onnx::TensorProto::INT8);
  const onnx::TensorProto& ws = initializer(p, "conv1_w_scale");
  CHECK(ws.dims_size() == 1);
  CHECK(ws.dims(0) == 8);
  CHECK(raw<float>(ws) == m.tensors[tensor_index(m, "conv1_w")].scales);
  const onnx::TensorProto& b = initializer(p, "conv1_b");
  CHECK(b.data_type() == onnx::TensorProto::INT32);
  CHECK(raw<int32_t>(b) == data_of<int32_t>(m.tensors[tensor_index(m, "conv1_b")]));
  // Bias scale = input scale * weight scale, per output channel.
  const auto bs = raw<float>(initializer(p, "conv1_b_scale"));
  const auto& wsc = m.tensors[tensor_index(m, "conv1_w")].scales;
  const float in_scale = m.tensors[tensor_index(m, "quantize_out")].scales[0];
  REQUIRE(bs.size() == wsc.size());
  for (size_t i = 0; i < bs.size(); ++i) CHECK(bs[i] == in_scale * wsc[i]);
  // Per-channel weight dequantisation on axis 0.
  CHECK(attr_i(node_named(p, "conv1_w_dq"), "axis") == 0);
  // Activation zero points are int8 scalars with the tensor's value.
  const onnx::TensorProto& zp = initializer(p, "grouped_out_zero_point");
  CHECK(zp.data_type() == onnx::TensorProto::INT8);
  CHECK(raw<int8_t>(zp) == std::vector<int8_t>{-64});
  // Relu / Relu6 on an int8 output whose zero point is -128 are implied by
  // QuantizeLinear's saturation and left out (so ORT can fuse op + Q); with
  // another zero point they stay.
  std::set<std::string> names;
  for (const auto& n : p.graph().node()) names.insert(n.name());
  CHECK(names.count("conv1_relu") == 0);  // zero point -128
  CHECK(names.count("dw_relu6") == 0);    // zero point -128, 127 maps to 6
  CHECK(names.count("add1_relu") == 1);   // zero point 0
  CHECK(names.count("grouped_leaky_relu") == 1);
  // No float copies of the int8 weights.
  for (const auto& t : p.graph().initializer())
    if (t.data_type() == onnx::TensorProto::FLOAT) CHECK(t.dims_size() <= 1);
}

TEST_CASE("exported models survive .fam serialisation and protobuf round trips", "[onnx]") {
  for (bool int8 : {false, true}) {
    const std::vector<uint8_t> fam = mf::serialize(faceattr::testing::make_tiny_onnx_model(int8));
    const mf::ModelDef parsed = mf::parse(fam.data(), fam.size());
    const onnx::ModelProto p = ox::export_model(parsed);
    std::string bytes;
    REQUIRE(p.SerializeToString(&bytes));
    onnx::ModelProto back;
    REQUIRE(back.ParseFromString(bytes));
    CHECK(back.graph().node_size() == p.graph().node_size());
    CHECK(back.metadata_props_size() == p.metadata_props_size());
  }
}

TEST_CASE("bad models are refused with a message naming the problem", "[onnx]") {
  SECTION("tensor index out of range") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    m.nodes[2].inputs[0] = 999;
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("grouped") && Contains("out of range"));
  }
  SECTION("output size that the pads do not give") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    m.nodes[1].pad_bottom = 0;
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("dw") && Contains("output size"));
  }
  SECTION("int8 activation without quantisation") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(true);
    m.tensors[tensor_index(m, "conv1_out")].scales.clear();
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("conv1_out") && Contains("scale"));
  }
  SECTION("fully-connected weight that does not match the input") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    m.tensors[tensor_index(m, "fc_gap_w")].shape = {6, 13};
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("fc_gap") && Contains("does not match"));
  }
  SECTION("grouped conv whose channels the groups do not divide") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    m.nodes[2].groups = 3;
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("groups 3"));
  }
  SECTION("tensor read before it is produced") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    std::swap(m.nodes[0], m.nodes[1]);
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("before any node produces it"));
  }
  SECTION("fused activation on a pool") {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(false);
    m.nodes[4].act = mf::Act::Relu;
    REQUIRE_THROWS_WITH(ox::export_model(m), Contains("maxpool") && Contains("fused activation"));
  }
}

TEST_CASE("non-anet models export a rank-4 output as NCHW \"output\"", "[onnx]") {
  for (bool int8 : {false, true}) {
    mf::ModelDef m = faceattr::testing::make_tiny_onnx_model(int8);
    m.kind = "lnet";
    m.attribute_names.clear();
    m.thresholds.clear();
    const int concat = tensor_index(m, "concat_out");  // [1,4,3,12], int8 in the int8 model
    while (m.nodes.back().output != concat) m.nodes.pop_back();
    m.outputs = {concat};
    const onnx::ModelProto p = ox::export_model(m);
    REQUIRE(p.graph().output_size() == 1);
    CHECK(p.graph().output(0).name() == "output");
    CHECK(p.graph().output(0).type().tensor_type().elem_type() == onnx::TensorProto::FLOAT);
    CHECK(dims(p.graph().output(0)) == std::vector<int64_t>{1, 12, 4, 3});
    CHECK(meta(p, "attribute_names") == "<missing>");
    if (int8) CHECK(p.graph().node(p.graph().node_size() - 1).op_type() == "DequantizeLinear");
  }
}
