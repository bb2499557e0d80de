// The Winograd convolutions (conv2d_algorithms.h), for 3x3 stride-1 dense
// layers: the weights transformed and packed at creation, then per run the
// input transform, the E GEMMs (on gemm_f32 / gemm_i8) and the output
// transform (conv2d_winograd_transform.cpp), split over the thread pool.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/kernel_util.h"
#include "kernels/simd/conv2d_algorithms.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::simd {
namespace {

// Winograd F(2x2, 3x3), both dtypes: the tile geometry of a conv, and the
// three phases of a run (input transform, the 16 GEMMs by panel and row block,
// output transform), each split over the thread pool.
template <class WinogradParams>
void set_winograd_geometry(const Conv2dDesc& d, WinogradParams* wp) {
  wp->in_h = d.in_h;
  wp->in_w = d.in_w;
  wp->in_c = d.in_c;
  wp->pad_top = d.pad_top;
  wp->pad_left = d.pad_left;
  wp->out_h = d.out_h;
  wp->out_w = d.out_w;
  wp->out_c = d.out_c;
  wp->tiles_h = (d.out_h + 1) / 2;
  wp->tiles_w = (d.out_w + 1) / 2;
  wp->tiles = static_cast<size_t>(d.batch) * wp->tiles_h * wp->tiles_w;
  wp->act = d.act;
  wp->alpha = d.leaky_alpha;
}

// How a Winograd layer's run is split into tasks (plan_winograd): a task is
// one block of tiles x one group of output-channel panels; it runs the E GEMMs
// of its panels and the output transform of its channels, so the GEMM results
// stay in cache and no barrier separates those phases. With one group it runs
// its block's input transform first; with several, the input transforms run
// before, in a parallel_for of their own. Too few tiles for about 4 tasks per
// thread: equal blocks, a whole number per thread. No more tiles than one
// register tile has rows: by element (by_element), the E GEMMs split over the
// threads, each streaming only its elements' weights. Both measured faster
// than splitting by panel groups at 2 threads (bench/RESULTS.md, "Why the kernels are what they are").
struct WinogradTasks {
  size_t block_tiles = 1, blocks = 1, groups = 1, panels_per_group = 1;
  size_t input_splits = 1;  // with groups > 1 or by_element: parallel input-transform tasks per block
  bool by_element = false;
  size_t count() const { return blocks * groups; }
};

WinogradTasks plan_winograd(size_t tiles, size_t rows, size_t panels, int threads) {
  WinogradTasks w;
  // 1 thread: one task of all tiles (the phases in sequence, as unfused).
  // More threads: about 4 tasks per thread, like the pool's chunking, for
  // load balance, of 1-2 register tiles of rows each.
  if (threads <= 1) {
    w.block_tiles = tiles;
    w.panels_per_group = panels;
    return w;
  }
  const size_t row_blocks = ceil_div(tiles, rows);
  const size_t want = 4 * static_cast<size_t>(threads);
  const size_t per_block = std::max<size_t>(1, std::min<size_t>(2, row_blocks / want));
  w.block_tiles = std::min(tiles, per_block * rows);
  w.blocks = ceil_div(tiles, w.block_tiles);
  w.panels_per_group = panels;
  if (row_blocks == 1) {
    w.by_element = true;
    w.input_splits = std::min(tiles, want);
    return w;
  }
  if (w.blocks < want) {  // equal blocks, a whole number per thread, if at least half a register tile
    const size_t t = static_cast<size_t>(threads), nb = ceil_div(row_blocks, t) * t, bt = ceil_div(tiles, nb);
    if (2 * bt >= rows) {
      w.block_tiles = bt;
      w.blocks = ceil_div(tiles, bt);
      return w;
    }
  }
  if (w.blocks < want) w.panels_per_group = ceil_div(panels, std::min(panels, ceil_div(want, w.blocks)));
  w.groups = ceil_div(panels, w.panels_per_group);
  if (w.groups > 1) w.input_splits = std::min(w.block_tiles, ceil_div(want, w.blocks));
  return w;
}

// Per-block / per-task scratch and parameters of a Winograd layer, both
// dtypes: TV / TM are the transformed input / GEMM result element types, WP
// the transform parameters, GP the GEMM parameters.
template <size_t E, class TV, class TM, class WP, class GP>
struct WinogradRun {  // E: transformed elements per tile (16: F(2x2, 3x3), 36: F(4x4, 3x3))
  WinogradTasks plan;
  size_t panels = 0, nr = 0;
  std::vector<std::vector<TV>> v;           // [block][E][block_tiles][in_c] (+2 slack)
  std::vector<std::vector<TM>> m;           // [task][E][block_tiles][out_c]
  std::vector<std::vector<const TV*>> ind;  // [block]
  std::vector<WP> wp;                       // per task: its tiles, buffers and channels
  std::vector<std::array<GP, E>> gp;        // per task and GEMM

