// SIMD convolution and fully connected kernel objects: weights are packed at
// creation for the panel width of the Highway target chosen at run time, the
// indirection buffer (one input pointer per output pixel and tap) is built
// at bind, and run() splits the work over ctx.pool.
//  - depthwise (groups == in_c == out_c): channel-vectorised direct loop;
//  - everything else (dense, grouped, strided, padded, 1x1, FC): indirect GEMM.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "kernels/kernel_util.h"
#include "kernels/simd/simd_kernels.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::simd {
namespace {

constexpr size_t kTilesPerTask = 4;  // register tiles of rows per parallel task
constexpr size_t kGemvRows = 64;     // output rows per parallel task of a one-channel conv
constexpr int kMaxExactDepthwiseTaps = 512;
// int8 Winograd from this many input channels on. Natively 24 channels measured
// slower than direct; in wasm (WASM SIMD128, 4-lane dot products) LNet's 30x40x24
// layer takes 0.90x of the direct GEMM's time (faceattr_wasm_layers, node).
#if defined(__EMSCRIPTEN__)
constexpr int kMinWinogradI8Channels = 24;
#else
constexpr int kMinWinogradI8Channels = 32;
#endif

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

// Shared geometry of the GEMM path. With merge_kx (a dense conv reading a
// zero-padded input, so every window row is in bounds), the kernel_w taps of
// one window row are contiguous in memory (kernel_w * in_c values, whatever
// the stride) and become one tap of kernel_w * in_c channels: fewer, longer
// inner loops, which matters most for the first layer (3 channels). The model
// weights [oc][kh][kw][ic] already have that layout.
// Panel geometry of a GEMM with n output channels: vectors per panel (2 or 3,
// whichever pads fewer channels), panel width and rows per register tile.
struct Panels {
  size_t vectors = 2, width = 0, rows = 1;
};
Panels f32_panels(size_t n) {
  const size_t v = gemm_panel_vectors(n, gemm_f32_panel_width(2), gemm_f32_panel_width(3));
  return {v, gemm_f32_panel_width(v), gemm_f32_rows(v)};
}
Panels i8_panels(size_t n) {
  const size_t v = gemm_panel_vectors(n, gemm_i8_panel_width(2), gemm_i8_panel_width(3));
  return {v, gemm_i8_panel_width(v), gemm_i8_rows(v)};
}
size_t out_channels_per_group(const Conv2dDesc& d) { return static_cast<size_t>(d.out_c / d.groups); }

struct GemmShape {
  size_t m = 0, taps = 1, icg = 0, ocg = 0, groups = 1, vectors = 2, nr = 0, panels = 0, rows = 1;
  GemmShape(const Conv2dDesc& d, const Panels& pn, bool merge_kx = false)
      : m(static_cast<size_t>(d.batch) * d.out_h * d.out_w),
        taps(static_cast<size_t>(d.kernel_h) * (merge_kx ? 1 : d.kernel_w)),
        icg(static_cast<size_t>(d.in_c / d.groups) * (merge_kx ? d.kernel_w : 1)),
        ocg(out_channels_per_group(d)),
        groups(static_cast<size_t>(d.groups)),
        vectors(pn.vectors),
        nr(pn.width),
        panels(ceil_div(ocg, pn.width)),
        rows(pn.rows) {}
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
      parallel_for(ctx.pool, ceil_div(s_.m, kGemvRows), [this](size_t begin, size_t end) {
        gemv_f32(params_[0], wvec_.data(), begin * kGemvRows, std::min(s_.m, end * kGemvRows));
      });
      return;
    }
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

// How a Winograd layer's run is split into tasks: a task is one block of
// tiles x one group of output-channel panels and runs the 16 GEMMs for its
// panels and the output transform of its channels, so the GEMM results stay
// in cache and no barrier separates those phases. With one group per block
// the task also does its block's input transform first (one parallel_for, no
// barrier at all); with several groups (few tiles, as in the deep layers) the
// input transform of each block runs once, in a first parallel_for over the
// blocks. With threads > 1 blocks are 1-2 register tiles of rows. Too few of
// those for about 4 tasks per thread (20 tiles: 6 + 6 + 6 + 2 rows), the tiles
// go in equal blocks, a whole number per thread (4 x 5 on 2 threads), each
// task fused as above; only blocks under half a register tile (many threads,
// few tiles) split the panels into groups instead. Equal blocks against
// panel groups, lnet-fp32's four 15x20x48 layers (F(4x4): 20 tiles) on 2
// threads: 0.88-0.91x (median), 0.80-0.85x (min), whole network 0.89-0.92x;
// anet-fp32 and the int8 models unchanged within the noise
// (`faceattr_layers --threads 2`, 6 interleaved rounds, load 2-2.5).
// The deepest layers have no more tiles than one register tile has rows (ANet's
// 10x8 with F(4x4) and 5x4 with F(2x2): 6 tiles). There the run goes by
// element instead (by_element): input transform split over the tiles, then
// the E GEMMs split over the threads (each thread streams only its elements'
// weights, which dominate: 2.4 MB for ANet's 5x4x192 layer), then the output
// transform split over the tiles; two barriers, but every thread has an equal
// share. Split by panel groups as above, each thread streamed a slice of
// every element's weights and gained little from the second thread there:
// `faceattr_layers models/anet-fp32.fam --threads 2`, 8 interleaved rounds,
// 10x8x96 0.79-0.88x and 5x4x192 0.86-0.89x of the time split by panels.
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

