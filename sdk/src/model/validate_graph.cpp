// Graph validation: indices, topological order, per-op shapes and dtypes,
// quantisation, and the documented network input/output shapes.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "model/model.h"

namespace faceattr::model {
namespace {

Status fail(const std::string& m) { return model_format_error("model: " + m); }

std::string shape_str(const std::vector<int>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

std::string tname(const Model& m, int i) {
  return "tensor " + std::to_string(i) + " '" + m.tensors[i].name + "'";
}

bool is_per_tensor_act_quant(const Tensor& t) { return t.scales.size() == 1 && t.zero_points.size() == 1; }

bool same_quant(const Tensor& a, const Tensor& b) {
  return a.scales.size() == 1 && b.scales.size() == 1 && a.scales[0] == b.scales[0] &&
         a.zero_points[0] == b.zero_points[0];
}

// Output size of a windowed op along one axis, or -1 when the arithmetic is invalid.
int window_out(int in, int k, int s, int p0, int p1) {
  if (k <= 0 || s <= 0 || p0 < 0 || p1 < 0 || k > 1 << 16 || s > 1 << 16 || p0 > 1 << 16 || p1 > 1 << 16)
    return -1;
  const long long span = static_cast<long long>(in) + p0 + p1;
  if (span < k) return -1;
  return static_cast<int>((span - k) / s + 1);
}

class Checker {
 public:
  explicit Checker(const Model& m) : m_(m) {}

  Status run() {
    const int nt = static_cast<int>(m_.tensors.size());
    FACEATTR_RETURN_IF_ERROR(check_tensors());
    if (m_.input < 0 || m_.input >= nt)
      return fail("network input index " + std::to_string(m_.input) + " out of range");
    produced_.assign(nt, false);
    produced_[m_.input] = true;
    const Tensor& in = m_.tensors[m_.input];
    if (in.constant) return fail("network input " + tname(m_, m_.input) + " is a constant");
    if (in.dtype != DType::F32 || in.shape != std::vector<int>{1, m_.input_height, m_.input_width, 3})
      return fail("network input " + tname(m_, m_.input) + " must be f32 [1," +
                  std::to_string(m_.input_height) + "," + std::to_string(m_.input_width) + ",3], got " +
                  shape_str(in.shape));
    if (m_.input_width <= 0 || m_.input_height <= 0 || m_.input_width > 4096 || m_.input_height > 4096)
      return fail("input size " + std::to_string(m_.input_width) + "x" + std::to_string(m_.input_height) +
                  " out of range");
    for (size_t i = 0; i < m_.nodes.size(); ++i) {
      const Node& n = m_.nodes[i];
      where_ = "node " + std::to_string(i) + " '" + n.name + "' (" + op_name(n.op) + ")";
      FACEATTR_RETURN_IF_ERROR(check_indices(n));
      FACEATTR_RETURN_IF_ERROR(check_node(n));
      produced_[n.output] = true;
    }
    for (int o : m_.outputs) {
      if (o < 0 || o >= nt) return fail("network output index " + std::to_string(o) + " out of range");
      if (!produced_[o] || o == m_.input)
        return fail("network output " + tname(m_, o) + " is not produced by a node");
    }
    size_t act_bytes = 0;
    for (const Tensor& t : m_.tensors)
      if (!t.constant) {
        act_bytes += t.bytes();
        if (act_bytes > kMaxActivationBytes) return fail("activations need more than 1 GiB");
      }
    return check_kind();
  }

 private:
  Status check_tensors() {
    for (size_t i = 0; i < m_.tensors.size(); ++i) {
      const Tensor& t = m_.tensors[i];
      const std::string w = tname(m_, static_cast<int>(i));
      if (t.dtype == DType::F32) {
        if (!t.scales.empty()) return fail(w + ": f32 tensor with quantisation");
      } else {
        if (t.scales.empty())
          return fail(w + ": " + (t.dtype == DType::I8 ? "int8" : "int32") + " tensor without quantisation");
        if (t.scales.size() != 1 && t.scales.size() != static_cast<size_t>(t.shape[0]))
          return fail(w + ": quantisation needs 1 or shape[0] scales, got " +
                      std::to_string(t.scales.size()));
        for (int32_t z : t.zero_points)
          if (z < -128 || z > 127)
            return fail(w + ": zero_point " + std::to_string(z) + " outside int8 range");
      }
      if (!t.constant) {
        if (t.dtype == DType::I32) return fail(w + ": int32 activations are not supported");
        if (t.dtype == DType::I8 && !is_per_tensor_act_quant(t))
          return fail(w + ": int8 activations need exactly one scale and zero point");
      } else if (t.dtype == DType::F32) {
        const float* v = reinterpret_cast<const float*>(t.data);
        for (size_t k = 0; k < t.elements; ++k)
          if (!std::isfinite(v[k])) return fail(w + ": non-finite value at element " + std::to_string(k));
      }
    }
    return Status::ok();
  }

  Status check_indices(const Node& n) {
    const int nt = static_cast<int>(m_.tensors.size());
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int i = n.inputs[k];
      const bool optional = (n.op == Op::Conv2d || n.op == Op::FullyConnected) && k == 2;
      if (optional && i == -1) continue;
      if (i < 0 || i >= nt) return fail(where_ + ": input index " + std::to_string(i) + " out of range");
      if (!m_.tensors[i].constant && !produced_[i])
        return fail(where_ + ": input " + tname(m_, i) + " is used before it is produced");
    }
    if (n.output < 0 || n.output >= nt)
      return fail(where_ + ": output index " + std::to_string(n.output) + " out of range");
    const Tensor& o = m_.tensors[n.output];
    if (o.constant) return fail(where_ + ": output " + tname(m_, n.output) + " is a constant");
    if (produced_[n.output]) return fail(where_ + ": output " + tname(m_, n.output) + " is produced twice");
    return Status::ok();
  }

  Status want_inputs(const Node& n, size_t lo, size_t hi) {
    if (n.inputs.size() < lo || n.inputs.size() > hi)
      return fail(where_ + ": has " + std::to_string(n.inputs.size()) + " inputs, expected " +
                  std::to_string(lo) + (hi != lo ? " to " + std::to_string(hi) : ""));
    return Status::ok();
  }

  Status want_activation(int i, const char* role) {
    const Tensor& t = m_.tensors[i];
    if (t.constant) return fail(where_ + ": " + role + " " + tname(m_, i) + " must not be a constant");
    return Status::ok();
  }

  Status want_no_fused_act(const Node& n) {
    if (n.act != Act::None) return fail(where_ + ": this op takes no fused activation");
    return Status::ok();
  }

  Status want_shape(int i, const std::vector<int>& s) {
    if (m_.tensors[i].shape != s)
      return fail(where_ + ": " + tname(m_, i) + " has shape " + shape_str(m_.tensors[i].shape) +
                  ", expected " + shape_str(s));
    return Status::ok();
  }

  Status want_dtype(int i, DType d) {
    if (m_.tensors[i].dtype != d) return fail(where_ + ": " + tname(m_, i) + " has the wrong dtype");
    return Status::ok();
  }

  Status check_weighted(const Node& n, bool conv) {
    FACEATTR_RETURN_IF_ERROR(want_inputs(n, 2, 3));
    const int xi = n.inputs[0], wi = n.inputs[1], bi = n.inputs.size() > 2 ? n.inputs[2] : -1;
    FACEATTR_RETURN_IF_ERROR(want_activation(xi, "input"));
    const Tensor& x = m_.tensors[xi];
    const Tensor& w = m_.tensors[wi];
    if (!w.constant) return fail(where_ + ": weight " + tname(m_, wi) + " must be a constant");
    if (x.dtype != DType::F32 && x.dtype != DType::I8) return fail(where_ + ": input must be f32 or int8");
    const DType d = x.dtype;
    FACEATTR_RETURN_IF_ERROR(want_dtype(wi, d));
    FACEATTR_RETURN_IF_ERROR(want_dtype(n.output, d));
    int out_c = 0;
    std::vector<int> out_shape;
    if (conv) {
      if (x.shape.size() != 4) return fail(where_ + ": input must be 4-D NHWC, got " + shape_str(x.shape));
      const int in_c = x.shape[3];
      if (w.shape.size() != 4) return fail(where_ + ": weight must be 4-D OHWI, got " + shape_str(w.shape));
      out_c = w.shape[0];
      if (n.groups <= 0 || in_c % n.groups != 0 || out_c % n.groups != 0)
        return fail(where_ + ": groups " + std::to_string(n.groups) + " must divide in_c " +
                    std::to_string(in_c) + " and out_c " + std::to_string(out_c));
      if (w.shape[1] != n.kernel_h || w.shape[2] != n.kernel_w || w.shape[3] != in_c / n.groups)
        return fail(where_ + ": weight shape " + shape_str(w.shape) + " does not match kernel " +
                    std::to_string(n.kernel_h) + "x" + std::to_string(n.kernel_w) + " and in_c/groups " +
                    std::to_string(in_c / n.groups));
      const int oh = window_out(x.shape[1], n.kernel_h, n.stride_h, n.pad_top, n.pad_bottom);
      const int ow = window_out(x.shape[2], n.kernel_w, n.stride_w, n.pad_left, n.pad_right);
      if (oh <= 0 || ow <= 0)
        return fail(where_ + ": invalid kernel/stride/padding for input " + shape_str(x.shape));
      out_shape = {x.shape[0], oh, ow, out_c};
    } else {
      if (x.shape.size() < 2) return fail(where_ + ": input needs a batch dimension");
      size_t in_f = x.elements / static_cast<size_t>(x.shape[0]);
      if (w.shape.size() != 2 || static_cast<size_t>(w.shape[1]) != in_f)
        return fail(where_ + ": weight " + shape_str(w.shape) + " must be [out, " + std::to_string(in_f) +
                    "]");
      out_c = w.shape[0];
      out_shape = {x.shape[0], out_c};
    }
    FACEATTR_RETURN_IF_ERROR(want_shape(n.output, out_shape));
    if (bi >= 0) {
      const Tensor& b = m_.tensors[bi];
      if (!b.constant) return fail(where_ + ": bias " + tname(m_, bi) + " must be a constant");
      FACEATTR_RETURN_IF_ERROR(want_dtype(bi, d == DType::F32 ? DType::F32 : DType::I32));
      FACEATTR_RETURN_IF_ERROR(want_shape(bi, {out_c}));
    }
    if (d == DType::I8) {
      if (w.scales.size() != 1 && w.scales.size() != static_cast<size_t>(out_c))
        return fail(where_ + ": weight needs 1 or out_c scales");
      for (int32_t z : w.zero_points)
        if (z != 0) return fail(where_ + ": int8 weights must be symmetric (zero_point 0)");
      if (!is_per_tensor_act_quant(x) || !is_per_tensor_act_quant(m_.tensors[n.output]))
        return fail(where_ + ": int8 input and output need one scale and zero point each");
      if (bi >= 0) {
        // The kernels take the bias scale to be in_scale * w_scale[oc]; refuse files that disagree.
        const Tensor& b = m_.tensors[bi];
        for (int oc = 0; oc < out_c; ++oc) {
          const float ws = w.scales.size() == 1 ? w.scales[0] : w.scales[oc];
          const float want = x.scales[0] * ws;
          const float got = b.scales.size() == 1 ? b.scales[0] : b.scales[oc];
          if (std::fabs(got - want) > 1e-4f * want)
            return fail(where_ + ": bias scale " + std::to_string(got) + " for channel " +
                        std::to_string(oc) + " != input scale * weight scale (" + std::to_string(want) + ")");
          if ((b.zero_points.size() == 1 ? b.zero_points[0] : b.zero_points[oc]) != 0)
            return fail(where_ + ": int32 bias must have zero_point 0");
        }
      }
      // Every int8 kernel sums bias + (x - zero point) * w in int32, |x - zero point| <= 255:
      // refuse a channel whose largest possible sum does not fit.
      const auto* wq = reinterpret_cast<const int8_t*>(w.data);
      const auto* bq = bi >= 0 ? reinterpret_cast<const int32_t*>(m_.tensors[bi].data) : nullptr;
      const size_t taps = w.elements / static_cast<size_t>(out_c);
      for (int oc = 0; oc < out_c; ++oc) {
        int64_t bound = bq ? std::llabs(static_cast<int64_t>(bq[oc])) : 0;
        for (size_t k = 0; k < taps; ++k) bound += 255 * std::abs(static_cast<int32_t>(wq[oc * taps + k]));
        if (bound > std::numeric_limits<int32_t>::max())
          return fail(where_ + ": int32 accumulator of channel " + std::to_string(oc) +
                      " can overflow (|bias| + 255 * sum |w| = " + std::to_string(bound) + ")");
      }
    }
    return Status::ok();
  }

  Status check_pool(const Node& n) {
    FACEATTR_RETURN_IF_ERROR(want_inputs(n, 1, 1));
    FACEATTR_RETURN_IF_ERROR(want_no_fused_act(n));
    const int xi = n.inputs[0];
    FACEATTR_RETURN_IF_ERROR(want_activation(xi, "input"));
    const Tensor& x = m_.tensors[xi];
    if (x.shape.size() != 4) return fail(where_ + ": input must be 4-D NHWC, got " + shape_str(x.shape));
    FACEATTR_RETURN_IF_ERROR(want_dtype(n.output, x.dtype));
    if (n.op == Op::GlobalAvgPool) return want_shape(n.output, {x.shape[0], 1, 1, x.shape[3]});
    const int oh = window_out(x.shape[1], n.kernel_h, n.stride_h, n.pad_top, n.pad_bottom);
    const int ow = window_out(x.shape[2], n.kernel_w, n.stride_w, n.pad_left, n.pad_right);
    if (oh <= 0 || ow <= 0)
      return fail(where_ + ": invalid kernel/stride/padding for input " + shape_str(x.shape));
    // Every window must overlap the input, or average pooling would divide by zero.
    if (n.pad_top >= n.kernel_h || n.pad_bottom >= n.kernel_h || n.pad_left >= n.kernel_w ||
        n.pad_right >= n.kernel_w)
      return fail(where_ + ": padding must be smaller than the kernel");
    FACEATTR_RETURN_IF_ERROR(want_shape(n.output, {x.shape[0], oh, ow, x.shape[3]}));
    if (n.op == Op::MaxPool2d && x.dtype == DType::I8 && !same_quant(x, m_.tensors[n.output]))
      return fail(where_ + ": int8 max pool needs identical input and output quantisation");
    return Status::ok();
  }

  Status check_node(const Node& n) {
    switch (n.op) {
      case Op::Conv2d:
        return check_weighted(n, true);
      case Op::FullyConnected:
        return check_weighted(n, false);
      case Op::MaxPool2d:
      case Op::AvgPool2d:
      case Op::GlobalAvgPool:
        return check_pool(n);
      case Op::Add: {
        FACEATTR_RETURN_IF_ERROR(want_inputs(n, 2, 2));
        for (int i : n.inputs) FACEATTR_RETURN_IF_ERROR(want_activation(i, "input"));
        const Tensor& a = m_.tensors[n.inputs[0]];
        FACEATTR_RETURN_IF_ERROR(want_shape(n.inputs[1], a.shape));
        FACEATTR_RETURN_IF_ERROR(want_shape(n.output, a.shape));
        FACEATTR_RETURN_IF_ERROR(want_dtype(n.inputs[1], a.dtype));
        return want_dtype(n.output, a.dtype);
      }
      case Op::Concat: {
        FACEATTR_RETURN_IF_ERROR(want_no_fused_act(n));
        if (n.axis != 3) return fail(where_ + ": only channel concatenation (axis 3) is supported");
        const Tensor& a = m_.tensors[n.inputs[0]];
        if (a.shape.size() != 4) return fail(where_ + ": inputs must be 4-D NHWC");
        long long channels = 0;
        for (int i : n.inputs) {
          FACEATTR_RETURN_IF_ERROR(want_activation(i, "input"));
          const Tensor& t = m_.tensors[i];
          if (t.shape.size() != 4 || t.shape[0] != a.shape[0] || t.shape[1] != a.shape[1] ||
              t.shape[2] != a.shape[2])
            return fail(where_ + ": input " + tname(m_, i) + " shape " + shape_str(t.shape) +
                        " does not match " + shape_str(a.shape) + " outside the channel axis");
          FACEATTR_RETURN_IF_ERROR(want_dtype(i, a.dtype));
          if (a.dtype == DType::I8 && !same_quant(t, m_.tensors[n.output]))
            return fail(where_ + ": int8 inputs must share the output's quantisation");
          channels += t.shape[3];
        }
        if (channels > 1 << 20) return fail(where_ + ": too many channels");
        FACEATTR_RETURN_IF_ERROR(want_dtype(n.output, a.dtype));
        return want_shape(n.output, {a.shape[0], a.shape[1], a.shape[2], static_cast<int>(channels)});
      }
      case Op::Sigmoid:
      case Op::Activation:
      case Op::Quantize:
      case Op::Dequantize: {
        FACEATTR_RETURN_IF_ERROR(want_inputs(n, 1, 1));
        if (n.op != Op::Activation) FACEATTR_RETURN_IF_ERROR(want_no_fused_act(n));
        const int xi = n.inputs[0];
        FACEATTR_RETURN_IF_ERROR(want_activation(xi, "input"));
        const Tensor& x = m_.tensors[xi];
        FACEATTR_RETURN_IF_ERROR(want_shape(n.output, x.shape));
        if (n.op == Op::Quantize) {
          FACEATTR_RETURN_IF_ERROR(want_dtype(xi, DType::F32));
          return want_dtype(n.output, DType::I8);
        }
        if (n.op == Op::Dequantize) {
          FACEATTR_RETURN_IF_ERROR(want_dtype(xi, DType::I8));
          return want_dtype(n.output, DType::F32);
        }
        return want_dtype(n.output, x.dtype);
      }
    }
    return fail(where_ + ": unknown op");
  }

  Status check_kind() {
    if (m_.attribute_names.size() != m_.thresholds.size())
      return fail(std::to_string(m_.attribute_names.size()) + " attribute names but " +
                  std::to_string(m_.thresholds.size()) + " thresholds");
    for (float t : m_.thresholds)
      if (!std::isfinite(t)) return fail("non-finite threshold");
    // Optional (empty: absent); when present, one per attribute, each a probability.
    const std::vector<float>& balanced = m_.balanced_thresholds;
    if (!balanced.empty() && balanced.size() != m_.attribute_names.size())
      return fail("balanced_thresholds has " + std::to_string(balanced.size()) + " entries for " +
                  std::to_string(m_.attribute_names.size()) + " attributes");
    for (size_t i = 0; i < balanced.size(); ++i)
      if (!(balanced[i] >= 0.0f && balanced[i] <= 1.0f))
        return fail("balanced_thresholds[" + std::to_string(i) + "] = " + std::to_string(balanced[i]) +
                    " is not a number in [0, 1]");
    if (m_.kind == "anet") {
      const int n_attr = static_cast<int>(m_.attribute_names.size());
      if (n_attr == 0) return fail("anet model without attribute names");
      if (m_.outputs.size() != 1) return fail("anet model must have exactly one output");
      const int o = m_.outputs[0];
      const Tensor& t = m_.tensors[o];
      if (t.dtype != DType::F32 || t.shape != std::vector<int>{1, n_attr})
        return fail("anet output " + tname(m_, o) + " must be f32 [1," + std::to_string(n_attr) + "], got " +
                    shape_str(t.shape));
      return Status::ok();
    }
    if (m_.kind == "lnet") return Status::ok();
    return fail("unknown model kind \"" + m_.kind + "\" (expected anet or lnet)");
  }

  const Model& m_;
  std::vector<bool> produced_;
  std::string where_;
};

}  // namespace

Status validate_graph(const Model& m) { return Checker(m).run(); }

}  // namespace faceattr::model
