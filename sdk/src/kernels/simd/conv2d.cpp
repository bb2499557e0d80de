// SIMD convolution and fully connected kernel objects: weights are packed at
// creation for the panel width of the Highway target chosen at run time, the
// indirection buffer (one input pointer per output pixel and tap) is built
// at bind, and run() splits the work over ctx.pool.
//  - depthwise (groups == in_c == out_c): channel-vectorised direct loop;
//  - everything else (dense, grouped, strided, padded, 1x1, FC): indirect GEMM.
#include <algorithm>
#include <cstring>

#include "kernels/kernel_util.h"
#include "kernels/simd/simd_kernels.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::simd {
namespace {

constexpr size_t kTilesPerTask = 4;  // register tiles of rows per parallel task
constexpr int kMaxExactDepthwiseTaps = 512;

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// ind[m * taps + t] = input pixel of tap t for output row m, or `zero`.
template <class T>
void build_indirection(const Conv2dDesc& d, const T* x, const T* zero, std::vector<const T*>* ind) {
  const size_t taps = static_cast<size_t>(d.kernel_h) * d.kernel_w;
  ind->resize(static_cast<size_t>(d.batch) * d.out_h * d.out_w * taps);
  size_t i = 0;
  for (int b = 0; b < d.batch; ++b) {
    for (int oy = 0; oy < d.out_h; ++oy) {
      for (int ox = 0; ox < d.out_w; ++ox) {
        for (int ky = 0; ky < d.kernel_h; ++ky) {
          for (int kx = 0; kx < d.kernel_w; ++kx) {
            const int iy = oy * d.stride_h - d.pad_top + ky, ix = ox * d.stride_w - d.pad_left + kx;
            const bool inside = iy >= 0 && iy < d.in_h && ix >= 0 && ix < d.in_w;
            (*ind)[i++] = inside ? x + ((static_cast<size_t>(b) * d.in_h + iy) * d.in_w + ix) * d.in_c : zero;
          }
        }
      }
    }
  }
}

// Shared geometry of the GEMM path.
struct GemmShape {
  size_t m = 0, taps = 1, icg = 0, ocg = 0, groups = 1, nr = 0, panels = 0, rows = 1;
  GemmShape(const Conv2dDesc& d, size_t panel_width, size_t tile_rows)
      : m(static_cast<size_t>(d.batch) * d.out_h * d.out_w),
        taps(static_cast<size_t>(d.kernel_h) * d.kernel_w),
        icg(static_cast<size_t>(d.in_c / d.groups)),
        ocg(static_cast<size_t>(d.out_c / d.groups)),
        groups(static_cast<size_t>(d.groups)),
        nr(panel_width),
        panels(ceil_div(ocg, panel_width)),
        rows(tile_rows) {}
  size_t row_block() const { return rows * kTilesPerTask; }
  size_t tasks() const { return groups * panels * ceil_div(m, row_block()); }
  // Task order: row blocks fastest, so consecutive tasks reuse one weight panel.
  void decode(size_t task, size_t* g, size_t* panel, size_t* m0, size_t* m1) const {
    const size_t blocks = ceil_div(m, row_block());
    const size_t mb = task % blocks;
    const size_t gp = task / blocks;
    *g = gp / panels;
    *panel = gp % panels;
    *m0 = mb * row_block();
    *m1 = std::min(m, *m0 + row_block());
  }
};

class GemmConvF32 final : public BoundKernel {
 public:
  GemmConvF32(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1), d_(d), s_(d, gemm_f32_panel_width(), gemm_f32_rows()), zero_(d.in_c, 0.0f) {
    const size_t panel_size = s_.taps * s_.icg * s_.nr;
    packed_.assign(s_.groups * s_.panels * panel_size, 0.0f);
    bias_.assign(s_.groups * s_.panels * s_.nr, 0.0f);
    const auto* wf = static_cast<const float*>(w.weights);
    const auto* bf = static_cast<const float*>(w.bias);
    for (size_t g = 0; g < s_.groups; ++g) {
      for (size_t n = 0; n < s_.ocg; ++n) {
        const size_t oc = g * s_.ocg + n, panel = g * s_.panels + n / s_.nr, j = n % s_.nr;
        bias_[panel * s_.nr + j] = bf ? bf[oc] : 0.0f;
        for (size_t t = 0; t < s_.taps; ++t) {
          for (size_t c = 0; c < s_.icg; ++c) {
            packed_[panel * panel_size + (t * s_.icg + c) * s_.nr + j] = wf[(oc * s_.taps + t) * s_.icg + c];
          }
        }
      }
    }
    act_frange(d.act, &lo_, &hi_);
  }