  // Worth it when the GEMMs dominate: enough channels on both sides.
  static bool suits(const Conv2dDesc& d) {
    return d.dtype == DType::F32 && d.groups == 1 && d.kernel_h == 3 && d.kernel_w == 3 && d.stride_h == 1 &&
           d.stride_w == 1 && d.in_c >= 8 && d.out_c >= 8 && d.pad_top <= 2 && d.pad_left <= 2;
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
      : BoundKernel(1), d_(d), pn_(i8_panels(static_cast<size_t>(d.out_c))), nr_(pn_.width), rows_(pn_.rows) {
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
  }

  static bool suits(const Conv2dDesc& d) {
    return d.dtype == DType::I8 && d.groups == 1 && d.kernel_h == 3 && d.kernel_w == 3 && d.stride_h == 1 &&
           d.stride_w == 1 && d.in_c >= kMinWinogradI8Channels && d.out_c >= 8;
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
    // One output channel: its weights [taps][icg rounded up to even] as int16, for gemv_i8.
    if (s_.groups == 1 && s_.ocg == 1) {
      const size_t kc2 = 2 * kp;
      wvec_.assign(s_.taps * kc2, 0);
      for (size_t t = 0; t < s_.taps; ++t)
        for (size_t c = 0; c < s_.icg; ++c) wvec_[t * kc2 + c] = wq[t * s_.icg + c];
    }
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext& ctx) override {
    // Widen the input rows into the interior of the padded buffer (its border stays zero).
    const int32_t zp = d_.in_q.zero_point;
    pi_.fill(ctx.pool, d_, in<int8_t>(0), widened_.data(), 8192,
             [zp](const int8_t* src, int16_t* dst, size_t n) { widen_sub_i8(src, zp, dst, 0, n); });
    if (!wvec_.empty()) {
      parallel_for(ctx.pool, ceil_div(s_.m, kGemvRows), [this](size_t begin, size_t end) {
        gemv_i8(params_[0], wvec_.data(), begin * kGemvRows, std::min(s_.m, end * kGemvRows));
      });
      return;
    }
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
    // Padded int16 copy of the input (x - zero point) plus 2 readable slots for odd channel counts.
    widened_.assign(pi_.elements(d_.batch) + 2, 0);
    build_padded_indirection<int16_t>(d_, pi_, merge_, widened_.data(), &ind_);
    params_.assign(s_.groups, GemmI8Params{});
    const size_t kp = (s_.icg + 1) / 2;
    for (size_t g = 0; g < s_.groups; ++g) {
      GemmI8Params& p = params_[g];
      p.ind = ind_.data();
      p.taps = s_.taps;
      p.kc = s_.icg;
      p.x_offset = g * s_.icg;  // groups > 1 never merge, so icg is the group's channel count
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
      p.vectors = s_.vectors;
    }
    return true;
  }

 private:
  Conv2dDesc d_;
  bool merge_;
  GemmShape s_;
  PaddedInput pi_;
  std::vector<int16_t> packed_, widened_, wvec_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<const int16_t*> ind_;
  std::vector<GemmI8Params> params_;
  int32_t qmin_ = -128, qmax_ = 127;
};

// int8 dense conv whose weights all lie in [-64, 64] (e.g. a 7-bit export), on
// AVX2: the input flipped to u8 (x + 128) into a padded buffer whose border is
// zp + 128 (x - zp = 0, as the reference pads), K grouped by 4 for pmaddubsw,
// exact (gemm_u8); -(zp + 128) * sum of the channel's weights is in the bias.
class GemmConvU8 final : public BoundKernel {
 public:
  static Panels panels(size_t n) {
    const size_t w2 = 2 * kGemmU8Lanes, w3 = 3 * kGemmU8Lanes;
    const size_t v = gemm_panel_vectors(n, w2, w3);
    return {v, v * kGemmU8Lanes, v == 3 ? size_t{3} : size_t{6}};
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
    }
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }

