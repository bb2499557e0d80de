// Reference 2-D convolution (NHWC, OHWI weights, groups, asymmetric padding,
// fused activation), fp32 and int8. Plain serial loops; the yardstick for the
// optimised families.
#include <cstring>

#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {
namespace {

template <class T>
std::vector<T> copy_array(const void* p, size_t n) {
  std::vector<T> v(n);
  if (p != nullptr && n > 0) std::memcpy(v.data(), p, n * sizeof(T));
  return v;
}

class Conv2dF32 final : public BoundKernel {
 public:
  Conv2dF32(const Conv2dDesc& d, const ConvWeights& w) : BoundKernel(1), d_(d) {
    const size_t kc = static_cast<size_t>(d.in_c / d.groups);
    weights_ = copy_array<float>(w.weights, static_cast<size_t>(d.out_c) * d.kernel_h * d.kernel_w * kc);
    bias_ = w.bias ? copy_array<float>(w.bias, d.out_c) : std::vector<float>(d.out_c, 0.0f);
  }

  void run(const ExecContext&) override {
    const Conv2dDesc& d = d_;
    const int icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
    const float* x = in<float>(0);
    float* y = out<float>();
    for (int b = 0; b < d.batch; ++b) {
      for (int oy = 0; oy < d.out_h; ++oy) {
        for (int ox = 0; ox < d.out_w; ++ox) {
          float* yp = y + ((static_cast<size_t>(b) * d.out_h + oy) * d.out_w + ox) * d.out_c;
          for (int oc = 0; oc < d.out_c; ++oc) {
            const int g = oc / ocg;
            float acc = bias_[oc];
            for (int ky = 0; ky < d.kernel_h; ++ky) {
              const int iy = oy * d.stride_h - d.pad_top + ky;
              if (iy < 0 || iy >= d.in_h) continue;
              for (int kx = 0; kx < d.kernel_w; ++kx) {
                const int ix = ox * d.stride_w - d.pad_left + kx;
                if (ix < 0 || ix >= d.in_w) continue;
                const float* xp =
                    x + ((static_cast<size_t>(b) * d.in_h + iy) * d.in_w + ix) * d.in_c + g * icg;
                const float* wp =
                    weights_.data() + ((static_cast<size_t>(oc) * d.kernel_h + ky) * d.kernel_w + kx) * icg;
                for (int ic = 0; ic < icg; ++ic) acc += xp[ic] * wp[ic];
              }
            }
            yp[oc] = apply_act(acc, d.act, d.leaky_alpha);
          }
        }
      }
    }
  }

 private:
  Conv2dDesc d_;
  std::vector<float> weights_, bias_;
};

class Conv2dI8 final : public BoundKernel {
 public:
  Conv2dI8(const Conv2dDesc& d, const ConvWeights& w) : BoundKernel(1), d_(d) {
    const size_t kc = static_cast<size_t>(d.in_c / d.groups);
    weights_ = copy_array<int8_t>(w.weights, static_cast<size_t>(d.out_c) * d.kernel_h * d.kernel_w * kc);
    bias_ = w.bias ? copy_array<int32_t>(w.bias, d.out_c) : std::vector<int32_t>(d.out_c, 0);
    mult_ = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext&) override {
    const Conv2dDesc& d = d_;
    const int icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
    const int32_t izp = d.in_q.zero_point;
    const int8_t* x = in<int8_t>(0);
    int8_t* y = out<int8_t>();
    for (int b = 0; b < d.batch; ++b) {
      for (int oy = 0; oy < d.out_h; ++oy) {
        for (int ox = 0; ox < d.out_w; ++ox) {
          int8_t* yp = y + ((static_cast<size_t>(b) * d.out_h + oy) * d.out_w + ox) * d.out_c;
          for (int oc = 0; oc < d.out_c; ++oc) {
            const int g = oc / ocg;
            int32_t acc = bias_[oc];
            for (int ky = 0; ky < d.kernel_h; ++ky) {
              const int iy = oy * d.stride_h - d.pad_top + ky;
              if (iy < 0 || iy >= d.in_h) continue;
              for (int kx = 0; kx < d.kernel_w; ++kx) {
                const int ix = ox * d.stride_w - d.pad_left + kx;
                if (ix < 0 || ix >= d.in_w) continue;
                const int8_t* xp =
                    x + ((static_cast<size_t>(b) * d.in_h + iy) * d.in_w + ix) * d.in_c + g * icg;
                const int8_t* wp =
                    weights_.data() + ((static_cast<size_t>(oc) * d.kernel_h + ky) * d.kernel_w + kx) * icg;
                for (int ic = 0; ic < icg; ++ic) acc += (static_cast<int32_t>(xp[ic]) - izp) * wp[ic];
              }
            }
            yp[oc] = requantize_scaled(static_cast<float>(acc) * mult_[oc], d.act, d.leaky_alpha,
                                       d.out_q.zero_point, qmin_, qmax_);
          }
        }
      }
    }
  }

 private:
  Conv2dDesc d_;
  std::vector<int8_t> weights_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  int32_t qmin_ = -128, qmax_ = 127;
};

}  // namespace

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<Conv2dF32>(d, w);
  return std::make_unique<Conv2dI8>(d, w);
}

}  // namespace faceattr::kernels::reference
