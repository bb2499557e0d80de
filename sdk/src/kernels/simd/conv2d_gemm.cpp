// The indirect-GEMM convolutions (conv2d_algorithms.h): fp32, int8 on int16
// inputs and int8 on u8 inputs, for every convolution that is neither
// depthwise nor taken by Winograd, and for fully connected layers (1x1). The
// indirection buffer (one input pointer per output pixel and tap) is built at
// bind; the GEMM loops are in conv2d_gemm_f32.cpp and conv2d_gemm_i8.cpp.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/kernel_util.h"
#include "kernels/simd/conv2d_algorithms.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::simd {
namespace {

constexpr size_t kTilesPerTask = 4;  // register tiles of rows per parallel task
constexpr size_t kGemvRows = 64;     // output rows per parallel task of a one-channel conv

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

// A zero-padded copy of the input: every tap of every window is in bounds.
struct PaddedInput {
  size_t h = 0, w = 0, c = 0;                                     // padded rows, columns, channels
  size_t row_begin = 0, row_end = 0, col_begin = 0, col_end = 0;  // input rows/cols copied
  explicit PaddedInput(const Conv2dDesc& d)
      : h(static_cast<size_t>((d.out_h - 1) * d.stride_h + d.kernel_h)),
        w(static_cast<size_t>((d.out_w - 1) * d.stride_w + d.kernel_w)),
        c(static_cast<size_t>(d.in_c)) {
    // Input row iy lands on padded row iy + pad_top; rows past the last window are never read.
    row_begin = 0;
    row_end = std::min(static_cast<size_t>(d.in_h), h - std::min(h, static_cast<size_t>(d.pad_top)));
    col_end = std::min(static_cast<size_t>(d.in_w), w - std::min(w, static_cast<size_t>(d.pad_left)));
  }
  size_t elements(int batch) const { return static_cast<size_t>(batch) * h * w * c; }

