// Depthwise convolution (groups == in_c == out_c): the Highway loops,
// vectorised over channels, and the kernel object (after HWY_ONCE).
// int8 first widens the input to fp32 (x - zp) once per run, then accumulates
// in fp32, which is exact while the window has at most 512 taps
// (|sum| < 2^24), and requantises like the reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_depthwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"
#include "kernels/simd/vec_array-inl.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// Window bounds of one output position along one axis, clipped to the input.
struct Span {
  int first, begin, end;  // input index of tap 0; valid taps [begin, end)
};
HWY_INLINE Span ClipWindow(int o, int stride, int pad, int kernel, int in) {
  const int first = o * stride - pad;
  return {first, std::max(0, -first), std::min(kernel, in - first)};
}

// NV vectors of channels [c, c + NV * N) of one output pixel. x is fp32: the
// input itself, or for int8 the pre-widened (x - zero point) copy.
template <size_t NV, bool kInt8>
HWY_INLINE void DepthwiseBlock(const DepthwiseParams& p, const float* x, size_t in_base, const Span& sy,
                               const Span& sx, size_t c, size_t out_base) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(p.channels);
  FACEATTR_VEC_ARRAY(V, acc, NV);
  for (size_t v = 0; v < NV; ++v) acc[v] = kInt8 ? hn::Zero(df) : hn::LoadU(df, p.bias + c + v * N);
  for (int ky = sy.begin; ky < sy.end; ++ky) {
    const float* xrow = x + in_base + (static_cast<size_t>(sy.first + ky) * p.in_w + sx.first) * C + c;
    const float* wrow = p.w + static_cast<size_t>(ky * p.kernel_w) * C + c;
    for (int kx = sx.begin; kx < sx.end; ++kx) {
      const float* xp = xrow + static_cast<size_t>(kx) * C;
      const float* wp = wrow + static_cast<size_t>(kx) * C;
      for (size_t v = 0; v < NV; ++v)
        acc[v] = hn::MulAdd(hn::LoadU(df, xp + v * N), hn::LoadU(df, wp + v * N), acc[v]);
    }
  }
  for (size_t v = 0; v < NV; ++v) {
    const size_t cv = c + v * N;
    if constexpr (kInt8) {
      const auto sum = hn::Add(hn::ConvertTo(di, acc[v]), hn::LoadU(di, p.bias_i32 + cv));
      const auto scaled = hn::Mul(hn::ConvertTo(df, sum), hn::LoadU(df, p.mult + cv));
      const auto q = RequantizeF32(df, scaled, p.act, p.alpha, p.out_zp, p.qmin, p.qmax);
      hn::StoreU(hn::DemoteTo(d8, q), d8, static_cast<int8_t*>(p.y) + out_base + cv);
    } else {
      hn::StoreU(ApplyActF32(df, acc[v], p.act, p.alpha, p.lo, p.hi), df,
                 static_cast<float*>(p.y) + out_base + cv);
    }
  }
}

template <bool kInt8>
void DepthwiseRows(const DepthwiseParams& p, const float* x, size_t row_begin, size_t row_end) {
  const size_t N = hn::Lanes(hn::ScalableTag<float>());
  const size_t C = static_cast<size_t>(p.channels);
  for (size_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row) / p.out_h, oy = static_cast<int>(row) % p.out_h;
    const Span sy = ClipWindow(oy, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
    const size_t in_base = static_cast<size_t>(b) * p.in_h * p.in_w * C;
    for (int ox = 0; ox < p.out_w; ++ox) {
      const Span sx = ClipWindow(ox, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
      const size_t out_base = ((static_cast<size_t>(b) * p.out_h + oy) * p.out_w + ox) * C;
      size_t c = 0;
      for (; c + 4 * N <= C; c += 4 * N) DepthwiseBlock<4, kInt8>(p, x, in_base, sy, sx, c, out_base);
      switch ((C - c) / N) {
        case 3:
          DepthwiseBlock<3, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        case 2:
          DepthwiseBlock<2, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        case 1:
          DepthwiseBlock<1, kInt8>(p, x, in_base, sy, sx, c, out_base);
          break;
        default:
          break;
      }
      c += (C - c) / N * N;
      for (; c < C; ++c) {  // channel tail, scalar, same arithmetic
        float acc = kInt8 ? 0.0f : p.bias[c];
        for (int ky = sy.begin; ky < sy.end; ++ky) {
          for (int kx = sx.begin; kx < sx.end; ++kx) {
            const size_t xi = in_base + (static_cast<size_t>(sy.first + ky) * p.in_w + sx.first + kx) * C + c;
            acc = std::fma(x[xi], p.w[static_cast<size_t>(ky * p.kernel_w + kx) * C + c], acc);
          }
        }
        if constexpr (kInt8) {
          const int32_t sum = static_cast<int32_t>(acc) + p.bias_i32[c];
          static_cast<int8_t*>(p.y)[out_base + c] = requantize_scaled(
              static_cast<float>(sum) * p.mult[c], p.act, p.alpha, p.out_zp, p.qmin, p.qmax);
        } else {
          static_cast<float*>(p.y)[out_base + c] =
              p.act == Act::LeakyRelu ? apply_act(acc, p.act, p.alpha) : std::min(std::max(acc, p.lo), p.hi);
        }
      }
    }
  }
}

void DepthwiseF32(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  DepthwiseRows<false>(p, static_cast<const float*>(p.x), row_begin, row_end);
}
void DepthwiseI8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  DepthwiseRows<true>(p, p.widened, row_begin, row_end);
}

