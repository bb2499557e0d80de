#include <algorithm>
#include <cmath>
#include <random>

#include "support/tiny_models.h"

namespace faceattr::test {
namespace {

using modelfile::Act;
using modelfile::DType;
using modelfile::ModelDef;
using modelfile::NodeDef;
using modelfile::Op;

// All int8 activations share this quantisation: +-8 in 255 steps.
constexpr float kActScale = 8.0f / 127.0f;
constexpr float kInputScale = 2.5f / 127.0f;

class Builder {
 public:
  Builder(const TinyModelSpec& spec, ModelDef* m) : spec_(spec), m_(m), rng_(spec.seed) {}

  // Activation tensor of the network's working dtype.
  int act(const std::string& name, std::vector<int> shape, float scale = kActScale) {
    return spec_.int8 ? m_->add_activation(name, std::move(shape), DType::I8, scale, 0)
                      : m_->add_activation(name, std::move(shape));
  }

  std::vector<float> he_weights(size_t n, int fan_in) {
    std::normal_distribution<float> dist(0.0f, std::sqrt(2.0f / static_cast<float>(fan_in)));
    std::vector<float> w(n);
    for (float& v : w) v = dist(rng_);
    return w;
  }

  std::vector<float> small_bias(size_t n) {
    std::uniform_real_distribution<float> dist(-0.1f, 0.1f);
    std::vector<float> b(n);
    for (float& v : b) v = dist(rng_);
    return b;
  }

  // Adds weight (+ bias) constants for a layer with `out_c` rows of `per_row` values.
  std::pair<int, int> params(const std::string& name, std::vector<int> wshape, int fan_in, float in_scale) {
    const int out_c = wshape[0];
    size_t n = 1;
    for (int d : wshape) n *= static_cast<size_t>(d);
    const std::vector<float> w = he_weights(n, fan_in);
    const std::vector<float> b = small_bias(static_cast<size_t>(out_c));
    if (!spec_.int8)
      return {m_->add_const_f32(name + ".weight", wshape, w), m_->add_const_f32(name + ".bias", {out_c}, b)};
    const size_t per_row = n / static_cast<size_t>(out_c);
    std::vector<float> scales(static_cast<size_t>(out_c));
    std::vector<int8_t> q(n);
    std::vector<float> bias_scales(static_cast<size_t>(out_c));
    std::vector<int32_t> qb(static_cast<size_t>(out_c));
    for (int o = 0; o < out_c; ++o) {
      float mx = 1e-8f;
      for (size_t k = 0; k < per_row; ++k) mx = std::max(mx, std::fabs(w[o * per_row + k]));
      scales[o] = mx / 127.0f;
      for (size_t k = 0; k < per_row; ++k)
        q[o * per_row + k] = static_cast<int8_t>(std::lround(w[o * per_row + k] / scales[o]));
      bias_scales[o] = in_scale * scales[o];
      qb[o] = static_cast<int32_t>(std::lround(b[o] / bias_scales[o]));
    }
    return {m_->add_const_i8(name + ".weight", wshape, q, scales),
            m_->add_const_i32(name + ".bias", {out_c}, qb, bias_scales)};
  }

  int conv(const std::string& name, int x, int out_c, int k, int stride, int pad, int groups, Act act_fn) {
    const std::vector<int> xs = m_->tensors[x].shape;
    const int in_c = xs[3];
    const float in_scale = spec_.int8 ? m_->tensors[x].scales[0] : 1.0f;
    const auto wb = params(name, {out_c, k, k, in_c / groups}, k * k * in_c / groups, in_scale);
    const int oh = (xs[1] + 2 * pad - k) / stride + 1, ow = (xs[2] + 2 * pad - k) / stride + 1;
    const int y = act(name + ".out", {1, oh, ow, out_c});
    NodeDef n;
    n.name = name;
    n.op = Op::Conv2d;
    n.inputs = {x, wb.first, wb.second};
    n.output = y;
    n.kernel_h = n.kernel_w = k;
    n.stride_h = n.stride_w = stride;
    n.pad_top = n.pad_left = n.pad_bottom = n.pad_right = pad;
    n.groups = groups;
    n.act = act_fn;
    n.leaky_alpha = 0.1f;
    m_->add_node(n);
    return y;
  }

  int pool(const std::string& name, Op op, int x, int k, int stride, int pad) {
    const std::vector<int> xs = m_->tensors[x].shape;
    const int oh = (xs[1] + 2 * pad - k) / stride + 1, ow = (xs[2] + 2 * pad - k) / stride + 1;
    const int y = act(name + ".out", {1, oh, ow, xs[3]});
    NodeDef n;
    n.name = name;
    n.op = op;
    n.inputs = {x};
    n.output = y;
    n.kernel_h = n.kernel_w = k;
    n.stride_h = n.stride_w = stride;
    n.pad_top = n.pad_left = n.pad_bottom = n.pad_right = pad;
    m_->add_node(n);
    return y;
  }

  int simple(const std::string& name, Op op, int x, int y) {
    NodeDef n;
    n.name = name;
    n.op = op;
    n.inputs = {x};
    n.output = y;
    m_->add_node(n);
    return y;
  }

