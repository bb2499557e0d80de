// Family names/availability, shared int8 arithmetic and descriptor validation.
#include <cmath>
#include <limits>

#include "kernels/kernel_util.h"
#include "kernels/kernels.h"

namespace faceattr::kernels {

const char* family_name(Family f) {
  switch (f) {
    case Family::Reference:
      return "reference";
    case Family::Xnnpack:
      return "xnnpack";
    case Family::Simd:
      return "simd";
  }
  return "unknown";
}

bool family_available(Family f) {
  switch (f) {
    case Family::Reference:
      return true;
    case Family::Xnnpack:
      return xnnpack::runtime_available();
    case Family::Simd:
      return simd::runtime_available();
  }
  return false;
}

int8_t quantize_value(float x, QParam q) {
  return requantize_scaled(x / q.scale, Act::None, 0.0f, q.zero_point, -128, 127);
}

float dequantize_value(int8_t v, QParam q) {
  return q.scale * static_cast<float>(static_cast<int32_t>(v) - q.zero_point);
}

void act_qrange(Act act, QParam out_q, int32_t* qmin, int32_t* qmax) {
  int32_t lo = -128, hi = 127;
  if (act == Act::Relu || act == Act::Relu6) {
    lo = out_q.zero_point;
    if (act == Act::Relu6) {
      const float six = round_half_away(6.0f / out_q.scale) + static_cast<float>(out_q.zero_point);
      hi = six >= 127.0f ? 127 : static_cast<int32_t>(six);
    }
  }
  if (lo < -128) lo = -128;
  if (lo > 127) lo = 127;
  if (hi < lo) hi = lo;
  *qmin = lo;
  *qmax = hi;
}

void act_frange(Act act, float* fmin, float* fmax) {
  const float inf = std::numeric_limits<float>::infinity();
  *fmin = -inf;
  *fmax = inf;
  if (act == Act::Relu || act == Act::Relu6) *fmin = 0.0f;
  if (act == Act::Relu6) *fmax = 6.0f;
}

bool qparam_valid(QParam q) {
  return std::isfinite(q.scale) && q.scale > 0.0f && q.zero_point >= -128 && q.zero_point <= 127;
}

bool act_valid(Act act, float alpha) {
  switch (act) {
    case Act::None:
    case Act::Relu:
    case Act::Relu6:
      return true;
    case Act::LeakyRelu:
      return std::isfinite(alpha);
  }
  return false;
}

static bool weight_scales_valid(const float* s, int n) {
  if (s == nullptr) return false;
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(s[i]) || s[i] <= 0.0f) return false;
  }
  return true;
}

bool conv2d_desc_valid(const Conv2dDesc& d, const ConvWeights& w) {
  if (d.batch <= 0 || d.in_h <= 0 || d.in_w <= 0 || d.in_c <= 0 || d.out_c <= 0 || d.groups <= 0)
    return false;
  if (d.in_c % d.groups != 0 || d.out_c % d.groups != 0) return false;
  const int oh = window_out_dim(d.in_h, d.kernel_h, d.stride_h, d.pad_top, d.pad_bottom);
  const int ow = window_out_dim(d.in_w, d.kernel_w, d.stride_w, d.pad_left, d.pad_right);
  if (oh <= 0 || ow <= 0 || oh != d.out_h || ow != d.out_w) return false;
  if (!act_valid(d.act, d.leaky_alpha) || w.weights == nullptr) return false;
  if (d.dtype == DType::I8) {
    if (!qparam_valid(d.in_q) || !qparam_valid(d.out_q) || !weight_scales_valid(w.w_scales, d.out_c))
      return false;
  }
  return true;
}

bool fully_connected_desc_valid(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (d.batch <= 0 || d.in_features <= 0 || d.out_features <= 0) return false;
  if (!act_valid(d.act, d.leaky_alpha) || w.weights == nullptr) return false;
  if (d.dtype == DType::I8) {
    if (!qparam_valid(d.in_q) || !qparam_valid(d.out_q) || !weight_scales_valid(w.w_scales, d.out_features))
      return false;
  }
  return true;
}

Conv2dDesc conv2d_desc_of(const FullyConnectedDesc& d) {
  Conv2dDesc c;
  c.batch = d.batch;
  c.in_h = c.in_w = c.out_h = c.out_w = 1;
  c.in_c = d.in_features;
  c.out_c = d.out_features;
  c.act = d.act;
  c.leaky_alpha = d.leaky_alpha;
  c.dtype = d.dtype;
  c.in_q = d.in_q;
  c.out_q = d.out_q;
  return c;
}

bool pool2d_desc_valid(const Pool2dDesc& d) {
  if (d.batch <= 0 || d.in_h <= 0 || d.in_w <= 0 || d.channels <= 0) return false;
  // Padding smaller than the window keeps every window non-empty.
  if (d.pad_top >= d.kernel_h || d.pad_bottom >= d.kernel_h || d.pad_left >= d.kernel_w ||
      d.pad_right >= d.kernel_w)
    return false;
  const int oh = window_out_dim(d.in_h, d.kernel_h, d.stride_h, d.pad_top, d.pad_bottom);
  const int ow = window_out_dim(d.in_w, d.kernel_w, d.stride_w, d.pad_left, d.pad_right);
  if (oh <= 0 || ow <= 0 || oh != d.out_h || ow != d.out_w) return false;
  if (d.dtype == DType::I8) {
    if (!qparam_valid(d.in_q) || !qparam_valid(d.out_q)) return false;
    if (d.kind == PoolKind::Max && (d.in_q.scale != d.out_q.scale || d.in_q.zero_point != d.out_q.zero_point))
      return false;
  }
  return true;
}

bool global_avg_pool_desc_valid(const GlobalAvgPoolDesc& d) {
  if (d.batch <= 0 || d.in_h <= 0 || d.in_w <= 0 || d.channels <= 0) return false;
  return d.dtype == DType::F32 || (qparam_valid(d.in_q) && qparam_valid(d.out_q));
}

bool add_desc_valid(const AddDesc& d) {
  if (d.size == 0 || !act_valid(d.act, d.leaky_alpha)) return false;
  return d.dtype == DType::F32 || (qparam_valid(d.a_q) && qparam_valid(d.b_q) && qparam_valid(d.out_q));
}

bool concat_desc_valid(const ConcatDesc& d) {
  if (d.outer == 0 || d.channels.empty()) return false;
  for (int c : d.channels) {
    if (c <= 0) return false;
  }
  return true;
}

bool sigmoid_desc_valid(const UnaryDesc& d) {
  return d.size > 0 && (d.dtype == DType::F32 || (qparam_valid(d.in_q) && qparam_valid(d.out_q)));
}

bool activation_desc_valid(const UnaryDesc& d) {
  return sigmoid_desc_valid(d) && act_valid(d.act, d.leaky_alpha);
}

bool quantize_desc_valid(const UnaryDesc& d) { return d.size > 0 && qparam_valid(d.out_q); }

bool dequantize_desc_valid(const UnaryDesc& d) { return d.size > 0 && qparam_valid(d.in_q); }

std::vector<float> requant_multipliers(QParam in_q, const float* w_scales, QParam out_q, int n) {
  std::vector<float> m(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) m[i] = in_q.scale * w_scales[i] / out_q.scale;
  return m;
}

}  // namespace faceattr::kernels
