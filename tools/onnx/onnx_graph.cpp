// .fam graph (NHWC) -> ONNX graph (NCHW), op by op; int8 tensors in QDQ form.
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "onnx_builder.h"
#include "onnx_export.h"

namespace faceattr::onnx_export {
namespace {

namespace mf = faceattr::modelfile;
using Dims = std::vector<int64_t>;

const char* op_label(mf::Op op) {
  switch (op) {
    case mf::Op::Conv2d:
      return "Conv2d";
    case mf::Op::FullyConnected:
      return "FullyConnected";
    case mf::Op::MaxPool2d:
      return "MaxPool2d";
    case mf::Op::AvgPool2d:
      return "AvgPool2d";
    case mf::Op::GlobalAvgPool:
      return "GlobalAvgPool";
    case mf::Op::Add:
      return "Add";
    case mf::Op::Concat:
      return "Concat";
    case mf::Op::Sigmoid:
      return "Sigmoid";
    case mf::Op::Activation:
      return "Activation";
    case mf::Op::Quantize:
      return "Quantize";
    case mf::Op::Dequantize:
      return "Dequantize";
  }
  return "unknown";
}

int64_t element_count(const std::vector<int>& shape) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

// NHWC [N,H,W,C] -> NCHW [N,C,H,W]; other ranks unchanged.
Dims onnx_dims(const std::vector<int>& nhwc) {
  if (nhwc.size() == 4) return {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  return Dims(nhwc.begin(), nhwc.end());
}

template <typename T>
std::vector<T> decode(const mf::TensorDef& t) {
  const int64_t n = element_count(t.shape);
  if (t.data.size() != static_cast<size_t>(n) * sizeof(T))
    throw std::runtime_error("onnx export: tensor '" + t.name + "' holds " + std::to_string(t.data.size()) +
                             " bytes, shape needs " + std::to_string(n * sizeof(T)));
  std::vector<T> v(static_cast<size_t>(n));
  if (n > 0) std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

class Converter {
 public:
  Converter(const mf::ModelDef& m, onnx::GraphProto* g) : m_(m), b_(g) {}
  void run();
  const std::vector<std::string>& names() const { return names_; }

 private:
  [[noreturn]] void fail(const mf::NodeDef& n, const std::string& what) const {
    throw std::runtime_error("onnx export: node '" + n.name + "' (" + op_label(n.op) + "): " + what);
  }
  const mf::TensorDef& tensor(const mf::NodeDef& n, int idx) const {
    if (idx < 0 || idx >= static_cast<int>(m_.tensors.size()))
      fail(n, "tensor index " + std::to_string(idx) + " out of range");
    return m_.tensors[idx];
  }
  const mf::TensorDef& input(const mf::NodeDef& n, size_t k) const {
    if (k >= n.inputs.size()) fail(n, "missing input " + std::to_string(k));
    return tensor(n, n.inputs[k]);
  }

  std::pair<std::string, std::string> act_qparams(const mf::TensorDef& t, int idx);
  std::string dequant(const std::string& value, const mf::TensorDef& t, int idx);
  std::string float_in(const mf::NodeDef& n, size_t k);
  std::string float_out(const mf::NodeDef& n, std::string* pre);
  void finish(const mf::NodeDef& n, const std::string& pre, const std::string& y);
  void require_no_act(const mf::NodeDef& n) const {
    if (n.act != mf::Act::None)
      fail(n, "a fused activation is only allowed on Conv2d, FullyConnected and Add");
  }
  // Initializer name of a constant; a constant read by several nodes gets one copy per reader.
  std::string constant_name(int idx) {
    return emitted_.insert(idx).second ? names_[idx] : b_.fresh(names_[idx]);
  }
  std::string weight(const mf::NodeDef& n, Dims dims, std::vector<size_t> perm);
  std::string bias(const mf::NodeDef& n, int out_c);

  void conv(const mf::NodeDef& n);
  void fully_connected(const mf::NodeDef& n);
  void pool(const mf::NodeDef& n);
  void unary(const mf::NodeDef& n, const char* onnx_op);
  void add(const mf::NodeDef& n);
  void concat(const mf::NodeDef& n);
  void activation(const mf::NodeDef& n);
  void quantize(const mf::NodeDef& n);
  void dequantize(const mf::NodeDef& n);

  const mf::ModelDef& m_;
  GraphBuilder b_;
  std::vector<std::string> names_;  // .fam tensor index -> ONNX value name
  std::vector<bool> ready_;         // produced (or graph input) so far
  std::map<int, std::pair<std::string, std::string>> qparams_;
  std::set<int> emitted_;
  std::string clip_min_, clip_max_;
};

std::pair<std::string, std::string> Converter::act_qparams(const mf::TensorDef& t, int idx) {
  auto it = qparams_.find(idx);
  if (it != qparams_.end()) return it->second;
  if (t.scales.size() != 1 || t.zero_points.size() != 1)
    throw std::runtime_error("onnx export: int8 activation '" + t.name +
                             "' needs exactly one scale and zero point");
  if (!(t.scales[0] > 0.0f) || !std::isfinite(t.scales[0]))
    throw std::runtime_error("onnx export: int8 activation '" + t.name + "' has a non-positive scale");
  if (t.zero_points[0] < -128 || t.zero_points[0] > 127)
    throw std::runtime_error("onnx export: int8 activation '" + t.name +
                             "' has zero point out of int8 range");
  std::string s = b_.fresh(names_[idx] + "_scale"), z = b_.fresh(names_[idx] + "_zero_point");
  b_.init_f32(s, {}, {t.scales[0]});
  b_.init_i8(z, {}, {static_cast<int8_t>(t.zero_points[0])});
  return qparams_[idx] = {s, z};
}

std::string Converter::dequant(const std::string& value, const mf::TensorDef& t, int idx) {
  auto [s, z] = act_qparams(t, idx);
  std::string y = b_.fresh(value + "_dq");
  b_.node("DequantizeLinear", {value, s, z}, {y}, value + "_dq");
  return y;
}

// The float value an op reads for input k: the tensor itself, or a fresh
// DequantizeLinear of it for int8 (one per consumer, as QDQ fusion expects).
std::string Converter::float_in(const mf::NodeDef& n, size_t k) {
  const mf::TensorDef& t = input(n, k);
  const int idx = n.inputs[k];
  if (t.constant()) fail(n, "constant tensor '" + t.name + "' used as an activation input");
  if (!ready_[idx]) fail(n, "reads tensor '" + t.name + "' before any node produces it");
  if (t.dtype == mf::DType::F32) return names_[idx];
  if (t.dtype == mf::DType::I8) return dequant(names_[idx], t, idx);
  fail(n, "activation '" + t.name + "' must be f32 or i8");
}

// Where the op proper writes (`*pre`) and what finish() turns it into: the
// activation (if fused) and the QuantizeLinear (if the output is int8).
std::string Converter::float_out(const mf::NodeDef& n, std::string* pre) {
  const mf::TensorDef& t = tensor(n, n.output);
  if (ready_[n.output]) fail(n, "output tensor '" + t.name + "' is written twice");
  if (t.constant()) fail(n, "output tensor '" + t.name + "' is a constant");
  if (t.dtype != mf::DType::F32 && t.dtype != mf::DType::I8) fail(n, "output must be f32 or i8");
  std::string y = t.dtype == mf::DType::F32 ? names_[n.output] : b_.fresh(names_[n.output] + "_f");
  *pre = n.act == mf::Act::None ? y : b_.fresh(names_[n.output] + "_preact");
  return y;
}

// An int8 output's QuantizeLinear saturates to [-128, 127]; when that range
// already lies inside the activation's, the activation is exactly redundant and
// is left out so that ONNX Runtime can fuse op + QuantizeLinear (QLinearConv).
bool saturation_implies(const mf::TensorDef& t, mf::Act act) {
  if (t.dtype != mf::DType::I8 || t.zero_points.size() != 1 || t.scales.size() != 1) return false;
  const bool zero_is_min = t.zero_points[0] <= -128;
  if (act == mf::Act::Relu) return zero_is_min;
  if (act == mf::Act::Relu6) return zero_is_min && std::lrint(6.0 / t.scales[0]) + t.zero_points[0] >= 127;
  return false;
}

void Converter::finish(const mf::NodeDef& n, const std::string& pre, const std::string& y) {
  const mf::TensorDef& t = m_.tensors[n.output];
  std::string q_in = y;
  if (n.act != mf::Act::None && saturation_implies(t, n.act)) {
    q_in = pre;
  } else {
    switch (n.act) {
      case mf::Act::None:
        break;
      case mf::Act::Relu:
        b_.node("Relu", {pre}, {y}, n.name + "_relu");
        break;
      case mf::Act::Relu6:
        if (clip_min_.empty()) {
          clip_min_ = b_.fresh("relu6_min");
          clip_max_ = b_.fresh("relu6_max");
          b_.init_f32(clip_min_, {}, {0.0f});
          b_.init_f32(clip_max_, {}, {6.0f});
        }
        b_.node("Clip", {pre, clip_min_, clip_max_}, {y}, n.name + "_relu6");
        break;
      case mf::Act::LeakyRelu:
        GraphBuilder::attr(b_.node("LeakyRelu", {pre}, {y}, n.name + "_leaky_relu"), "alpha", n.leaky_alpha);
        break;
    }
  }
  if (t.dtype == mf::DType::I8) {
    auto [s, z] = act_qparams(t, n.output);
    b_.node("QuantizeLinear", {q_in, s, z}, {names_[n.output]}, names_[n.output] + "_q");
  }
  ready_[n.output] = true;
}

// Weight initializer: `perm[i]` is the source element of destination element i.
// int8 weights get a DequantizeLinear (per-channel on axis 0 when there are
// several scales); returns the float value the op reads.
std::string Converter::weight(const mf::NodeDef& n, Dims dims, std::vector<size_t> perm) {
  const mf::TensorDef& w = input(n, 1);
  if (!w.constant()) fail(n, "weight '" + w.name + "' is not a constant");
  const std::string name = constant_name(n.inputs[1]);
  auto permute = [&](auto v) {
    decltype(v) out(v.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = v[perm[i]];
    return out;
  };
  if (w.dtype == mf::DType::F32) {
    b_.init_f32(name, dims, permute(decode<float>(w)));
    return name;
  }
  if (w.dtype != mf::DType::I8) fail(n, "weight '" + w.name + "' must be f32 or i8");
  const int64_t out_c = dims[0];
  const bool per_channel = w.scales.size() != 1;
  if (per_channel && static_cast<int64_t>(w.scales.size()) != out_c)
    fail(n, "int8 weight '" + w.name + "' needs 1 or " + std::to_string(out_c) + " scales");
  if (!w.zero_points.empty() && w.zero_points.size() != w.scales.size())
    fail(n, "int8 weight '" + w.name + "' has a zero point count different from its scale count");
  std::vector<int8_t> zp(w.scales.size(), 0);
  for (size_t i = 0; i < w.zero_points.size(); ++i) {
    if (w.zero_points[i] < -128 || w.zero_points[i] > 127) fail(n, "weight zero point out of int8 range");
    zp[i] = static_cast<int8_t>(w.zero_points[i]);
  }
  b_.init_i8(name, dims, permute(decode<int8_t>(w)));
  Dims sdims = per_channel ? Dims{out_c} : Dims{};
  std::string s = b_.fresh(name + "_scale"), z = b_.fresh(name + "_zero_point");
  b_.init_f32(s, sdims, w.scales);
  b_.init_i8(z, sdims, zp);
  std::string y = b_.fresh(name + "_dq");
  onnx::NodeProto* dq = b_.node("DequantizeLinear", {name, s, z}, {y}, name + "_dq");
  if (per_channel) GraphBuilder::attr(dq, "axis", int64_t{0});
  return y;
}

// Optional bias (input 2): f32 as is; int32 with scale in_scale * w_scale[oc].
std::string Converter::bias(const mf::NodeDef& n, int out_c) {
  if (n.inputs.size() < 3 || n.inputs[2] < 0) return "";
  const mf::TensorDef& bt = input(n, 2);
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& w = input(n, 1);
  if (!bt.constant()) fail(n, "bias '" + bt.name + "' is not a constant");
  if (element_count(bt.shape) != out_c)
    fail(n, "bias '" + bt.name + "' must have " + std::to_string(out_c) + " values");
  const std::string name = constant_name(n.inputs[2]);
  if (x.dtype == mf::DType::F32) {
    if (bt.dtype != mf::DType::F32) fail(n, "an f32 op needs an f32 bias");
    b_.init_f32(name, {out_c}, decode<float>(bt));
    return name;
  }
  if (bt.dtype != mf::DType::I32) fail(n, "an int8 op needs an int32 bias");
  if (x.scales.size() != 1) fail(n, "int8 input '" + x.name + "' needs one scale");
  const bool per_channel = w.scales.size() != 1;
  std::vector<float> scales(per_channel ? out_c : 1);
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = x.scales[0] * w.scales[i];
  Dims sdims = per_channel ? Dims{out_c} : Dims{};
  b_.init_i32(name, {out_c}, decode<int32_t>(bt));
  std::string s = b_.fresh(name + "_scale"), z = b_.fresh(name + "_zero_point");
  b_.init_f32(s, sdims, scales);
  b_.init_i32(z, sdims, std::vector<int32_t>(scales.size(), 0));
  std::string y = b_.fresh(name + "_dq");
  onnx::NodeProto* dq = b_.node("DequantizeLinear", {name, s, z}, {y}, name + "_dq");
  if (per_channel) GraphBuilder::attr(dq, "axis", int64_t{0});
  return y;
}

void Converter::conv(const mf::NodeDef& n) {
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& w = input(n, 1);
  const mf::TensorDef& y = tensor(n, n.output);
  if (x.shape.size() != 4 || y.shape.size() != 4 || w.shape.size() != 4)
    fail(n, "input, weight and output must be rank 4");
  const int in_c = x.shape[3], out_c = y.shape[3], kh = w.shape[1], kw = w.shape[2], wi = w.shape[3];
  if (n.groups < 1 || in_c % n.groups != 0 || out_c % n.groups != 0)
    fail(n, "groups " + std::to_string(n.groups) + " must divide input and output channels");
  if (w.shape[0] != out_c || kh != n.kernel_h || kw != n.kernel_w || wi != in_c / n.groups)
    fail(n, "weight shape does not match [out_c, kernel_h, kernel_w, in_c / groups]");
  if (n.stride_h < 1 || n.stride_w < 1) fail(n, "strides must be >= 1");
  const int oh = (x.shape[1] + n.pad_top + n.pad_bottom - kh) / n.stride_h + 1;
  const int ow = (x.shape[2] + n.pad_left + n.pad_right - kw) / n.stride_w + 1;
  if (y.shape[1] != oh || y.shape[2] != ow)
    fail(n, "output size does not follow from kernel, stride and pads");
  if ((x.dtype == mf::DType::I8) != (w.dtype == mf::DType::I8))
    fail(n, "input and weight must both be f32 or both be int8");

  // OHWI -> OIHW.
  std::vector<size_t> perm;
  perm.reserve(static_cast<size_t>(element_count(w.shape)));
  for (int o = 0; o < out_c; ++o)
    for (int i = 0; i < wi; ++i)
      for (int r = 0; r < kh; ++r)
        for (int c = 0; c < kw; ++c) perm.push_back(((static_cast<size_t>(o) * kh + r) * kw + c) * wi + i);

  std::string xv = float_in(n, 0);
  std::string wv = weight(n, {out_c, wi, kh, kw}, std::move(perm));
  std::string bv = bias(n, out_c);
  std::string pre, yv = float_out(n, &pre);
  std::vector<std::string> ins = {xv, wv};
  if (!bv.empty()) ins.push_back(bv);
  onnx::NodeProto* c = b_.node("Conv", ins, {pre}, n.name);
  GraphBuilder::attr(c, "kernel_shape", Dims{kh, kw});
  GraphBuilder::attr(c, "strides", Dims{n.stride_h, n.stride_w});
  GraphBuilder::attr(c, "pads", Dims{n.pad_top, n.pad_left, n.pad_bottom, n.pad_right});
  GraphBuilder::attr(c, "dilations", Dims{1, 1});
  GraphBuilder::attr(c, "group", int64_t{n.groups});
  finish(n, pre, yv);
}

void Converter::fully_connected(const mf::NodeDef& n) {
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& w = input(n, 1);
  const mf::TensorDef& y = tensor(n, n.output);
  if (w.shape.size() != 2) fail(n, "weight must be [out, in]");
  if (y.shape.size() != 2) fail(n, "output must be rank 2 [batch, out]");
  if (x.shape.size() != 2 && x.shape.size() != 4) fail(n, "input must be rank 2 or rank 4");
  const int out = w.shape[0], in = w.shape[1];
  if (element_count(x.shape) != in * static_cast<int64_t>(x.shape[0]) || y.shape[1] != out)
    fail(n, "weight [" + std::to_string(out) + ", " + std::to_string(in) + "] does not match input/output");
  if ((x.dtype == mf::DType::I8) != (w.dtype == mf::DType::I8))
    fail(n, "input and weight must both be f32 or both be int8");

  // The .fam flattens NHWC, ONNX's Flatten flattens NCHW: reorder the weight columns.
  std::vector<size_t> perm(static_cast<size_t>(out) * in);
  const int hw = x.shape.size() == 4 ? x.shape[1] * x.shape[2] : 1;
  const int ch = in / hw;
  for (int o = 0; o < out; ++o)
    for (int c = 0; c < ch; ++c)
      for (int p = 0; p < hw; ++p)
        perm[static_cast<size_t>(o) * in + c * hw + p] = static_cast<size_t>(o) * in + p * ch + c;

  std::string xv = float_in(n, 0);
  if (x.shape.size() == 4) {
    std::string flat = b_.fresh(xv + "_flat");
    GraphBuilder::attr(b_.node("Flatten", {xv}, {flat}, n.name + "_flatten"), "axis", int64_t{1});
    xv = flat;
    if (x.dtype == mf::DType::I8) {
      auto [s, z] = act_qparams(x, n.inputs[0]);
      std::string q = b_.fresh(flat + "_q");
      b_.node("QuantizeLinear", {flat, s, z}, {q}, q);
      xv = dequant(q, x, n.inputs[0]);
    }
  }
  std::string wv = weight(n, {out, in}, std::move(perm));
  std::string bv = bias(n, out);
  std::string pre, yv = float_out(n, &pre);
  std::vector<std::string> ins = {xv, wv};
  if (!bv.empty()) ins.push_back(bv);
  GraphBuilder::attr(b_.node("Gemm", ins, {pre}, n.name), "transB", int64_t{1});
  finish(n, pre, yv);
}

void Converter::pool(const mf::NodeDef& n) {
  require_no_act(n);
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& y = tensor(n, n.output);
  if (x.shape.size() != 4 || y.shape.size() != 4 || x.shape[3] != y.shape[3])
    fail(n, "input and output must be rank 4 with the same channels");
  if (n.kernel_h < 1 || n.kernel_w < 1 || n.stride_h < 1 || n.stride_w < 1)
    fail(n, "kernel and strides must be >= 1");
  if (n.pad_top >= n.kernel_h || n.pad_bottom >= n.kernel_h || n.pad_left >= n.kernel_w ||
      n.pad_right >= n.kernel_w)
    fail(n, "pads must be smaller than the kernel");
  const int oh = (x.shape[1] + n.pad_top + n.pad_bottom - n.kernel_h) / n.stride_h + 1;
  const int ow = (x.shape[2] + n.pad_left + n.pad_right - n.kernel_w) / n.stride_w + 1;
  if (y.shape[1] != oh || y.shape[2] != ow)
    fail(n, "output size does not follow from kernel, stride and pads");
  std::string xv = float_in(n, 0);
  std::string pre, yv = float_out(n, &pre);
  const bool avg = n.op == mf::Op::AvgPool2d;
  onnx::NodeProto* p = b_.node(avg ? "AveragePool" : "MaxPool", {xv}, {pre}, n.name);
  GraphBuilder::attr(p, "kernel_shape", Dims{n.kernel_h, n.kernel_w});
  GraphBuilder::attr(p, "strides", Dims{n.stride_h, n.stride_w});
  GraphBuilder::attr(p, "pads", Dims{n.pad_top, n.pad_left, n.pad_bottom, n.pad_right});
  if (avg) GraphBuilder::attr(p, "count_include_pad", int64_t{0});
  finish(n, pre, yv);
}

void Converter::unary(const mf::NodeDef& n, const char* onnx_op) {
  require_no_act(n);
  std::string xv = float_in(n, 0);
  std::string pre, yv = float_out(n, &pre);
  b_.node(onnx_op, {xv}, {pre}, n.name);
  finish(n, pre, yv);
}

void Converter::add(const mf::NodeDef& n) {
  if (input(n, 0).shape != input(n, 1).shape || input(n, 0).shape != tensor(n, n.output).shape)
    fail(n, "inputs and output must have the same shape");
  std::string a = float_in(n, 0), b = float_in(n, 1);
  std::string pre, yv = float_out(n, &pre);
  b_.node("Add", {a, b}, {pre}, n.name);
  finish(n, pre, yv);
}

void Converter::concat(const mf::NodeDef& n) {
  require_no_act(n);
  const mf::TensorDef& y = tensor(n, n.output);
  const int rank = static_cast<int>(y.shape.size());
  int axis = n.axis < 0 ? n.axis + rank : n.axis;
  if (axis < 0 || axis >= rank) fail(n, "axis " + std::to_string(n.axis) + " out of range");
  if (n.inputs.empty()) fail(n, "needs at least one input");
  int64_t total = 0;
  std::vector<std::string> ins;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const mf::TensorDef& x = input(n, k);
    if (static_cast<int>(x.shape.size()) != rank) fail(n, "inputs must have the output's rank");
    for (int d = 0; d < rank; ++d)
      if (d != axis && x.shape[d] != y.shape[d])
        fail(n, "input '" + x.name + "' differs off the concat axis");
    total += x.shape[axis];
    ins.push_back(float_in(n, k));
  }
  if (total != y.shape[axis]) fail(n, "input sizes along the axis do not add up to the output");
  static const int kNhwcToNchw[4] = {0, 2, 3, 1};
  const int64_t onnx_axis = rank == 4 ? kNhwcToNchw[axis] : axis;
  std::string pre, yv = float_out(n, &pre);
  GraphBuilder::attr(b_.node("Concat", ins, {pre}, n.name), "axis", onnx_axis);
  finish(n, pre, yv);
}

void Converter::activation(const mf::NodeDef& n) {
  std::string xv = float_in(n, 0);
  std::string pre, yv = float_out(n, &pre);  // `pre` stays unused: the input is the activation's input
  if (n.act == mf::Act::None) b_.node("Identity", {xv}, {yv}, n.name);
  finish(n, n.act == mf::Act::None ? yv : xv, yv);
}

void Converter::quantize(const mf::NodeDef& n) {
  require_no_act(n);
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& y = tensor(n, n.output);
  if (x.dtype != mf::DType::F32 || y.dtype != mf::DType::I8) fail(n, "must map f32 to i8");
  if (x.shape != y.shape) fail(n, "input and output shapes differ");
  std::string xv = float_in(n, 0);
  if (ready_[n.output]) fail(n, "output tensor '" + y.name + "' is written twice");
  auto [s, z] = act_qparams(y, n.output);
  b_.node("QuantizeLinear", {xv, s, z}, {names_[n.output]}, n.name);
  ready_[n.output] = true;
}

void Converter::dequantize(const mf::NodeDef& n) {
  require_no_act(n);
  const mf::TensorDef& x = input(n, 0);
  const mf::TensorDef& y = tensor(n, n.output);
  if (x.dtype != mf::DType::I8 || y.dtype != mf::DType::F32) fail(n, "must map i8 to f32");
  if (x.shape != y.shape) fail(n, "input and output shapes differ");
  if (!ready_[n.inputs[0]]) fail(n, "reads tensor '" + x.name + "' before any node produces it");
  if (ready_[n.output]) fail(n, "output tensor '" + y.name + "' is written twice");
  auto [s, z] = act_qparams(x, n.inputs[0]);
  b_.node("DequantizeLinear", {names_[n.inputs[0]], s, z}, {names_[n.output]}, n.name);
  ready_[n.output] = true;
}

void Converter::run() {
  const int nt = static_cast<int>(m_.tensors.size());
  if (m_.inputs.size() != 1 || m_.outputs.size() != 1)
    throw std::runtime_error("onnx export: the network must have exactly one input and one output");
  const int in = m_.inputs[0], out = m_.outputs[0];
  if (in < 0 || in >= nt || out < 0 || out >= nt)
    throw std::runtime_error("onnx export: network input/output index out of range");
  const mf::TensorDef& tin = m_.tensors[in];
  const mf::TensorDef& tout = m_.tensors[out];
  if (tin.dtype != mf::DType::F32 || tin.shape.size() != 4 || tin.shape[0] != 1 ||
      tin.shape[1] != m_.input_height || tin.shape[2] != m_.input_width || tin.shape[3] != m_.input_channels)
    throw std::runtime_error(
        "onnx export: network input must be f32 [1, input_height, input_width, channels]");
  if (tout.dtype != mf::DType::F32 && tout.dtype != mf::DType::I8)
    throw std::runtime_error("onnx export: network output must be f32 or i8");

  const std::string out_name = output_name(m_);
  names_.resize(nt);
  ready_.assign(nt, false);
  b_.reserve("input");
  b_.reserve(out_name);
  names_[in] = "input";
  if (tout.dtype == mf::DType::F32) names_[out] = out_name;
  for (int i = 0; i < nt; ++i)
    if (names_[i].empty())
      names_[i] = b_.fresh(m_.tensors[i].name.empty() ? "t" + std::to_string(i) : m_.tensors[i].name);
  ready_[in] = true;

  onnx::GraphProto* g = b_.graph();
  set_value_info(g->add_input(), "input", onnx::TensorProto::FLOAT, onnx_dims(tin.shape));
  set_value_info(g->add_output(), out_name, onnx::TensorProto::FLOAT, onnx_dims(tout.shape));

  for (const mf::NodeDef& n : m_.nodes) {
    if (n.output < 0 || n.output >= nt) fail(n, "output index out of range");
    switch (n.op) {
      case mf::Op::Conv2d:
        conv(n);
        break;
      case mf::Op::FullyConnected:
        fully_connected(n);
        break;
      case mf::Op::MaxPool2d:
      case mf::Op::AvgPool2d:
        pool(n);
        break;
      case mf::Op::GlobalAvgPool: {
        const mf::TensorDef& x = input(n, 0);
        const mf::TensorDef& y = tensor(n, n.output);
        if (x.shape.size() != 4 || y.shape.size() != 4 || y.shape[1] != 1 || y.shape[2] != 1 ||
            x.shape[3] != y.shape[3])
          fail(n, "needs [N,H,W,C] -> [N,1,1,C]");
        unary(n, "GlobalAveragePool");
        break;
      }
      case mf::Op::Add:
        add(n);
        break;
      case mf::Op::Concat:
        concat(n);
        break;
      case mf::Op::Sigmoid:
        unary(n, "Sigmoid");
        break;
      case mf::Op::Activation:
        activation(n);
        break;
      case mf::Op::Quantize:
        quantize(n);
        break;
      case mf::Op::Dequantize:
        dequantize(n);
        break;
      default:
        fail(n, "unsupported op " + std::to_string(static_cast<int>(n.op)));
    }
  }
  if (!ready_[out])
    throw std::runtime_error("onnx export: no node produces the network output '" + tout.name + "'");
  if (tout.dtype == mf::DType::I8) {
    auto [s, z] = act_qparams(tout, out);
    b_.node("DequantizeLinear", {names_[out], s, z}, {out_name}, out_name + "_dq");
  }
}

}  // namespace

std::string output_name(const modelfile::ModelDef& model) {
  return model.kind == "anet" ? "probs" : "output";
}

std::vector<std::string> build_graph(const modelfile::ModelDef& model, onnx::GraphProto* graph) {
  graph->set_name(model.name.empty() ? "faceattr" : model.name);
  Converter c(model, graph);
  c.run();
  return c.names();
}

}  // namespace faceattr::onnx_export
