// Reference 2-D convolution (NHWC, OHWI weights, groups, asymmetric padding,
// fused activation), fp32 and int8. Plain serial loops; the yardstick for the
// optimised families.
#include <cstring>
#include <type_traits>

#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {
namespace {

template <class T>
std::vector<T> copy_array(const void* p, size_t n) {
  std::vector<T> v(n);
  if (p != nullptr && n > 0) std::memcpy(v.data(), p, n * sizeof(T));
  return v;
}

// T = float: fp32 sums, bias and activation. T = int8_t: int32 sums of
// (x - input zero point) * w, int32 bias, requantised per output channel.
template <class T>
class Conv2dKernel final : public BoundKernel {
 public:
  static constexpr bool kF32 = std::is_same_v<T, float>;
  using Acc = std::conditional_t<kF32, float, int32_t>;

  Conv2dKernel(const Conv2dDesc& d, const ConvWeights& w) : BoundKernel(1), d_(d) {
    const size_t kc = static_cast<size_t>(d.in_c / d.groups);
    weights_ = copy_array<T>(w.weights, static_cast<size_t>(d.out_c) * d.kernel_h * d.kernel_w * kc);
    bias_ = w.bias ? copy_array<Acc>(w.bias, d.out_c) : std::vector<Acc>(d.out_c, Acc{0});
    if constexpr (!kF32) {
      mult_ = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
      act_qrange(d.act, d.out_q, &qmin_, &qmax_);
    }
  }

  void run(const ExecContext&) override {
    const Conv2dDesc& d = d_;
    const int icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
    [[maybe_unused]] const int32_t izp = d.in_q.zero_point;
    const T* x = in<T>(0);
    T* y = out<T>();
    for (int b = 0; b < d.batch; ++b) {
      for (int oy = 0; oy < d.out_h; ++oy) {
        for (int ox = 0; ox < d.out_w; ++ox) {
          T* yp = y + ((static_cast<size_t>(b) * d.out_h + oy) * d.out_w + ox) * d.out_c;
          for (int oc = 0; oc < d.out_c; ++oc) {
            const int g = oc / ocg;
            Acc acc = bias_[oc];
            for (int ky = 0; ky < d.kernel_h; ++ky) {
              const int iy = oy * d.stride_h - d.pad_top + ky;
              if (iy < 0 || iy >= d.in_h) continue;
              for (int kx = 0; kx < d.kernel_w; ++kx) {
                const int ix = ox * d.stride_w - d.pad_left + kx;
                if (ix < 0 || ix >= d.in_w) continue;
                const T* xp = x + ((static_cast<size_t>(b) * d.in_h + iy) * d.in_w + ix) * d.in_c + g * icg;
                const T* wp =
                    weights_.data() + ((static_cast<size_t>(oc) * d.kernel_h + ky) * d.kernel_w + kx) * icg;
                if constexpr (kF32) {
                  for (int ic = 0; ic < icg; ++ic) acc += xp[ic] * wp[ic];
                } else {
                  for (int ic = 0; ic < icg; ++ic) acc += (static_cast<int32_t>(xp[ic]) - izp) * wp[ic];
                }
              }
            }
            yp[oc] = finish(acc, oc);
          }
        }
      }
    }
  }

 private:
  T finish(Acc acc, int oc) const {
    if constexpr (kF32) {
      return apply_act(acc, d_.act, d_.leaky_alpha);
    } else {
      return requantize_scaled(static_cast<float>(acc) * mult_[oc], d_.act, d_.leaky_alpha,
                               d_.out_q.zero_point, qmin_, qmax_);
    }
  }

  Conv2dDesc d_;
  std::vector<T> weights_;
  std::vector<Acc> bias_;
  std::vector<float> mult_;  // int8 only
  int32_t qmin_ = -128, qmax_ = 127;
};

}  // namespace

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<Conv2dKernel<float>>(d, w);
  return std::make_unique<Conv2dKernel<int8_t>>(d, w);
}

}  // namespace faceattr::kernels::reference
