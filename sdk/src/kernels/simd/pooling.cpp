// SIMD pooling, vectorised over channels (scalar channel tail): max and
// average pooling (f32, int8) and global average pooling (f32, int8). int8
// averages sum in int32 and requantise exactly like the reference.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/pooling.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"
#include "util/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// Output rows [row_begin, row_end) of batch * out_h.
void PoolRows(const PoolRun& r, size_t row_begin, size_t row_end) {
  const Pool2dDesc& d = r.d;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(d.channels);
  const bool is_max = d.kind == PoolKind::Max, i8 = d.dtype == DType::I8;
  const auto* xf = static_cast<const float*>(r.x);
  const auto* xq = static_cast<const int8_t*>(r.x);
  for (size_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row) / d.out_h, oy = static_cast<int>(row) % d.out_h;
    const int y0 = oy * d.stride_h - d.pad_top;
    const int ky0 = std::max(0, -y0), ky1 = std::min(d.kernel_h, d.in_h - y0);
    for (int ox = 0; ox < d.out_w; ++ox) {
      const int x0 = ox * d.stride_w - d.pad_left;
      const int kx0 = std::max(0, -x0), kx1 = std::min(d.kernel_w, d.in_w - x0);
      const int count = (ky1 - ky0) * (kx1 - kx0);
      const size_t out_base = ((static_cast<size_t>(b) * d.out_h + oy) * d.out_w + ox) * C;
      const float mult = d.in_q.scale / (d.out_q.scale * static_cast<float>(count));
      auto pixel = [&](int ky, int kx) {
        return ((static_cast<size_t>(b) * d.in_h + y0 + ky) * d.in_w + x0 + kx) * C;
      };
      size_t c = 0;
      for (; c + N <= C; c += N) {
        if (!i8) {
          auto acc = hn::LoadU(df, xf + pixel(ky0, kx0) + c);
          for (int ky = ky0; ky < ky1; ++ky) {
            for (int kx = kx0; kx < kx1; ++kx) {
              if (ky == ky0 && kx == kx0) continue;
              const auto v = hn::LoadU(df, xf + pixel(ky, kx) + c);
              acc = is_max ? hn::Max(acc, v) : hn::Add(acc, v);
            }
          }
          if (!is_max) acc = hn::Div(acc, hn::Set(df, static_cast<float>(count)));
          hn::StoreU(acc, df, static_cast<float*>(r.y) + out_base + c);
        } else {
          auto acc = hn::PromoteTo(di, hn::LoadU(d8, xq + pixel(ky0, kx0) + c));
          for (int ky = ky0; ky < ky1; ++ky) {
            for (int kx = kx0; kx < kx1; ++kx) {
              if (ky == ky0 && kx == kx0) continue;
              const auto v = hn::PromoteTo(di, hn::LoadU(d8, xq + pixel(ky, kx) + c));
              acc = is_max ? hn::Max(acc, v) : hn::Add(acc, v);
            }
          }
          if (!is_max) {
            const auto centred = hn::Sub(acc, hn::Set(di, count * d.in_q.zero_point));
            acc = RequantizeF32(df, hn::Mul(hn::ConvertTo(df, centred), hn::Set(df, mult)), Act::None, 0.0f,
                                d.out_q.zero_point, -128, 127);
          }
          hn::StoreU(hn::DemoteTo(d8, acc), d8, static_cast<int8_t*>(r.y) + out_base + c);
        }
      }
      for (; c < C; ++c) {  // channel tail, same arithmetic as the vectors
        float accf = i8 ? 0.0f : xf[pixel(ky0, kx0) + c];
        int32_t accq = i8 ? xq[pixel(ky0, kx0) + c] : 0;
        for (int ky = ky0; ky < ky1; ++ky) {
          for (int kx = kx0; kx < kx1; ++kx) {
            if (ky == ky0 && kx == kx0) continue;
            if (i8) {
              const int32_t v = xq[pixel(ky, kx) + c];
              accq = is_max ? std::max(accq, v) : accq + v;
            } else {
              const float v = xf[pixel(ky, kx) + c];
              accf = is_max ? std::max(accf, v) : accf + v;
            }
          }
        }
        if (!i8) {
          static_cast<float*>(r.y)[out_base + c] = is_max ? accf : accf / static_cast<float>(count);
        } else {
          static_cast<int8_t*>(r.y)[out_base + c] =
              is_max ? static_cast<int8_t>(accq)
                     : requantize_scaled(static_cast<float>(accq - count * d.in_q.zero_point) * mult,
                                         Act::None, 0.0f, d.out_q.zero_point, -128, 127);
        }
      }
    }
  }
}