void WidenSubToF32(const int8_t* x, int32_t zp, float* y, size_t begin, size_t end) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto vzp = hn::Set(di, zp);
  size_t i = begin;
  for (; i + N <= end; i += N) {
    hn::StoreU(hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, x + i)), vzp)), df, y + i);
  }
  for (; i < end; ++i) y[i] = static_cast<float>(x[i] - zp);
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstring>
#include <vector>

#include "kernels/simd/conv2d_algorithms.h"
#include "kernels/simd/hwy_dispatch.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(DepthwiseF32);
FACEATTR_HWY_EXPORT(DepthwiseI8);
FACEATTR_HWY_EXPORT(WidenSubToF32);

void depthwise_f32(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseF32)(p, row_begin, row_end);
}
void depthwise_i8(const DepthwiseParams& p, size_t row_begin, size_t row_end) {
  FACEATTR_HWY_CALL(DepthwiseI8)(p, row_begin, row_end);
}
void widen_sub_to_f32(const int8_t* x, int32_t zp, float* y, size_t begin, size_t end) {
  FACEATTR_HWY_CALL(WidenSubToF32)(x, zp, y, begin, end);
}

// The kernel object: weights packed [tap][channel] as fp32 at creation; int8
// widens its input once per run, then both dtypes split the output rows over
// the pool.
namespace {

class DepthwiseConv final : public BoundKernel {
 public:
  DepthwiseConv(const Conv2dDesc& d, const ConvWeights& w) : BoundKernel(1), d_(d) {
    const size_t taps = static_cast<size_t>(d.kernel_h) * d.kernel_w, C = static_cast<size_t>(d.in_c);
    w_.resize(taps * C);
    for (size_t c = 0; c < C; ++c) {
      for (size_t t = 0; t < taps; ++t) {
        w_[t * C + c] = d.dtype == DType::F32
                            ? static_cast<const float*>(w.weights)[c * taps + t]
                            : static_cast<float>(static_cast<const int8_t*>(w.weights)[c * taps + t]);
      }
    }
    p_.in_h = d.in_h;
    p_.in_w = d.in_w;
    p_.channels = d.in_c;
    p_.out_h = d.out_h;
    p_.out_w = d.out_w;
    p_.kernel_h = d.kernel_h;
    p_.kernel_w = d.kernel_w;
    p_.stride_h = d.stride_h;
    p_.stride_w = d.stride_w;
    p_.pad_top = d.pad_top;
    p_.pad_left = d.pad_left;
    p_.act = d.act;
    p_.alpha = d.leaky_alpha;
    if (d.dtype == DType::F32) {
      bias_.assign(C, 0.0f);
      if (w.bias) std::memcpy(bias_.data(), w.bias, C * sizeof(float));
      act_frange(d.act, &p_.lo, &p_.hi);
    } else {
      bias_i32_.assign(C, 0);
      if (w.bias) std::memcpy(bias_i32_.data(), w.bias, C * sizeof(int32_t));
      mult_ = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
      p_.in_zp = d.in_q.zero_point;
      p_.out_zp = d.out_q.zero_point;
      act_qrange(d.act, d.out_q, &p_.qmin, &p_.qmax);
    }
    p_.w = w_.data();
    p_.bias = bias_.data();
    p_.bias_i32 = bias_i32_.data();
    p_.mult = mult_.data();
  }

  void run(const ExecContext& ctx) override {
    if (d_.dtype == DType::I8) {
      constexpr size_t kChunk = 16384;
      const size_t n_in = widened_.size();
      parallel_for(ctx.pool, ceil_div(n_in, kChunk), [this, n_in](size_t begin, size_t end) {
        widen_sub_to_f32(in<int8_t>(0), d_.in_q.zero_point, widened_.data(), begin * kChunk,
                         std::min(n_in, end * kChunk));
      });
    }
    const size_t rows = static_cast<size_t>(d_.batch) * d_.out_h;
    parallel_for(ctx.pool, rows, [this](size_t begin, size_t end) {
      if (d_.dtype == DType::F32) {
        depthwise_f32(p_, begin, end);
      } else {
        depthwise_i8(p_, begin, end);
      }
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    p_.x = inputs_[0];
    p_.y = output_;
    if (d_.dtype == DType::I8) {
      widened_.assign(static_cast<size_t>(d_.batch) * d_.in_h * d_.in_w * d_.in_c, 0.0f);
      p_.widened = widened_.data();
    }
    return true;
  }

 private:
  Conv2dDesc d_;
  DepthwiseParams p_;
  std::vector<float> w_, bias_, mult_, widened_;
  std::vector<int32_t> bias_i32_;
};

}  // namespace

KernelPtr make_conv2d_depthwise(const Conv2dDesc& d, const ConvWeights& w) {
  return std::make_unique<DepthwiseConv>(d, w);
}

}  // namespace faceattr::kernels::simd
#endif