  // base / gemm: the layer's transform parameters and its E GEMMs' common
  // ones (packed weights per GEMM e, bias, n, ...); set_out(gp, m) points a
  // GEMM's output at m.
  template <class SetOut>
  void bind(const WP& base, const GP (&gemm)[E], size_t rows, size_t n_panels, size_t panel_width,
            int threads, SetOut&& set_out) {
    panels = n_panels;
    nr = panel_width;
    plan = plan_winograd(base.tiles, rows, panels, threads);
    const size_t tasks = plan.count(), bt = plan.block_tiles;
    const size_t C = static_cast<size_t>(base.in_c), K = static_cast<size_t>(base.out_c);
    v.assign(plan.blocks, {});
    ind.assign(plan.blocks, {});
    for (size_t block = 0; block < plan.blocks; ++block) {
      v[block].assign(E * bt * C + 2, TV{0});  // + 2: an odd int8 channel count reads one past
      ind[block].resize(E * bt);
      for (size_t i = 0; i < ind[block].size(); ++i) ind[block][i] = v[block].data() + i * C;
    }
    m.assign(tasks, {});
    wp.assign(tasks, base);
    gp.assign(tasks, {});
    for (size_t task = 0; task < tasks; ++task) {
      const size_t block = task / plan.groups, group = task % plan.groups;
      m[task].assign(E * bt * K, TM{0});
      WP& w = wp[task];
      w.v = v[block].data();
      w.m = m[task].data();
      w.buf_tile0 = block * bt;
      w.buf_tiles = bt;
      w.k_begin = group * plan.panels_per_group * nr;
      w.k_end = std::min(K, (group + 1) * plan.panels_per_group * nr);
      for (size_t e = 0; e < E; ++e) {
        gp[task][e] = gemm[e];
        gp[task][e].ind = ind[block].data() + e * bt;
        set_out(&gp[task][e], m[task].data() + e * bt * K);
      }
    }
  }

  template <class Input, class Gemm, class Output>
  void run(ThreadPool* pool, Input&& input, Gemm&& gemm, Output&& output) {
    auto tiles_of = [](const WP& w, size_t* t0, size_t* t1) {
      *t0 = w.buf_tile0;
      *t1 = std::min(w.tiles, w.buf_tile0 + w.buf_tiles);
    };
    if (plan.by_element) {
      const WP& w = wp[0];
      size_t t0, t1;
      tiles_of(w, &t0, &t1);
      const size_t splits = plan.input_splits, part = ceil_div(t1 - t0, splits);
      parallel_for(pool, splits, [&](size_t begin, size_t end) {
        const size_t a = t0 + begin * part, b = std::min(t1, t0 + end * part);
        if (a < b) input(w, a, b);
      });
      parallel_for(pool, E, [&](size_t begin, size_t end) {
        for (size_t e = begin; e < end; ++e) gemm(gp[0][e], t1 - t0, 0, panels);
      });
      parallel_for(pool, splits, [&](size_t begin, size_t end) {
        const size_t a = t0 + begin * part, b = std::min(t1, t0 + end * part);
        if (a < b) output(w, a, b);
      });
      return;
    }
    const bool shared_input = plan.groups > 1;
    if (shared_input) {  // each block's tiles in input_splits parts
      const size_t splits = plan.input_splits;
      parallel_for(pool, plan.blocks * splits, [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
          const WP& w = wp[i / splits * plan.groups];
          size_t t0, t1;
          tiles_of(w, &t0, &t1);
          const size_t part = ceil_div(t1 - t0, splits), a = t0 + i % splits * part;
          if (a < t1) input(w, a, std::min(t1, a + part));
        }
      });
    }
    parallel_for(pool, plan.count(), [&](size_t begin, size_t end) {
      for (size_t task = begin; task < end; ++task) {
        const WP& w = wp[task];
        size_t t0, t1;
        tiles_of(w, &t0, &t1);
        const size_t group = task % plan.groups;
        const size_t p0 = group * plan.panels_per_group, p1 = std::min(panels, p0 + plan.panels_per_group);
        if (!shared_input) input(w, t0, t1);
        for (size_t e = 0; e < E; ++e) gemm(gp[task][e], t1 - t0, p0, p1);
        output(w, t0, t1);
      }
    });
  }
};

