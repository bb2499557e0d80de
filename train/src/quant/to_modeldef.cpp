#include "quant/to_modeldef.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace faceattr::train {
namespace mf = faceattr::modelfile;
namespace {

mf::ModelDef header(const ModelInfo& info) {
  mf::ModelDef m;
  m.kind = info.kind;
  m.name = info.name;
  m.description = info.description;
  m.input_width = info.input.width;
  m.input_height = info.input.height;
  m.input_channels = 3;
  m.mean.assign(info.input.mean, info.input.mean + 3);
  m.std.assign(info.input.std, info.input.std + 3);
  m.attribute_names = info.attribute_names;
  m.thresholds = info.thresholds;
  m.balanced_thresholds = info.balanced_thresholds;
  m.metadata = info.metadata;
  return m;
}

template <class T>
std::vector<T> values(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

std::vector<int> ohwi_shape(const torch::Tensor& w) {
  return {static_cast<int>(w.size(0)), static_cast<int>(w.size(2)), static_cast<int>(w.size(3)),
          static_cast<int>(w.size(1))};
}

mf::NodeDef conv_node(const std::string& name, int x, int w, int b, int y, int k, int stride, int pad,
                      int groups, bool relu) {
  return mf::conv2d_node(name, x, w, b, y, k, stride, {pad, pad, pad, pad}, groups,
                         relu ? mf::Act::Relu : mf::Act::None);
}

mf::NodeDef simple_node(const std::string& name, mf::Op op, std::vector<int> in, int out) {
  mf::NodeDef n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.output = out;
  return n;
}

int out_dim(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

// The model's output `name`: the sigmoid of x.
void add_sigmoid_output(mf::ModelDef& m, int x, const std::vector<int>& shape, const std::string& name) {
  int probs = m.add_activation(name, shape);
  m.add_node(simple_node("sigmoid", mf::Op::Sigmoid, {x}, probs));
  m.outputs = {probs};
}

// The model's output `name`: the int8 logits x dequantized ("logits"), then the sigmoid.
void add_int8_output(mf::ModelDef& m, int x, const std::vector<int>& shape, const std::string& name) {
  int logits = m.add_activation("logits", shape);
  m.add_node(simple_node("dequantize", mf::Op::Dequantize, {x}, logits));
  add_sigmoid_output(m, logits, shape, name);
}

// The float input and the fp32 conv stack; returns the last conv's output (h x w).
int add_input_and_convs(mf::ModelDef& m, const std::vector<FoldedConv>& convs, int& h, int& w) {
  int x = m.add_activation("input", {1, h, w, 3});
  m.inputs = {x};
  for (size_t i = 0; i < convs.size(); ++i) {
    const auto& c = convs[i];
    const std::string n = "conv" + std::to_string(i);
    const int k = static_cast<int>(c.weight.size(2));
    int wt =
        m.add_const_f32(n + ".weight", ohwi_shape(c.weight), values<float>(c.weight.permute({0, 2, 3, 1})));
    int bt = m.add_const_f32(n + ".bias", {static_cast<int>(c.bias.size(0))}, values<float>(c.bias));
    h = out_dim(h, k, c.stride, c.pad);
    w = out_dim(w, k, c.stride, c.pad);
    int y = m.add_activation(n + ".out", {1, h, w, static_cast<int>(c.weight.size(0))});
    m.add_node(conv_node(n, x, wt, bt, y, k, c.stride, c.pad, c.groups, c.relu));
    x = y;
  }
  return x;
}

// An int8 layer's constants: weights (OHWI for convs) with per-channel scales, int32 bias.
std::pair<int, int> add_int8_layer(mf::ModelDef& m, const QLayer& l, const std::string& n,
                                   std::vector<int> wshape) {
  std::vector<float> ws = values<float>(l.w_scale);
  auto wq = l.wq.dim() == 4 ? l.wq.permute({0, 2, 3, 1}) : l.wq;
  auto wv = values<float>(wq.contiguous());
  std::vector<int8_t> w8(wv.size());
  for (size_t i = 0; i < wv.size(); ++i) w8[i] = static_cast<int8_t>(wv[i]);
  int wt = m.add_const_i8(n + ".weight", std::move(wshape), w8, ws);
  std::vector<float> bs(ws.size());
  for (size_t o = 0; o < ws.size(); ++o) bs[o] = l.in.scale * ws[o];
  auto bv = values<int64_t>(l.bias_q);
  std::vector<int32_t> b32(bv.begin(), bv.end());
  int bt = m.add_const_i32(n + ".bias", {static_cast<int>(b32.size())}, b32, bs);
  return std::make_pair(wt, bt);
}

// The float input, Quantize and the int8 conv stack; returns the last conv's output (h x w).
int add_int8_input_and_convs(mf::ModelDef& m, const QNet& q, int& h, int& w) {
  int xf = m.add_activation("input", {1, h, w, 3});
  m.inputs = {xf};
  int x = m.add_activation("input.q", {1, h, w, 3}, mf::DType::I8, q.input.scale, q.input.zero_point);
  m.add_node(simple_node("quantize", mf::Op::Quantize, {xf}, x));
  for (size_t i = 0; i < q.convs.size(); ++i) {
    const auto& l = q.convs[i];
    const std::string n = "conv" + std::to_string(i);
    const int k = static_cast<int>(l.wq.size(2));
    auto [wt, bt] = add_int8_layer(m, l, n, ohwi_shape(l.wq));
    h = out_dim(h, k, l.stride, l.pad);
    w = out_dim(w, k, l.stride, l.pad);
    int y = m.add_activation(n + ".out", {1, h, w, static_cast<int>(l.wq.size(0))}, mf::DType::I8,
                             l.out.scale, l.out.zero_point);
    m.add_node(conv_node(n, x, wt, bt, y, k, l.stride, l.pad, l.groups, l.relu));
    x = y;
  }
  return x;
}

}  // namespace

mf::ModelDef build_fp32_model(const FoldedNet& f, const ModelInfo& info) {
  mf::ModelDef m = header(info);
  int h = info.input.height, w = info.input.width;
  const int x = add_input_and_convs(m, f.convs, h, w);
  const int F = static_cast<int>(f.fc_weight.size(1)), A = static_cast<int>(f.fc_weight.size(0));
  int pooled = m.add_activation("pool.out", {1, 1, 1, F});
  m.add_node(simple_node("pool", mf::Op::GlobalAvgPool, {x}, pooled));
  int fw = m.add_const_f32("fc.weight", {A, F}, values<float>(f.fc_weight));
  int fb = m.add_const_f32("fc.bias", {A}, values<float>(f.fc_bias));
  int logits = m.add_activation("logits", {1, A});
  m.add_node(simple_node("fc", mf::Op::FullyConnected, {pooled, fw, fb}, logits));
  add_sigmoid_output(m, logits, {1, A}, "probs");
  return m;
}

mf::ModelDef build_int8_model(const QNet& q, const ModelInfo& info) {
  mf::ModelDef m = header(info);
  int h = info.input.height, w = info.input.width;
  const int x = add_int8_input_and_convs(m, q, h, w);
  const int F = static_cast<int>(q.fc_weight.size(1)), A = static_cast<int>(q.fc_weight.size(0));
  int pooled = m.add_activation("pool.out", {1, 1, 1, F}, mf::DType::I8, q.pooled.scale, q.pooled.zero_point);
  m.add_node(simple_node("pool", mf::Op::GlobalAvgPool, {x}, pooled));
  // The classifier in f32 on the dequantised features: probabilities are not rounded to
  // int8 logit steps (and its 15k MACs cost nothing next to the convs).
  int features = m.add_activation("pool.f32", {1, 1, 1, F});
  m.add_node(simple_node("pool.dequantize", mf::Op::Dequantize, {pooled}, features));
  int fw = m.add_const_f32("fc.weight", {A, F}, values<float>(q.fc_weight));
  int fb = m.add_const_f32("fc.bias", {A}, values<float>(q.fc_bias));
  int logits = m.add_activation("logits", {1, A});
  m.add_node(simple_node("fc", mf::Op::FullyConnected, {features, fw, fb}, logits));
  add_sigmoid_output(m, logits, {1, A}, "probs");
  return m;
}

mf::ModelDef build_fp32_fcn_model(const std::vector<FoldedConv>& convs, const ModelInfo& info) {
  mf::ModelDef m = header(info);
  int h = info.input.height, w = info.input.width;
  const int x = add_input_and_convs(m, convs, h, w);
  const int C = static_cast<int>(convs.back().weight.size(0));
  add_sigmoid_output(m, x, {1, h, w, C}, "response");
  return m;
}

mf::ModelDef build_int8_fcn_model(const QNet& q, const ModelInfo& info) {
  mf::ModelDef m = header(info);
  int h = info.input.height, w = info.input.width;
  const int x = add_int8_input_and_convs(m, q, h, w);
  const int C = static_cast<int>(q.convs.back().wq.size(0));
  add_int8_output(m, x, {1, h, w, C}, "response");
  return m;
}

std::string utc_date() {
  // SOURCE_DATE_EPOCH (reproducible-builds.org): a fixed date, so that two exports of
  // the same weights are byte-identical (the kill/resume test compares them).
  std::time_t now = std::time(nullptr);
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) {
    char* end = nullptr;
    const long long v = std::strtoll(sde, &end, 10);
    if (end == sde || *end != '\0' || v < 0)
      throw std::runtime_error(std::string("SOURCE_DATE_EPOCH: not a number of seconds: '") + sde + "'");
    now = static_cast<std::time_t>(v);
  }
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  return date;
}

std::string metadata_number(double v, const char* format) {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

}  // namespace faceattr::train