  // Copies the input rows of int8 `x` into the interior of the padded buffer `buf`,
  // in parallel, each row through convert(src, dst, elements); about `task_elems`
  // input elements per task. The border is left as it is.
  template <class T, class Convert>
  void fill(ThreadPool* pool, const Conv2dDesc& d, const int8_t* x, T* buf, size_t task_elems,
            Convert&& convert) const {
    const size_t in_rows = row_end - row_begin;
    const size_t rows = static_cast<size_t>(d.batch) * in_rows;
    const size_t row_len = col_end * c;
    const size_t rows_per_task = std::max<size_t>(1, task_elems / std::max<size_t>(1, row_len));
    parallel_for(pool, ceil_div(rows, rows_per_task), [&](size_t begin, size_t end) {
      for (size_t r = begin * rows_per_task; r < std::min(rows, end * rows_per_task); ++r) {
        const size_t b = r / in_rows, iy = row_begin + r % in_rows;
        const int8_t* src = x + (b * static_cast<size_t>(d.in_h) + iy) * static_cast<size_t>(d.in_w) * c;
        T* dst =
            buf + ((b * h + iy + static_cast<size_t>(d.pad_top)) * w + static_cast<size_t>(d.pad_left)) * c;
        convert(src, dst, row_len);
      }
    });
  }
};

// ind[m * taps + t] for a padded input: tap t = ky (merge_kx) or ky * kernel_w + kx.
template <class T>
void build_padded_indirection(const Conv2dDesc& d, const PaddedInput& pi, bool merge_kx, const T* x,
                              std::vector<const T*>* ind) {
  const int kw = merge_kx ? 1 : d.kernel_w;
  ind->resize(static_cast<size_t>(d.batch) * d.out_h * d.out_w * d.kernel_h * kw);
  size_t i = 0;
  for (int b = 0; b < d.batch; ++b) {
    for (int oy = 0; oy < d.out_h; ++oy) {
      for (int ox = 0; ox < d.out_w; ++ox) {
        for (int ky = 0; ky < d.kernel_h; ++ky) {
          for (int kx = 0; kx < kw; ++kx) {
            const size_t py = static_cast<size_t>(oy * d.stride_h + ky);
            const size_t px = static_cast<size_t>(ox * d.stride_w + kx);
            (*ind)[i++] = x + ((static_cast<size_t>(b) * pi.h + py) * pi.w + px) * pi.c;
          }
        }
      }
    }
  }
}

size_t out_channels_per_group(const Conv2dDesc& d) { return static_cast<size_t>(d.out_c / d.groups); }

// Shared geometry of the GEMM path. With merge_kx (a dense conv reading a
// zero-padded input, so every window row is in bounds), the kernel_w taps of
// one window row are contiguous in memory (kernel_w * in_c values, whatever
// the stride) and become one tap of kernel_w * in_c channels: fewer, longer
// inner loops, which matters most for the first layer (3 channels). The model
// weights [oc][kh][kw][ic] already have that layout.

struct GemmShape {
  size_t m = 0, taps = 1, icg = 0, ocg = 0, groups = 1, vectors = 2, nr = 0, panels = 0, rows = 1;
  bool narrow = false;
  GemmShape(const Conv2dDesc& d, const Panels& pn, bool merge_kx = false)
      : m(static_cast<size_t>(d.batch) * d.out_h * d.out_w),
        taps(static_cast<size_t>(d.kernel_h) * (merge_kx ? 1 : d.kernel_w)),
        icg(static_cast<size_t>(d.in_c / d.groups) * (merge_kx ? d.kernel_w : 1)),
        ocg(out_channels_per_group(d)),
        groups(static_cast<size_t>(d.groups)),
        vectors(pn.vectors),
        nr(pn.width),
        panels(ceil_div(ocg, pn.width)),
        rows(pn.rows),
        narrow(pn.narrow) {}
  size_t row_block() const { return rows * kTilesPerTask; }
  size_t tasks() const { return groups * panels * ceil_div(m, row_block()); }
  // Task order: panels fastest, then row blocks, then groups. The thread pool
  // hands each thread a contiguous range of tasks, so a thread owns whole
  // output rows (no two threads write one cache line of int8 outputs, except
  // at the range edges) and reuses its input rows across the panels.
  void decode(size_t task, size_t* g, size_t* panel, size_t* m0, size_t* m1) const {
    const size_t blocks = ceil_div(m, row_block());
    *panel = task % panels;
    const size_t gm = task / panels;
    const size_t mb = gm % blocks;
    *g = gm / blocks;
    *m0 = mb * row_block();
    *m1 = std::min(m, *m0 + row_block());
  }
};

// gemm(group, m_begin, m_end, panel) for each task of s, over the pool.
template <class Gemm>
void run_gemm_tasks(ThreadPool* pool, const GemmShape& s, Gemm&& gemm) {
  parallel_for(pool, s.tasks(), [&](size_t begin, size_t end) {
    for (size_t task = begin; task < end; ++task) {
      size_t g, panel, m0, m1;
      s.decode(task, &g, &panel, &m0, &m1);
      gemm(g, m0, m1, panel);
    }
  });
}

// gemv(m_begin, m_end) over the m output rows of a one-channel conv, kGemvRows per task.
template <class Gemv>
void run_gemv_rows(ThreadPool* pool, size_t m, Gemv&& gemv) {
  parallel_for(pool, ceil_div(m, kGemvRows),
               [&](size_t begin, size_t end) { gemv(begin * kGemvRows, std::min(m, end * kGemvRows)); });
}

// The fields that GemmI8Params and GemmU8Params share: the layer's tap and
// channel counts, its int8 output y and the requantisation into it.
template <class P>
void set_int8_gemm_output(const Conv2dDesc& d, const GemmShape& s, int32_t qmin, int32_t qmax, int8_t* y,
                          P* p) {
  p->taps = s.taps;
  p->kc = s.icg;
  p->y = y;
  p->y_stride = static_cast<size_t>(d.out_c);
  p->n = s.ocg;
  p->act = d.act;
  p->alpha = d.leaky_alpha;
  p->zp = d.out_q.zero_point;
  p->qmin = qmin;
  p->qmax = qmax;
  p->vectors = s.vectors;
}

// fp32 direct convolution on the indirect GEMM. A dense conv with few input
// channels (the first layer: 3) merges the taps of a window row (GemmShape):
// 3 -> 9 channels per inner loop. A window row inside the input is read in
// place; one that overlaps the left/right padding reads a patch (its kernel_w
// x in_c values, zero outside the input) copied each run, and one in the
// top/bottom padding a zero patch: no copy of the whole input.
class GemmConvF32 final : public BoundKernel {
 public:
  static bool merges(const Conv2dDesc& d) { return d.groups == 1 && d.in_c <= 4 && d.kernel_w > 1; }