// fp32 3x3 stride-1 dense convolution by Winograd (simd_kernels.h): F(2x2, 3x3)
// or, where it needs clearly fewer GEMM rows x elements, F(4x4, 3x3); input
// transform, 16 / 36 GEMMs on gemm_f32 (no bias, no activation), output
// transform with bias and activation.
class WinogradConvF32 final : public BoundKernel {
 public:
  WinogradConvF32(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        pn_(f32_panels(static_cast<size_t>(d.out_c))),
        nr_(pn_.width),
        rows_(pn_.rows),
        f4_(prefers_f4(d, pn_.rows)) {
    const size_t C = static_cast<size_t>(d.in_c), K = static_cast<size_t>(d.out_c);
    panels_ = ceil_div(K, nr_);
    // U[e] = G g G^T per (oc, ic), in double. F(2x2): G = [1 0 0; 1/2 1/2 1/2;
    // 1/2 -1/2 1/2; 0 0 1]; F(4x4): the 6x3 G of Lavin and Gray.
    const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const double G4[6][3] = {{1.0 / 4, 0, 0},
                             {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                             {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, -1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};
    const int n = f4_ ? 6 : 4;
    const size_t elements = static_cast<size_t>(n * n);
    packed_.assign(elements * panels_ * C * nr_, 0.0f);
    const auto* wf = static_cast<const float*>(w.weights);
    for (size_t oc = 0; oc < K; ++oc) {
      for (size_t ic = 0; ic < C; ++ic) {
        double g[3][3];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) g[ky][kx] = wf[((oc * 3 + ky) * 3 + kx) * C + ic];
        auto gm = [&](int i, int k) { return f4_ ? G4[i][k] : G2[i][k]; };
        double t[6][3];
        for (int i = 0; i < n; ++i)
          for (int kx = 0; kx < 3; ++kx)
            t[i][kx] = gm(i, 0) * g[0][kx] + gm(i, 1) * g[1][kx] + gm(i, 2) * g[2][kx];
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < n; ++j) {
            const double u = t[i][0] * gm(j, 0) + t[i][1] * gm(j, 1) + t[i][2] * gm(j, 2);
            const size_t e = static_cast<size_t>(i * n + j);
            packed_[((e * panels_ + oc / nr_) * C + ic) * nr_ + oc % nr_] = static_cast<float>(u);
          }
        }
      }
    }
    zero_bias_.assign(panels_ * nr_, 0.0f);
    bias_.assign(K, 0.0f);
    if (w.bias) std::memcpy(bias_.data(), w.bias, K * sizeof(float));
    set_winograd_geometry(d, &wp_);
    if (f4_) {
      wp_.tiles_h = (d.out_h + 3) / 4;
      wp_.tiles_w = (d.out_w + 3) / 4;
      wp_.tiles = static_cast<size_t>(d.batch) * wp_.tiles_h * wp_.tiles_w;
    }
    wp_.bias = bias_.data();
    act_frange(d.act, &wp_.lo, &wp_.hi);
  }

  // F(4x4, 3x3) when its GEMM rows (tiles rounded up to register tiles) x 36
  // come to at most 3/4 of F(2x2)'s x 16, with 16+ input channels (few channels:
  // the larger transforms dominate).
  static bool prefers_f4(const Conv2dDesc& d, size_t rows) {
    if (d.in_c < 16) return false;
    auto gemm_rows = [&](int t) {
      const size_t tiles = static_cast<size_t>(d.batch) * ((d.out_h + t - 1) / t) * ((d.out_w + t - 1) / t);
      return ceil_div(tiles, rows) * rows;
    };
    return 36 * gemm_rows(4) * 4 <= 16 * gemm_rows(2) * 3;
  }

