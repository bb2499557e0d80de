// Helpers shared by the kernel families (not part of the kernel contract):
// descriptor validation, activation and requantisation arithmetic, and a base
// class that stores bound buffers.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace faceattr::kernels {

// Round half away from zero (the rounding every family uses for int8).
inline float round_half_away(float x) { return std::round(x); }

inline float apply_act(float v, Act act, float alpha) {
  switch (act) {
    case Act::None:
      return v;
    case Act::Relu:
      return v < 0.0f ? 0.0f : v;
    case Act::Relu6:
      return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case Act::LeakyRelu:
      return v < 0.0f ? v * alpha : v;
  }
  return v;
}

// Requantises a value already expressed in output quantisation steps
// (acc * in_scale * w_scale / out_scale): leaky slope, rounding, zero point, clamp.
inline int8_t requantize_scaled(float scaled, Act act, float alpha, int32_t zp, int32_t qmin, int32_t qmax) {
  if (act == Act::LeakyRelu && scaled < 0.0f) scaled *= alpha;
  float r = round_half_away(scaled) + static_cast<float>(zp);
  if (!(r >= static_cast<float>(qmin))) r = static_cast<float>(qmin);  // also maps NaN to qmin
  if (r > static_cast<float>(qmax)) r = static_cast<float>(qmax);
  return static_cast<int8_t>(static_cast<int32_t>(r));
}

// Output size of a convolution/pooling window along one axis; <= 0 when invalid.
inline int window_out_dim(int in, int kernel, int stride, int pad0, int pad1) {
  if (in <= 0 || kernel <= 0 || stride <= 0 || pad0 < 0 || pad1 < 0) return 0;
  const int span = in + pad0 + pad1 - kernel;
  if (span < 0) return 0;
  return span / stride + 1;
}

namespace xnnpack {
bool runtime_available();  // xnn_initialize succeeded (false when built without XNNPACK)
}
namespace simd {
bool runtime_available();  // built with the Highway kernels
}

bool qparam_valid(QParam q);
bool act_valid(Act act, float alpha);
// Structural checks of each descriptor (positive sizes, consistent output
// sizes, weights present, valid quantisation). Every family calls these first.
bool conv2d_desc_valid(const Conv2dDesc& d, const ConvWeights& w);
bool fully_connected_desc_valid(const FullyConnectedDesc& d, const ConvWeights& w);
bool pool2d_desc_valid(const Pool2dDesc& d);
bool global_avg_pool_desc_valid(const GlobalAvgPoolDesc& d);
bool add_desc_valid(const AddDesc& d);
bool concat_desc_valid(const ConcatDesc& d);
bool sigmoid_desc_valid(const UnaryDesc& d);
bool activation_desc_valid(const UnaryDesc& d);
bool quantize_desc_valid(const UnaryDesc& d);
bool dequantize_desc_valid(const UnaryDesc& d);

// A fully connected layer as the 1x1 convolution it is, over a batch x 1 x 1
// image: the weights [out][in] are the same in both layouts.
Conv2dDesc conv2d_desc_of(const FullyConnectedDesc& d);

// Per-output-channel requantisation multipliers in_scale * w_scale[oc] / out_scale.
std::vector<float> requant_multipliers(QParam in_q, const float* w_scales, QParam out_q, int n);

// Base for kernels with a fixed number of inputs: bind() stores pointers.
class BoundKernel : public Kernel {
 public:
  explicit BoundKernel(size_t n_inputs) : inputs_(n_inputs, nullptr) {}
  bool bind(const void* const* inputs, size_t n_inputs, void* output, const ExecContext& ctx) override {
    if (n_inputs != inputs_.size() || output == nullptr || (n_inputs > 0 && inputs == nullptr)) return false;
    for (size_t i = 0; i < n_inputs; ++i) {
      if (inputs[i] == nullptr) return false;
      inputs_[i] = inputs[i];
    }
    output_ = output;
    return on_bind(ctx);
  }

 protected:
  virtual bool on_bind(const ExecContext&) { return true; }
  template <class T>
  const T* in(size_t i) const {
    return static_cast<const T*>(inputs_[i]);
  }
  template <class T>
  T* out() const {
    return static_cast<T*>(output_);
  }
  bool bound() const { return output_ != nullptr; }

  std::vector<const void*> inputs_;
  void* output_ = nullptr;
};

}  // namespace faceattr::kernels
