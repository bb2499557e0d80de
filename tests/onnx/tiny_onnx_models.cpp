#include "tiny_onnx_models.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>

namespace faceattr::testing {
namespace {

namespace mf = faceattr::modelfile;

struct QP {
  float scale;
  int zp;
};

class Builder {
 public:
  Builder(bool int8, unsigned seed) : q_(int8), rng_(seed) {}
  mf::ModelDef m;

  int act(const std::string& name, std::vector<int> shape, QP qp) {
    return q_ ? m.add_activation(name, std::move(shape), mf::DType::I8, qp.scale, qp.zp)
              : m.add_activation(name, std::move(shape));
  }

  // Weights [out][rest...] uniform with variance 1/fan_in, bias small; int8
  // weights per-channel symmetric, bias int32 at in_scale * w_scale.
  void weights(const std::string& name, std::vector<int> shape, int fan_in, float in_scale, int* w_idx,
               int* b_idx) {
    const int out = shape[0];
    size_t per = 1;
    for (size_t d = 1; d < shape.size(); ++d) per *= shape[d];
    const float bound = std::sqrt(3.0f / static_cast<float>(fan_in));
    std::uniform_real_distribution<float> wd(-bound, bound), bd(-0.2f, 0.2f);
    std::vector<float> w(out * per), b(out);
    for (float& v : w) v = wd(rng_);
    for (float& v : b) v = bd(rng_);
    if (!q_) {
      *w_idx = m.add_const_f32(name + "_w", shape, w);
      *b_idx = m.add_const_f32(name + "_b", {out}, b);
      return;
    }
    std::vector<int8_t> wq(w.size());
    std::vector<int32_t> bq(out);
    std::vector<float> ws(out), bs(out);
    for (int o = 0; o < out; ++o) {
      float mx = 0;
      for (size_t k = 0; k < per; ++k) mx = std::max(mx, std::fabs(w[o * per + k]));
      ws[o] = mx / 127.0f;
      for (size_t k = 0; k < per; ++k)
        wq[o * per + k] = static_cast<int8_t>(std::lround(w[o * per + k] / ws[o]));
      bs[o] = in_scale * ws[o];
      bq[o] = static_cast<int32_t>(std::lround(b[o] / bs[o]));
    }
    *w_idx = m.add_const_i8(name + "_w", shape, wq, ws);
    *b_idx = m.add_const_i32(name + "_b", {out}, bq, bs);
  }

  int conv(const std::string& name, int x, std::vector<int> out_shape, QP qp, int k, int stride,
           std::array<int, 4> pads, int groups, mf::Act a, float alpha = 0.01f) {
    const int in_c = m.tensors[x].shape[3], out_c = out_shape[3];
    const float in_scale = q_ ? m.tensors[x].scales[0] : 1.0f;
    int w, b;
    weights(name, {out_c, k, k, in_c / groups}, k * k * in_c / groups, in_scale, &w, &b);
    const int y = act(name + "_out", out_shape, qp);
    mf::NodeDef n = mf::conv2d_node(name, x, w, b, y, k, stride, pads, groups, a);
    n.leaky_alpha = alpha;
    m.add_node(n);
    return y;
  }

  int fc(const std::string& name, int x, int out, QP qp, mf::Act a) {
    int in = 1;
    for (size_t d = 1; d < m.tensors[x].shape.size(); ++d) in *= m.tensors[x].shape[d];
    const float in_scale = q_ ? m.tensors[x].scales[0] : 1.0f;
    int w, b;
    weights(name, {out, in}, in, in_scale, &w, &b);
    const int y = act(name + "_out", {1, out}, qp);
    mf::NodeDef n;
    n.name = name;
    n.op = mf::Op::FullyConnected;
    n.inputs = {x, w, b};
    n.output = y;
    n.act = a;
    m.add_node(n);
    return y;
  }

  // Output dtype follows the model (int8 or f32) unless `force_f32`.
  int simple(const std::string& name, mf::Op op, std::vector<int> inputs, std::vector<int> out_shape, QP qp,
             bool force_f32 = false) {
    const int y = force_f32 ? m.add_activation(name + "_out", out_shape) : act(name + "_out", out_shape, qp);
    mf::NodeDef n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.output = y;
    m.add_node(n);
    return y;
  }

