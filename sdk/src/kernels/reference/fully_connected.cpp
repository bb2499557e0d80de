// Reference fully connected layer, fp32 and int8 (per-output-channel weight scales).
#include <cstring>

#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {
namespace {

class FullyConnectedF32 final : public BoundKernel {
 public:
  FullyConnectedF32(const FullyConnectedDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        weights_(static_cast<size_t>(d.in_features) * d.out_features),
        bias_(d.out_features) {
    std::memcpy(weights_.data(), w.weights, weights_.size() * sizeof(float));
    if (w.bias != nullptr) std::memcpy(bias_.data(), w.bias, bias_.size() * sizeof(float));
  }

  void run(const ExecContext&) override {
    const int n_in = d_.in_features, n_out = d_.out_features;
    for (int b = 0; b < d_.batch; ++b) {
      const float* x = in<float>(0) + static_cast<size_t>(b) * n_in;
      float* y = out<float>() + static_cast<size_t>(b) * n_out;
      for (int o = 0; o < n_out; ++o) {
        const float* wp = weights_.data() + static_cast<size_t>(o) * n_in;
        float acc = bias_[o];
        for (int i = 0; i < n_in; ++i) acc += x[i] * wp[i];
        y[o] = apply_act(acc, d_.act, d_.leaky_alpha);
      }
    }
  }

 private:
  FullyConnectedDesc d_;
  std::vector<float> weights_, bias_;
};

class FullyConnectedI8 final : public BoundKernel {
 public:
  FullyConnectedI8(const FullyConnectedDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        weights_(static_cast<size_t>(d.in_features) * d.out_features),
        bias_(d.out_features) {
    std::memcpy(weights_.data(), w.weights, weights_.size());
    if (w.bias != nullptr) std::memcpy(bias_.data(), w.bias, bias_.size() * sizeof(int32_t));
    mult_ = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_features);
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext&) override {
    const int n_in = d_.in_features, n_out = d_.out_features;
    const int32_t izp = d_.in_q.zero_point;
    for (int b = 0; b < d_.batch; ++b) {
      const int8_t* x = in<int8_t>(0) + static_cast<size_t>(b) * n_in;
      int8_t* y = out<int8_t>() + static_cast<size_t>(b) * n_out;
      for (int o = 0; o < n_out; ++o) {
        const int8_t* wp = weights_.data() + static_cast<size_t>(o) * n_in;
        int32_t acc = bias_[o];
        for (int i = 0; i < n_in; ++i) acc += (static_cast<int32_t>(x[i]) - izp) * wp[i];
        y[o] = requantize_scaled(static_cast<float>(acc) * mult_[o], d_.act, d_.leaky_alpha,
                                 d_.out_q.zero_point, qmin_, qmax_);
      }
    }
  }

 private:
  FullyConnectedDesc d_;
  std::vector<int8_t> weights_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  int32_t qmin_ = -128, qmax_ = 127;
};

}  // namespace

KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (!fully_connected_desc_valid(d, w)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<FullyConnectedF32>(d, w);
  return std::make_unique<FullyConnectedI8>(d, w);
}

}  // namespace faceattr::kernels::reference