  void run(const ExecContext& ctx) override {
    parallel_for(ctx.pool, s_.tasks(), [this](size_t begin, size_t end) {
      for (size_t task = begin; task < end; ++task) {
        size_t g, panel, m0, m1;
        s_.decode(task, &g, &panel, &m0, &m1);
        gemm_f32(params_[g], m0, m1, panel, panel + 1);
      }
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    build_indirection(d_, in<float>(0), zero_.data(), &ind_);
    params_.assign(s_.groups, GemmF32Params{});
    for (size_t g = 0; g < s_.groups; ++g) {
      GemmF32Params& p = params_[g];
      p.ind = ind_.data();
      p.taps = s_.taps;
      p.kc = s_.icg;
      p.x_offset = g * s_.icg;
      p.packed = packed_.data() + g * s_.panels * s_.taps * s_.icg * s_.nr;
      p.bias = bias_.data() + g * s_.panels * s_.nr;
      p.y = out<float>();
      p.y_stride = static_cast<size_t>(d_.out_c);
      p.y_offset = g * s_.ocg;
      p.n = s_.ocg;
      p.act = d_.act;
      p.alpha = d_.leaky_alpha;
      p.lo = lo_;
      p.hi = hi_;
    }
    return true;
  }

 private:
  Conv2dDesc d_;
  GemmShape s_;
  std::vector<float> packed_, bias_, zero_;
  std::vector<const float*> ind_;
  std::vector<GemmF32Params> params_;
  float lo_ = 0, hi_ = 0;
};

class GemmConvI8 final : public BoundKernel {
 public:
  GemmConvI8(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1), d_(d), s_(d, gemm_i8_panel_width(), gemm_i8_rows()), zero_(d.in_c + 2, 0) {
    const size_t kp = (s_.icg + 1) / 2;
    const size_t panel_size = s_.taps * kp * s_.nr * 2;
    packed_.assign(s_.groups * s_.panels * panel_size, 0);
    bias_.assign(s_.groups * s_.panels * s_.nr, 0);
    mult_.assign(s_.groups * s_.panels * s_.nr, 0.0f);
    const auto* wq = static_cast<const int8_t*>(w.weights);
    const auto* bq = static_cast<const int32_t*>(w.bias);
    const std::vector<float> mult = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
    for (size_t g = 0; g < s_.groups; ++g) {
      for (size_t n = 0; n < s_.ocg; ++n) {
        const size_t oc = g * s_.ocg + n, panel = g * s_.panels + n / s_.nr, j = n % s_.nr;
        bias_[panel * s_.nr + j] = bq ? bq[oc] : 0;
        mult_[panel * s_.nr + j] = mult[oc];
        for (size_t t = 0; t < s_.taps; ++t) {
          for (size_t c = 0; c < s_.icg; ++c) {
            // Pair c/2 of tap t; output j's two int16 sit at 2j (even c) and 2j+1 (odd c).
            const size_t at = panel * panel_size + (t * kp + c / 2) * s_.nr * 2 + 2 * j + (c % 2);
            packed_[at] = wq[(oc * s_.taps + t) * s_.icg + c];
          }
        }
      }
    }
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext& ctx) override {
    const size_t n_in = widened_.size() - 2;
    constexpr size_t kChunk = 16384;
    parallel_for(ctx.pool, ceil_div(n_in, kChunk), [this, n_in](size_t begin, size_t end) {
      widen_sub_i8(in<int8_t>(0), d_.in_q.zero_point, widened_.data(), begin * kChunk,
                   std::min(n_in, end * kChunk));
    });
    parallel_for(ctx.pool, s_.tasks(), [this](size_t begin, size_t end) {
      for (size_t task = begin; task < end; ++task) {
        size_t g, panel, m0, m1;
        s_.decode(task, &g, &panel, &m0, &m1);
        gemm_i8(params_[g], m0, m1, panel, panel + 1);
      }
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    // int16 copy of the input (x - zero point) plus 2 readable slots for odd channel counts.
    widened_.assign(static_cast<size_t>(d_.batch) * d_.in_h * d_.in_w * d_.in_c + 2, 0);
    build_indirection<int16_t>(d_, widened_.data(), zero_.data(), &ind_);
    params_.assign(s_.groups, GemmI8Params{});
    const size_t kp = (s_.icg + 1) / 2;
    for (size_t g = 0; g < s_.groups; ++g) {
      GemmI8Params& p = params_[g];
      p.ind = ind_.data();
      p.taps = s_.taps;
      p.kc = s_.icg;
      p.x_offset = g * s_.icg;
      p.packed = packed_.data() + g * s_.panels * s_.taps * kp * s_.nr * 2;
      p.bias = bias_.data() + g * s_.panels * s_.nr;
      p.mult = mult_.data() + g * s_.panels * s_.nr;
      p.y = out<int8_t>();
      p.y_stride = static_cast<size_t>(d_.out_c);
      p.y_offset = g * s_.ocg;
      p.n = s_.ocg;
      p.act = d_.act;
      p.alpha = d_.leaky_alpha;
      p.zp = d_.out_q.zero_point;
      p.qmin = qmin_;
      p.qmax = qmax_;
    }
    return true;
  }

 private:
  Conv2dDesc d_;
  GemmShape s_;
  std::vector<int16_t> packed_, zero_, widened_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<const int16_t*> ind_;
  std::vector<GemmI8Params> params_;
  int32_t qmin_ = -128, qmax_ = 127;
};

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

bool is_depthwise(const Conv2dDesc& d) { return d.groups == d.in_c && d.out_c == d.in_c; }

}  // namespace

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w)) return nullptr;
  if (is_depthwise(d) && (d.dtype == DType::F32 || d.kernel_h * d.kernel_w <= kMaxExactDepthwiseTaps)) {
    return std::make_unique<DepthwiseConv>(d, w);
  }
  if (d.dtype == DType::F32) return std::make_unique<GemmConvF32>(d, w);
  return std::make_unique<GemmConvI8>(d, w);
}

KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w) {
  if (!fully_connected_desc_valid(d, w)) return nullptr;
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
  if (d.dtype == DType::F32) return std::make_unique<GemmConvF32>(c, w);
  return std::make_unique<GemmConvI8>(c, w);
}

}  // namespace faceattr::kernels::simd