 private:
  const TinyModelSpec& spec_;
  ModelDef* m_;
  std::mt19937 rng_;
};

}  // namespace

ModelDef make_tiny_anet(const TinyModelSpec& spec) {
  ModelDef m;
  m.kind = spec.kind;
  m.name = "tiny-" + std::string(spec.int8 ? "int8" : "f32") + "-" + std::to_string(spec.seed);
  m.description = "random test network";
  m.input_width = spec.input_w;
  m.input_height = spec.input_h;
  m.mean = {0.5f, 0.45f, 0.4f};
  m.std = {0.25f, 0.24f, 0.26f};
  for (int i = 0; i < spec.n_attributes; ++i) {
    m.attribute_names.push_back("attr_" + std::to_string(i));
    m.thresholds.push_back(0.3f + 0.1f * static_cast<float>(i % 5));
  }
  m.metadata = {{"license", "test-only"}, {"recipe", "random weights"}};

  Builder b(spec, &m);
  const int input = m.add_activation("input", {1, spec.input_h, spec.input_w, 3});
  m.inputs = {input};
  int x = input;
  if (spec.int8)
    x = b.simple("quantize", Op::Quantize, input,
                 m.add_activation("input.q", {1, spec.input_h, spec.input_w, 3}, DType::I8, kInputScale, 0));
  const int c = spec.channels;
  x = b.conv("conv1", x, c, 3, 1, 1, 1, Act::Relu);
  if (spec.with_maxpool) x = b.pool("maxpool", Op::MaxPool2d, x, 2, 2, 0);
  if (spec.with_depthwise) x = b.conv("dwconv", x, c, 3, 1, 1, c, Act::Relu6);
  x = b.conv("conv2", x, 2 * c, 1, 1, 0, 1, Act::LeakyRelu);
  if (spec.with_avgpool) x = b.pool("avgpool", Op::AvgPool2d, x, 3, 2, 1);
  x = b.simple("gap", Op::GlobalAvgPool, x, b.act("gap.out", {1, 1, 1, 2 * c}));

  const float in_scale = spec.int8 ? m.tensors[x].scales[0] : 1.0f;
  const auto wb = b.params("fc", {spec.n_attributes, 2 * c}, 2 * c, in_scale);
  const int logits = b.act("fc.out", {1, spec.n_attributes});
  NodeDef fc;
  fc.name = "fc";
  fc.op = Op::FullyConnected;
  fc.inputs = {x, wb.first, wb.second};
  fc.output = logits;
  m.add_node(fc);
  x = logits;
  if (spec.int8)
    x = b.simple("dequantize", Op::Dequantize, x, m.add_activation("fc.out.f", {1, spec.n_attributes}));
  const int probs = b.simple("sigmoid", Op::Sigmoid, x, m.add_activation("probs", {1, spec.n_attributes}));
  m.outputs = {probs};
  return m;
}

std::vector<uint8_t> tiny_anet_bytes(const TinyModelSpec& spec) {
  return modelfile::serialize(make_tiny_anet(spec));
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t s = seed ? seed : 0x9E3779B9u;
  for (auto& v : out) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    v = static_cast<uint8_t>(s >> 24);
  }
  return out;
}

ModelDef make_tiny_dense_lnet(const TinyDenseLnetSpec& spec) {
  ModelDef m;
  m.kind = "lnet";
  m.name = "tiny-dense-lnet";
  m.description = "hand-weighted test localiser: dense box map, score follows R - G, constant box";
  m.input_width = spec.input_w;
  m.input_height = spec.input_h;
  m.mean = {0.0f, 0.0f, 0.0f};
  m.std = {1.0f, 1.0f, 1.0f};
  m.metadata = {{"license", "test-only"}, {"lnet.dense", "1"}};
  m.metadata.insert(m.metadata.end(), spec.metadata.begin(), spec.metadata.end());
  const int oc = spec.channels;
  const int mh = spec.input_h / spec.cell, mw = spec.input_w / spec.cell;
  const int input = m.add_activation("input", {1, spec.input_h, spec.input_w, 3});
  m.inputs = {input};
  // OHWI [oc,1,1,3]: channel 0 = gain * (r - g), the others 0; biases per channel.
  std::vector<float> w(static_cast<size_t>(oc) * 3, 0.0f), b(static_cast<size_t>(oc), 0.0f);
  w[0] = spec.gain;
  w[1] = -spec.gain;
  for (int c = 0; c < oc; ++c) b[static_cast<size_t>(c)] = spec.bias[std::min(c, 4)];
  const int wt = m.add_const_f32("conv.weight", {oc, 1, 1, 3}, w);
  const int bt = m.add_const_f32("conv.bias", {oc}, b);
  auto add = [&](Op op, std::vector<int> inputs, int y, int k, int stride) {
    NodeDef n;
    n.name = "n" + std::to_string(m.nodes.size());
    n.op = op;
    n.inputs = std::move(inputs);
    n.output = y;
    n.kernel_h = n.kernel_w = k;
    n.stride_h = n.stride_w = stride;
    m.add_node(n);
    return y;
  };
  int x = add(Op::Conv2d, {input, wt, bt}, m.add_activation("conv.out", {1, spec.input_h, spec.input_w, oc}),
              1, 1);
  x = add(Op::AvgPool2d, {x}, m.add_activation("pool.out", {1, mh, mw, oc}), spec.cell, spec.cell);
  x = add(Op::Sigmoid, {x}, m.add_activation("boxes", {1, mh, mw, oc}), 1, 1);
  m.outputs = {x};
  return m;
}

std::vector<uint8_t> tiny_dense_lnet_bytes(const TinyDenseLnetSpec& spec) {
  return modelfile::serialize(make_tiny_dense_lnet(spec));
}

}  // namespace faceattr::test