  void run(const ExecContext& ctx) override {
    auto gemm = [](const GemmF32Params& g, size_t rows, size_t p0, size_t p1) {
      gemm_f32(g, 0, rows, p0, p1);
    };
    if (f4_) {
      run4_.run(
          ctx.pool, [](const WinogradF32Params& w, size_t b, size_t e) { winograd4_input_f32(w, b, e); },
          gemm, [](const WinogradF32Params& w, size_t b, size_t e) { winograd4_output_f32(w, b, e); });
    } else {
      run2_.run(
          ctx.pool, [](const WinogradF32Params& w, size_t b, size_t e) { winograd_input_f32(w, b, e); }, gemm,
          [](const WinogradF32Params& w, size_t b, size_t e) { winograd_output_f32(w, b, e); });
    }
  }

 protected:
  bool on_bind(const ExecContext& ctx) override {
    wp_.x = in<float>(0);
    wp_.y = out<float>();
    if (f4_) {
      GemmF32Params gemm[36];
      gemm_params(gemm);
      run4_.bind(wp_, gemm, rows_, panels_, nr_, ctx.n_threads, [](GemmF32Params* g, float* m) { g->y = m; });
    } else {
      GemmF32Params gemm[16];
      gemm_params(gemm);
      run2_.bind(wp_, gemm, rows_, panels_, nr_, ctx.n_threads, [](GemmF32Params* g, float* m) { g->y = m; });
    }
    return true;
  }

 private:
  template <size_t E>
  void gemm_params(GemmF32Params (&gemm)[E]) const {
    const size_t C = static_cast<size_t>(d_.in_c), K = static_cast<size_t>(d_.out_c);
    float lo = 0, hi = 0;
    act_frange(Act::None, &lo, &hi);
    for (size_t e = 0; e < E; ++e) {
      GemmF32Params& p = gemm[e];
      p.taps = 1;
      p.kc = C;
      p.x_offset = 0;
      p.packed = packed_.data() + e * panels_ * C * nr_;
      p.bias = zero_bias_.data();
      p.y_stride = K;
      p.y_offset = 0;
      p.n = K;
      p.act = Act::None;
      p.lo = lo;
      p.hi = hi;
      p.vectors = pn_.vectors;
      p.narrow = pn_.narrow;
    }
  }

  Conv2dDesc d_;
  Panels pn_;
  size_t nr_, rows_, panels_ = 0;
  bool f4_;
  std::vector<float> packed_, zero_bias_, bias_;
  WinogradF32Params wp_;
  WinogradRun<16, float, float, WinogradF32Params, GemmF32Params> run2_;
  WinogradRun<36, float, float, WinogradF32Params, GemmF32Params> run4_;
};