  int pool(const std::string& name, mf::Op op, int x, std::vector<int> out_shape, QP qp) {
    const int y = simple(name, op, {x}, std::move(out_shape), qp);
    mf::NodeDef& n = m.nodes.back();
    n.kernel_h = n.kernel_w = 3;
    n.stride_h = n.stride_w = 2;
    n.pad_top = n.pad_left = n.pad_bottom = n.pad_right = 1;
    return y;
  }

 private:
  bool q_;
  std::mt19937 rng_;
};

}  // namespace

modelfile::ModelDef make_tiny_onnx_model(bool int8, unsigned seed) {
  Builder b(int8, seed);
  mf::ModelDef& m = b.m;
  m.kind = "anet";
  m.name = int8 ? "tiny_onnx_int8" : "tiny_onnx_fp32";
  m.description = "tiny test network covering every op (tests/onnx)";
  m.input_width = 12;
  m.input_height = 16;
  m.mean = {0.5f, 0.45f, 0.4f};
  m.std = {0.25f, 0.24f, 0.26f};
  m.attribute_names = {"Smiling", "Male", "Eyeglasses", "Young", "Bald"};
  m.thresholds = {0.5f, 0.45f, 0.5f, 0.55f, 0.5f};
  m.metadata = {{"license", "test"}, {"recipe", "random weights"}};

  using mf::Act;
  using mf::Op;
  // Scales as a calibration would give them (no round ratios between tensors),
  // so that exact rounding ties, where ONNX's round-half-to-even and other
  // valid int8 kernels may differ by one step, stay rare.
  const QP relu_q{4.03f / 255, -128}, relu6_q{6.0f / 255, -128}, leaky_q{4.07f / 255, -64},
      sym6{6.11f / 127, 0};
  const int x = m.add_activation("image", {1, 16, 12, 3});
  m.inputs = {x};
  int h = x;
  if (int8) h = b.simple("quantize", Op::Quantize, {x}, {1, 16, 12, 3}, {1.53f / 127, 0});
  const int c1 = b.conv("conv1", h, {1, 16, 12, 8}, relu_q, 3, 1, {1, 1, 1, 1}, 1, Act::Relu);
  const int dw = b.conv("dw", c1, {1, 8, 6, 8}, relu6_q, 3, 2, {0, 0, 1, 1}, 8, Act::Relu6);
  const int gr = b.conv("grouped", dw, {1, 8, 6, 8}, leaky_q, 1, 1, {0, 0, 0, 0}, 2, Act::LeakyRelu, 0.1f);
  const int ad = b.simple("add1", Op::Add, {dw, gr}, {1, 8, 6, 8}, sym6);
  m.nodes.back().act = Act::Relu;
  const int mp = b.pool("maxpool", Op::MaxPool2d, ad, {1, 4, 3, 8}, sym6);
  const int ap = b.pool("avgpool", Op::AvgPool2d, ad, {1, 4, 3, 8}, {5.09f / 255, -128});
  const int c7 = b.conv("conv_after_avg", ap, {1, 4, 3, 4}, sym6, 1, 1, {0, 0, 0, 0}, 1, Act::None);
  const int cc = b.simple("concat", Op::Concat, {mp, c7}, {1, 4, 3, 12}, sym6);
  m.nodes.back().axis = 3;
  const int lk = b.simple("leaky", Op::Activation, {cc}, {1, 4, 3, 12}, sym6);
  m.nodes.back().act = Act::LeakyRelu;
  m.nodes.back().leaky_alpha = 0.2f;
  const int gp = b.simple("gap", Op::GlobalAvgPool, {lk}, {1, 1, 1, 12}, {4.13f / 127, 0});
  const int fa = b.fc("fc_gap", gp, 6, relu_q, Act::Relu);
  const int fb = b.fc("fc_spatial", lk, 6, sym6, Act::None);
  const int a2 = b.simple("add2", Op::Add, {fa, fb}, {1, 6}, {8.09f / 127, 0});
  int logits = b.fc("fc_out", a2, 5, {7.93f / 127, 0}, Act::None);
  if (int8) logits = b.simple("dequantize", Op::Dequantize, {logits}, {1, 5}, {}, true);
  const int probs = b.simple("sigmoid", Op::Sigmoid, {logits}, {1, 5}, {}, true);
  m.outputs = {probs};
  return m;
}

}  // namespace faceattr::testing