  void run(const ExecContext& ctx) override {
    pi_.fill(ctx.pool, d_, in<int8_t>(0), flipped_.data(), 16384,
             [](const int8_t* src, uint8_t* dst, size_t n) { flip_i8_to_u8(src, dst, n); });
    parallel_for(ctx.pool, s_.tasks(), [this](size_t begin, size_t end) {
      for (size_t task = begin; task < end; ++task) {
        size_t g, panel, m0, m1;
        s_.decode(task, &g, &panel, &m0, &m1);
        gemm_u8(p_, m0, m1, panel, panel + 1);
      }
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    // Padded u8 copy of the input, border zp + 128, plus 4 readable bytes (a tap
    // reads its channels rounded up to 4).
    flipped_.assign(pi_.elements(d_.batch) + 4, static_cast<uint8_t>(d_.in_q.zero_point + 128));
    build_padded_indirection<uint8_t>(d_, pi_, true, flipped_.data(), &ind_);
    p_ = GemmU8Params{};
    p_.ind = ind_.data();
    p_.taps = s_.taps;
    p_.kc = s_.icg;
    p_.packed = packed_.data();
    p_.bias = bias_.data();
    p_.mult = mult_.data();
    p_.y = out<int8_t>();
    p_.y_stride = static_cast<size_t>(d_.out_c);
    p_.n = s_.ocg;
    p_.act = d_.act;
    p_.alpha = d_.leaky_alpha;
    p_.zp = d_.out_q.zero_point;
    p_.qmin = qmin_;
    p_.qmax = qmax_;
    p_.vectors = s_.vectors;
    return true;
  }

 private:
  Conv2dDesc d_;
  GemmShape s_;
  PaddedInput pi_;
  std::vector<int8_t> packed_;
  std::vector<uint8_t> flipped_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<const uint8_t*> ind_;
  GemmU8Params p_;
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

bool conv2d_i8_takes_u8(const Conv2dDesc& d, const ConvWeights& w) {
  if (d.dtype != DType::I8 || d.groups != 1 || d.out_c < 2 || !gemm_u8_available()) return false;
  const auto* wq = static_cast<const int8_t*>(w.weights);
  const size_t n = static_cast<size_t>(d.out_c) * d.kernel_h * d.kernel_w * d.in_c;
  return std::all_of(wq, wq + n, [](int8_t v) { return v >= -64 && v <= 64; });
}

KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w) {
  if (!conv2d_desc_valid(d, w)) return nullptr;
  if (is_depthwise(d) && (d.dtype == DType::F32 || d.kernel_h * d.kernel_w <= kMaxExactDepthwiseTaps)) {
    return std::make_unique<DepthwiseConv>(d, w);
  }
  if (WinogradConvF32::suits(d)) return std::make_unique<WinogradConvF32>(d, w);
  if (WinogradConvI8::suits(d)) {
    auto k = std::make_unique<WinogradConvI8>(d, w);
    if (k->fits()) return k;
  }
  if (d.dtype == DType::F32) return std::make_unique<GemmConvF32>(d, w);
  if (conv2d_i8_takes_u8(d, w)) return std::make_unique<GemmConvU8>(d, w);
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
  if (conv2d_i8_takes_u8(c, w)) return std::make_unique<GemmConvU8>(c, w);
  return std::make_unique<GemmConvI8>(c, w);
}

}  // namespace faceattr::kernels::simd
