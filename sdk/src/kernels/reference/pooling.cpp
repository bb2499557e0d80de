// Reference max/average pooling (NHWC). Average pooling divides by the number
// of in-bounds elements (padding never counts); int8 average requantises.
#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {
namespace {

template <class T>
class Pool2dKernel final : public BoundKernel {
 public:
  explicit Pool2dKernel(const Pool2dDesc& d) : BoundKernel(1), d_(d) {}

  void run(const ExecContext&) override {
    const Pool2dDesc& d = d_;
    const T* x = in<T>(0);
    T* y = out<T>();
    for (int b = 0; b < d.batch; ++b) {
      for (int oy = 0; oy < d.out_h; ++oy) {
        const int y0 = oy * d.stride_h - d.pad_top;
        const int ky0 = y0 < 0 ? -y0 : 0;
        const int ky1 = y0 + d.kernel_h > d.in_h ? d.in_h - y0 : d.kernel_h;
        for (int ox = 0; ox < d.out_w; ++ox) {
          const int x0 = ox * d.stride_w - d.pad_left;
          const int kx0 = x0 < 0 ? -x0 : 0;
          const int kx1 = x0 + d.kernel_w > d.in_w ? d.in_w - x0 : d.kernel_w;
          T* yp = y + ((static_cast<size_t>(b) * d.out_h + oy) * d.out_w + ox) * d.channels;
          const int count = (ky1 - ky0) * (kx1 - kx0);
          for (int c = 0; c < d.channels; ++c) {
            float maxv = 0.0f, sum = 0.0f;
            int32_t maxq = -128, sumq = 0;
            bool first = true;
            for (int ky = ky0; ky < ky1; ++ky) {
              for (int kx = kx0; kx < kx1; ++kx) {
                const T v =
                    x[((static_cast<size_t>(b) * d.in_h + y0 + ky) * d.in_w + x0 + kx) * d.channels + c];
                if constexpr (sizeof(T) == 1) {
                  maxq = first || v > maxq ? v : maxq;
                  sumq += v;
                } else {
                  maxv = first || v > maxv ? v : maxv;
                  sum += v;
                }
                first = false;
              }
            }
            if constexpr (sizeof(T) == 1) {
              if (d.kind == PoolKind::Max) {
                yp[c] = static_cast<int8_t>(maxq);
              } else {
                const float mult = d.in_q.scale / (d.out_q.scale * static_cast<float>(count));
                yp[c] = requantize_scaled(static_cast<float>(sumq - count * d.in_q.zero_point) * mult,
                                          Act::None, 0.0f, d.out_q.zero_point, -128, 127);
              }
            } else {
              yp[c] = d.kind == PoolKind::Max ? maxv : sum / static_cast<float>(count);
            }
          }
        }
      }
    }
  }

 private:
  Pool2dDesc d_;
};

template <class T>
class GlobalAvgPoolKernel final : public BoundKernel {
 public:
  explicit GlobalAvgPoolKernel(const GlobalAvgPoolDesc& d) : BoundKernel(1), d_(d) {}

  void run(const ExecContext&) override {
    const size_t hw = static_cast<size_t>(d_.in_h) * d_.in_w;
    const int ch = d_.channels;
    for (int b = 0; b < d_.batch; ++b) {
      const T* x = in<T>(0) + static_cast<size_t>(b) * hw * ch;
      T* y = out<T>() + static_cast<size_t>(b) * ch;
      for (int c = 0; c < ch; ++c) {
        if constexpr (sizeof(T) == 1) {
          int32_t sum = 0;
          for (size_t i = 0; i < hw; ++i) sum += x[i * ch + c];
          const float mult = d_.in_q.scale / (d_.out_q.scale * static_cast<float>(hw));
          y[c] = requantize_scaled(
              static_cast<float>(sum - static_cast<int32_t>(hw) * d_.in_q.zero_point) * mult, Act::None, 0.0f,
              d_.out_q.zero_point, -128, 127);
        } else {
          float sum = 0.0f;
          for (size_t i = 0; i < hw; ++i) sum += x[i * ch + c];
          y[c] = sum / static_cast<float>(hw);
        }
      }
    }
  }

 private:
  GlobalAvgPoolDesc d_;
};

}  // namespace

KernelPtr make_pool2d(const Pool2dDesc& d) {
  if (!pool2d_desc_valid(d)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<Pool2dKernel<float>>(d);
  return std::make_unique<Pool2dKernel<int8_t>>(d);
}

KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc& d) {
  if (!global_avg_pool_desc_valid(d)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<GlobalAvgPoolKernel<float>>(d);
  return std::make_unique<GlobalAvgPoolKernel<int8_t>>(d);
}

}  // namespace faceattr::kernels::reference