  GemmConvF32(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        merge_(merges(d)),
        s_(d, f32_panels(out_channels_per_group(d)), merge_),
        zero_(d.in_c, 0.0f) {
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
    // One output channel: its weights [taps][icg] as they are, for gemv_f32.
    if (s_.groups == 1 && s_.ocg == 1) wvec_.assign(wf, wf + s_.taps * s_.icg);
    act_frange(d.act, &lo_, &hi_);
  }

  void run(const ExecContext& ctx) override {
    // Patches of the window rows that overlap the left/right padding (few: one
    // or two output columns per input row), zero outside the input.
    const size_t c = static_cast<size_t>(d_.in_c), kw = static_cast<size_t>(d_.kernel_w);
    for (size_t i = 0; i < patches_.size(); ++i) {
      const Patch& pt = patches_[i];
      float* dst = patch_buf_.data() + i * kw * c;
      for (size_t kx = 0; kx < kw; ++kx) {
        const int ix = pt.ix0 + static_cast<int>(kx);
        if (ix < 0 || ix >= d_.in_w) continue;  // stays zero
        std::memcpy(dst + kx * c, in<float>(0) + (pt.row * d_.in_w + static_cast<size_t>(ix)) * c,
                    c * sizeof(float));
      }
    }
    if (!wvec_.empty()) {
      run_gemv_rows(ctx.pool, s_.m,
                    [this](size_t m0, size_t m1) { gemv_f32(params_[0], wvec_.data(), m0, m1); });
      return;
    }
    run_gemm_tasks(ctx.pool, s_, [this](size_t g, size_t m0, size_t m1, size_t panel) {
      gemm_f32(params_[g], m0, m1, panel, panel + 1);
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    if (merge_) {
      build_merged_indirection();
    } else {
      build_indirection(d_, in<float>(0), zero_.data(), &ind_);
    }
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
      p.vectors = s_.vectors;
      p.narrow = s_.narrow;
    }
    return true;
  }

 private:
  struct Patch {
    size_t row;  // batch * in_h + iy
    int ix0;     // first input column of the window row
  };

  // ind_[m * kernel_h + ky]: the window row ky of output pixel m, in place or a patch.
  void build_merged_indirection() {
    const size_t c = static_cast<size_t>(d_.in_c), kw = static_cast<size_t>(d_.kernel_w);
    zero_.assign(kw * c, 0.0f);
    patches_.clear();
    ind_.clear();
    ind_.reserve(static_cast<size_t>(d_.batch) * d_.out_h * d_.out_w * d_.kernel_h);
    std::vector<size_t> patch_of;  // ind_ slots that point at patch i (filled in below)
    for (int b = 0; b < d_.batch; ++b) {
      for (int oy = 0; oy < d_.out_h; ++oy) {
        for (int ox = 0; ox < d_.out_w; ++ox) {
          for (int ky = 0; ky < d_.kernel_h; ++ky) {
            const int iy = oy * d_.stride_h - d_.pad_top + ky, ix0 = ox * d_.stride_w - d_.pad_left;
            if (iy < 0 || iy >= d_.in_h) {
              ind_.push_back(zero_.data());
              continue;
            }
            const size_t row = static_cast<size_t>(b) * d_.in_h + static_cast<size_t>(iy);
            if (ix0 >= 0 && ix0 + d_.kernel_w <= d_.in_w) {
              ind_.push_back(in<float>(0) + (row * d_.in_w + static_cast<size_t>(ix0)) * c);
              continue;
            }
            patches_.push_back({row, ix0});
            patch_of.push_back(ind_.size());
            ind_.push_back(nullptr);
          }
        }
      }
    }
    patch_buf_.assign(patches_.size() * kw * c, 0.0f);
    for (size_t i = 0; i < patch_of.size(); ++i) ind_[patch_of[i]] = patch_buf_.data() + i * kw * c;
  }

  Conv2dDesc d_;
  bool merge_;
  GemmShape s_;
  std::vector<float> packed_, bias_, zero_, patch_buf_, wvec_;
  std::vector<Patch> patches_;
  std::vector<const float*> ind_;
  std::vector<GemmF32Params> params_;
  float lo_ = 0, hi_ = 0;
};

// int8: the input is widened to int16 (x - zero point) once per run anyway, so
// it is widened into a zero-padded buffer (padding = the zero point, as in the
// reference) and dense convs merge the taps of a window row (GemmShape).
class GemmConvI8 final : public BoundKernel {
 public:
  GemmConvI8(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        merge_(d.groups == 1),
        s_(d, i8_panels(out_channels_per_group(d)), merge_),
        pi_(d) {
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
    floor_saturate_ =
        int8_floor_saturate(d.act, d.out_q.zero_point, qmin_, qmax_,
                            int8_max_scaled(wq, bq, mult.data(), s_.groups * s_.ocg, s_.taps * s_.icg));
    // One output channel: its weights [taps][icg rounded up to even] as int16, for gemv_i8.
    if (s_.groups == 1 && s_.ocg == 1) {
      const size_t kc2 = 2 * kp;
      wvec_.assign(s_.taps * kc2, 0);
      for (size_t t = 0; t < s_.taps; ++t)
        for (size_t c = 0; c < s_.icg; ++c) wvec_[t * kc2 + c] = wq[t * s_.icg + c];
    }
  }

  void run(const ExecContext& ctx) override {
    // Widen the input rows into the interior of the padded buffer (its border stays zero).
    const int32_t zp = d_.in_q.zero_point;
    pi_.fill(ctx.pool, d_, in<int8_t>(0), widened_.data(), 8192,
             [zp](const int8_t* src, int16_t* dst, size_t n) { widen_sub_i8(src, zp, dst, 0, n); });
    if (!wvec_.empty()) {
      run_gemv_rows(ctx.pool, s_.m,
                    [this](size_t m0, size_t m1) { gemv_i8(params_[0], wvec_.data(), m0, m1); });
      return;
    }
    run_gemm_tasks(ctx.pool, s_, [this](size_t g, size_t m0, size_t m1, size_t panel) {
      gemm_i8(params_[g], m0, m1, panel, panel + 1);
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    // Padded int16 copy of the input (x - zero point) plus 2 readable slots for odd channel counts.
    widened_.assign(pi_.elements(d_.batch) + 2, 0);
    build_padded_indirection<int16_t>(d_, pi_, merge_, widened_.data(), &ind_);
    params_.assign(s_.groups, GemmI8Params{});
    const size_t kp = (s_.icg + 1) / 2;
    for (size_t g = 0; g < s_.groups; ++g) {
      GemmI8Params& p = params_[g];
      set_int8_gemm_output(d_, s_, qmin_, qmax_, out<int8_t>(), &p);
      p.ind = ind_.data();
      p.x_offset = g * s_.icg;  // groups > 1 never merge, so icg is the group's channel count
      p.packed = packed_.data() + g * s_.panels * s_.taps * kp * s_.nr * 2;
      p.bias = bias_.data() + g * s_.panels * s_.nr;
      p.mult = mult_.data() + g * s_.panels * s_.nr;
      p.y_offset = g * s_.ocg;
      p.floor_saturate = floor_saturate_;
    }
    return true;
  }

 private:
  Conv2dDesc d_;
  bool merge_;
  GemmShape s_;
  PaddedInput pi_;
  bool floor_saturate_ = false;
  std::vector<int16_t> packed_, widened_, wvec_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<const int16_t*> ind_;
  std::vector<GemmI8Params> params_;
  int32_t qmin_ = -128, qmax_ = 127;
};

// int8 dense conv whose weights all lie in [-64, 64] (e.g. a 7-bit export), on
// AVX2 and later: the input flipped to u8 (x + 128) into a padded buffer whose border is
// zp + 128 (x - zp = 0, as the reference pads), K grouped by 4 for pmaddubsw (vpdpbusd),
// exact (gemm_u8); -(zp + 128) * sum of the channel's weights is in the bias.
class GemmConvU8 final : public BoundKernel {
 public:
  static Panels panels(size_t n) {
    const size_t w2 = 2 * kGemmU8Lanes, w3 = 3 * kGemmU8Lanes;
    const size_t v = gemm_panel_vectors(n, w2, w3);
    return {v, v * kGemmU8Lanes, gemm_u8_rows(v)};
  }

  GemmConvU8(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1), d_(d), s_(d, panels(static_cast<size_t>(d.out_c)), true), pi_(d) {
    const size_t kq = (s_.icg + 3) / 4;
    const size_t panel_size = s_.taps * kq * s_.nr * 4;
    packed_.assign(s_.panels * panel_size, 0);
    bias_.assign(s_.panels * s_.nr, 0);
    mult_.assign(s_.panels * s_.nr, 0.0f);
    const auto* wq = static_cast<const int8_t*>(w.weights);
    const auto* bq = static_cast<const int32_t*>(w.bias);
    const std::vector<float> mult = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
    const int64_t u_zp = static_cast<int64_t>(d.in_q.zero_point) + 128;
    for (size_t oc = 0; oc < s_.ocg; ++oc) {
      const size_t panel = oc / s_.nr, j = oc % s_.nr;
      int64_t sum_w = 0;
      for (size_t t = 0; t < s_.taps; ++t) {
        for (size_t c = 0; c < s_.icg; ++c) {
          const int8_t v = wq[(oc * s_.taps + t) * s_.icg + c];
          packed_[panel * panel_size + ((t * kq + c / 4) * s_.nr + j) * 4 + c % 4] = v;
          sum_w += v;
        }
      }
      // Modulo 2^32 like the kernel's int32 sums: the total is the reference's int32 sum.
      const int64_t b = (bq ? bq[oc] : 0) - u_zp * sum_w;
      bias_[panel * s_.nr + j] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(b)));
      mult_[panel * s_.nr + j] = mult[oc];
      // |sum| <= |b| + 255 * sum |w| (u8 inputs), scaled as the epilogue does.
      int64_t sum_abs_w = 0;
      for (size_t k = 0; k < s_.taps * s_.icg; ++k)
        sum_abs_w += std::abs(static_cast<int>(wq[oc * s_.taps * s_.icg + k]));
      max_scaled_ =
          std::max(max_scaled_, (std::fabs(static_cast<double>(b)) + 255.0 * static_cast<double>(sum_abs_w)) *
                                    std::fabs(static_cast<double>(mult[oc])));
    }
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext& ctx) override {
    pi_.fill(ctx.pool, d_, in<int8_t>(0), flipped_.data(), 16384,
             [](const int8_t* src, uint8_t* dst, size_t n) { flip_i8_to_u8(src, dst, n); });
    run_gemm_tasks(ctx.pool, s_, [this](size_t, size_t m0, size_t m1, size_t panel) {
      gemm_u8(p_, m0, m1, panel, panel + 1);
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    // Padded u8 copy of the input, border zp + 128, plus 4 readable bytes (a tap
    // reads its channels rounded up to 4).
    flipped_.assign(pi_.elements(d_.batch) + 4, static_cast<uint8_t>(d_.in_q.zero_point + 128));
    build_padded_indirection<uint8_t>(d_, pi_, true, flipped_.data(), &ind_);
    p_ = GemmU8Params{};
    set_int8_gemm_output(d_, s_, qmin_, qmax_, out<int8_t>(), &p_);
    p_.ind = ind_.data();
    p_.packed = packed_.data();
    p_.bias = bias_.data();
    p_.mult = mult_.data();
    p_.floor_saturate = int8_floor_saturate(d_.act, d_.out_q.zero_point, qmin_, qmax_, max_scaled_);
    return true;
  }

 private:
  Conv2dDesc d_;
  GemmShape s_;
  PaddedInput pi_;
  double max_scaled_ = 0.0;  // the largest |sum x mult| the weights allow
  std::vector<int8_t> packed_;
  std::vector<uint8_t> flipped_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<const uint8_t*> ind_;
  GemmU8Params p_;
  int32_t qmin_ = -128, qmax_ = 127;
};

}  // namespace

KernelPtr make_conv2d_gemm_f32(const Conv2dDesc& d, const ConvWeights& w) {
  return std::make_unique<GemmConvF32>(d, w);
}
KernelPtr make_conv2d_gemm_i8(const Conv2dDesc& d, const ConvWeights& w) {
  return std::make_unique<GemmConvI8>(d, w);
}
KernelPtr make_conv2d_gemm_u8(const Conv2dDesc& d, const ConvWeights& w) {
  return std::make_unique<GemmConvU8>(d, w);
}

}  // namespace faceattr::kernels::simd