// int8 3x3 stride-1 dense convolution by exact integer Winograd F(2x2, 3x3)
// (simd_kernels.h): input transform to int16, 16 GEMMs on gemm_i8 with int32
// sums, output transform, bias and requantisation. Chosen only when no int32
// sum can overflow for these weights (fits()).
class WinogradConvI8 final : public BoundKernel {
 public:
  WinogradConvI8(const Conv2dDesc& d, const ConvWeights& w)
      : BoundKernel(1),
        d_(d),
        pn_(i8_panels(static_cast<size_t>(d.out_c), true)),
        nr_(pn_.width),
        rows_(pn_.rows) {
    const size_t C = static_cast<size_t>(d.in_c), K = static_cast<size_t>(d.out_c);
    panels_ = ceil_div(K, nr_);
    kp_ = (C + 1) / 2;
    const size_t panel_size = kp_ * nr_ * 2;
    packed_.assign(16 * panels_ * panel_size, 0);
    const auto* wq = static_cast<const int8_t*>(w.weights);
    // U' = (2G) g (2G)^T: integers, |U'| <= 9 * 128.
    const int G2[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
    // Bound on |Y| = |A^T M A| (9 terms of M, |v| <= 4 * 255): sum over ic of max |U'|.
    double worst = 0;
    for (size_t oc = 0; oc < K; ++oc) {
      double bound = 0;
      for (size_t ic = 0; ic < C; ++ic) {
        int g[3][3];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) g[ky][kx] = wq[((oc * 3 + ky) * 3 + kx) * C + ic];
        int t[4][3];
        for (int i = 0; i < 4; ++i)
          for (int kx = 0; kx < 3; ++kx)
            t[i][kx] = G2[i][0] * g[0][kx] + G2[i][1] * g[1][kx] + G2[i][2] * g[2][kx];
        int max_u = 0;
        for (int i = 0; i < 4; ++i) {
          for (int j = 0; j < 4; ++j) {
            const int u = t[i][0] * G2[j][0] + t[i][1] * G2[j][1] + t[i][2] * G2[j][2];
            max_u = std::max(max_u, std::abs(u));
            const size_t e = static_cast<size_t>(i * 4 + j), panel = oc / nr_;
            packed_[(e * panels_ + panel) * panel_size + (ic / 2) * nr_ * 2 + 2 * (oc % nr_) + ic % 2] =
                static_cast<int16_t>(u);
          }
        }
        bound += max_u;
      }
      worst = std::max(worst, bound);
    }
    fits_ = 9.0 * 4.0 * 255.0 * worst < 2147483647.0 - 1e6;
    zero_bias_.assign(panels_ * nr_, 0);
    ones_.assign(panels_ * nr_, 1.0f);
    bias_.assign(K, 0);
    if (w.bias) std::memcpy(bias_.data(), w.bias, K * sizeof(int32_t));
    mult_ = requant_multipliers(d.in_q, w.w_scales, d.out_q, d.out_c);
    set_winograd_geometry(d, &wp_);
    wp_.in_zp = d.in_q.zero_point;
    wp_.bias = bias_.data();
    wp_.mult = mult_.data();
    wp_.zp = d.out_q.zero_point;
    act_qrange(d.act, d.out_q, &wp_.qmin, &wp_.qmax);
    // The output transform's sums are the direct convolution's.
    wp_.floor_saturate = int8_floor_saturate(d.act, wp_.zp, wp_.qmin, wp_.qmax,
                                             int8_max_scaled(wq, bias_.data(), mult_.data(), K, 9 * C));
  }

  bool fits() const { return fits_; }

  void run(const ExecContext& ctx) override {
    run_.run(
        ctx.pool, [](const WinogradI8Params& w, size_t b, size_t e) { winograd_input_i8(w, b, e); },
        [](const GemmI8Params& g, size_t rows, size_t p0, size_t p1) { gemm_i8(g, 0, rows, p0, p1); },
        [](const WinogradI8Params& w, size_t b, size_t e) { winograd_output_i8(w, b, e); });
  }

 protected:
  bool on_bind(const ExecContext& ctx) override {
    const size_t C = static_cast<size_t>(d_.in_c), K = static_cast<size_t>(d_.out_c);
    wp_.x = in<int8_t>(0);
    wp_.y = out<int8_t>();
    GemmI8Params gemm[16];
    for (size_t e = 0; e < 16; ++e) {
      GemmI8Params& p = gemm[e];
      p.taps = 1;
      p.kc = C;
      p.x_offset = 0;
      p.packed = packed_.data() + e * panels_ * kp_ * nr_ * 2;
      p.bias = zero_bias_.data();
      p.mult = ones_.data();
      p.y_stride = K;
      p.y_offset = 0;
      p.n = K;
      p.vectors = pn_.vectors;
    }
    run_.bind(wp_, gemm, rows_, panels_, nr_, ctx.n_threads, [](GemmI8Params* g, int32_t* m) { g->y32 = m; });
    return true;
  }

 private:
  Conv2dDesc d_;
  Panels pn_;
  size_t nr_, rows_, panels_ = 0, kp_ = 0;
  bool fits_ = false;
  std::vector<int16_t> packed_;
  std::vector<int32_t> zero_bias_, bias_;
  std::vector<float> ones_, mult_;
  WinogradI8Params wp_;
  WinogradRun<16, int16_t, int32_t, WinogradI8Params, GemmI8Params> run_;
};

}  // namespace

KernelPtr make_conv2d_winograd_f32(const Conv2dDesc& d, const ConvWeights& w) {
  return std::make_unique<WinogradConvF32>(d, w);
}

KernelPtr make_conv2d_winograd_i8(const Conv2dDesc& d, const ConvWeights& w) {
  auto k = std::make_unique<WinogradConvI8>(d, w);
  if (!k->fits()) return nullptr;
  return k;
}

}  // namespace faceattr::kernels::simd