// One batch row: y[c] = mean over pixels of x[p][c].
void GlobalAvgPoolBatch(const GapRun& r, size_t b) {
  const GlobalAvgPoolDesc& d = r.d;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(d.channels), hw = static_cast<size_t>(d.in_h) * d.in_w;
  if (d.dtype == DType::F32) {
    const float* x = static_cast<const float*>(r.x) + b * hw * C;
    float* y = static_cast<float*>(r.y) + b * C;
    std::copy(x, x + C, y);
    for (size_t p = 1; p < hw; ++p) {
      size_t c = 0;
      for (; c + N <= C; c += N)
        hn::StoreU(hn::Add(hn::LoadU(df, y + c), hn::LoadU(df, x + p * C + c)), df, y + c);
      for (; c < C; ++c) y[c] += x[p * C + c];
    }
    const float n = static_cast<float>(hw);
    size_t c = 0;
    for (; c + N <= C; c += N) hn::StoreU(hn::Div(hn::LoadU(df, y + c), hn::Set(df, n)), df, y + c);
    for (; c < C; ++c) y[c] /= n;
    return;
  }
  const int8_t* x = static_cast<const int8_t*>(r.x) + b * hw * C;
  int8_t* y = static_cast<int8_t*>(r.y) + b * C;
  int32_t* acc = r.acc + b * C;
  std::fill(acc, acc + C, 0);
  for (size_t p = 0; p < hw; ++p) {
    size_t c = 0;
    for (; c + N <= C; c += N) {
      hn::StoreU(hn::Add(hn::LoadU(di, acc + c), hn::PromoteTo(di, hn::LoadU(d8, x + p * C + c))), di,
                 acc + c);
    }
    for (; c < C; ++c) acc[c] += x[p * C + c];
  }
  const float mult = d.in_q.scale / (d.out_q.scale * static_cast<float>(hw));
  const int32_t offset = static_cast<int32_t>(hw) * d.in_q.zero_point;
  size_t c = 0;
  for (; c + N <= C; c += N) {
    const auto centred = hn::Sub(hn::LoadU(di, acc + c), hn::Set(di, offset));
    const auto q = RequantizeF32(df, hn::Mul(hn::ConvertTo(df, centred), hn::Set(df, mult)), Act::None, 0.0f,
                                 d.out_q.zero_point, -128, 127);
    hn::StoreU(hn::DemoteTo(d8, q), d8, y + c);
  }
  for (; c < C; ++c) {
    y[c] = requantize_scaled(static_cast<float>(acc[c] - offset) * mult, Act::None, 0.0f, d.out_q.zero_point,
                             -128, 127);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(PoolRows);
FACEATTR_HWY_EXPORT(GlobalAvgPoolBatch);

namespace {

class Pool final : public BoundKernel {
 public:
  explicit Pool(const Pool2dDesc& d) : BoundKernel(1) { r_.d = d; }
  void run(const ExecContext& ctx) override {
    parallel_for(ctx.pool, static_cast<size_t>(r_.d.batch) * r_.d.out_h, [this](size_t begin, size_t end) {
      FACEATTR_HWY_CALL(PoolRows)(r_, begin, end);
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    r_.x = inputs_[0];
    r_.y = output_;
    return true;
  }

 private:
  PoolRun r_;
};

class GlobalAvgPool final : public BoundKernel {
 public:
  explicit GlobalAvgPool(const GlobalAvgPoolDesc& d)
      : BoundKernel(1), acc_(d.dtype == DType::I8 ? static_cast<size_t>(d.batch) * d.channels : 0) {
    r_.d = d;
    r_.acc = acc_.data();
  }
  void run(const ExecContext& ctx) override {
    parallel_for(ctx.pool, static_cast<size_t>(r_.d.batch), [this](size_t begin, size_t end) {
      for (size_t b = begin; b < end; ++b) FACEATTR_HWY_CALL(GlobalAvgPoolBatch)(r_, b);
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    r_.x = inputs_[0];
    r_.y = output_;
    return true;
  }

 private:
  std::vector<int32_t> acc_;
  GapRun r_;
};

}  // namespace

KernelPtr make_pool2d(const Pool2dDesc& d) {
  if (!pool2d_desc_valid(d)) return nullptr;
  return std::make_unique<Pool>(d);
}

KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc& d) {
  if (!global_avg_pool_desc_valid(d)) return nullptr;
  return std::make_unique<GlobalAvgPool>(d);
}

}  // namespace faceattr::kernels::simd
#endif
