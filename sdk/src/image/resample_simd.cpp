// Highway implementation of image/preprocess's crop + resample + normalise
// (resample.h): the same taps as the scalar reference, applied separably. The
// output columns go in chunks whose source columns fit a stack scratch row;
// per chunk and output row:
//  1. vertical: the row's source rows (first, middle ones summed as integers,
//     last) are combined over the chunk's contiguous source bytes into the
//     float scratch row, full vectors of bytes at a time;
//  2. horizontal: each output pixel sums its column taps of the scratch row,
//     one 4-float vector per source pixel (its channels, plus one lane that is
//     ignored), then normalises and stores RGB.
// Rows are independent, so a job's rows may be split over threads.
// Only the order of the float sums differs from the reference; every target gives
// the same bits (no fused multiply-add, see MulThenAdd). Natively every
// x86 or ARM target is compiled and one picked at run time; under Emscripten the WASM
// SIMD128 target (kernels/simd/hwy_dispatch.h). Without FACEATTR_WITH_SIMD the
// file only says "not compiled in" and the reference runs.
#if defined(FACEATTR_HAVE_SIMD)

// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "image/resample_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
// clang-format on

#include <algorithm>
#include <type_traits>

#include "image/resample.h"
#include "kernels/simd/vec_array-inl.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::image::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors cannot hold a pixel: the reference does the job.
bool ResampleRows(const ResampleJob&, int, int) { return false; }
#else

constexpr int kBlock = 256;  // output columns per chunk
constexpr int kSpan = 1024;  // source pixels per chunk (the scratch row)
constexpr int kRows = 32;    // middle rows summed per pass in int32 (32 * 255 fits easily)

// Column taps of one output pixel of the chunk; off: first tap's scratch pixel.
struct ColTap {
  int i0, n, off;
  bool inside;  // every tap inside the image (no clamping)
  float wf, wm, wl;
};

// a * b + c, rounded after the product as in scalar code: no fused multiply-add
// (and this file is compiled with -ffp-contract=off), so every x86 and ARM target
// and WASM SIMD128 give the same bits, and the wasm module equals native builds.
template <class V>
HWY_INLINE V MulThenAdd(V a, V b, V c) {
  return hn::Add(hn::Mul(a, b), c);
}

// Exact float of int32 lanes in [0, 2^23) (pixel bytes and their integer sums).
// In wasm: the bits of 2^23 + v minus 2^23, the same value as the conversion. A
// plain ConvertTo of zero-extended bytes is folded by the compiler into an
// unsigned byte-to-float conversion, which WASM SIMD128 lacks, and clang 14
// scalarised it (per vector 4 lane extracts, 4 scalar conversions, 4 inserts).
template <class DF, class VI>
HWY_INLINE hn::Vec<DF> SmallToFloat(DF df, VI v) {
#if HWY_TARGET == HWY_WASM
  const hn::RebindToSigned<DF> di;
  return hn::Sub(hn::BitCast(df, hn::Or(v, hn::Set(di, 0x4B000000))), hn::Set(df, 8388608.0f));
#else
  return hn::ConvertTo(df, v);
#endif
}

// Bilinear taps on a source pixel centre (scale 1, or an integer enlargement's
// aligned samples) are 1 * p + 0 * q == p: one tap, the same value.
inline Taps exact_taps(Taps t) {
  if (t.n == 2 && t.w_last == 0.0f && t.w_first == 1.0f) t.n = 1;
  return t;
}

// scratch[0, bytes) = vertical taps `ty` over source bytes [byte0, byte0 + bytes) of each row.
void VerticalPass(const faceattr_image& src, const Taps& ty, size_t byte0, size_t bytes,
                  float* HWY_RESTRICT v) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<uint8_t, decltype(df)> du8;
  const size_t N = hn::Lanes(df);
  const int max_y = src.height - 1;
  auto row = [&](int k) {
    return src.data + static_cast<size_t>(clampi(ty.i0 + k, 0, max_y)) * src.stride_bytes + byte0;
  };
  auto load = [&](const uint8_t* p) { return SmallToFloat(df, hn::PromoteTo(di, hn::LoadU(du8, p))); };
  // 4N bytes at once, one full vector load widened in halves: the same four float
  // vectors as load() at p, p + N, p + 2N, p + 3N, in fewer operations.
  const hn::Repartition<uint8_t, decltype(df)> d8x;
  const hn::Half<decltype(d8x)> d8h;
  const hn::Repartition<uint16_t, decltype(df)> d16;
  const hn::Half<decltype(d16)> d16h;
  using VF = hn::Vec<decltype(df)>;
  using V16 = hn::Vec<decltype(d16)>;
  auto widen = [&](const uint8_t* p, V16* lo, V16* hi) {
    const auto b = hn::LoadU(d8x, p);
    *lo = hn::PromoteTo(d16, hn::LowerHalf(d8h, b));
    *hi = hn::PromoteTo(d16, hn::UpperHalf(d8h, b));
  };
  // f: VF* or, on SVE, a VecRefs / VecPtr (FACEATTR_VEC_ARRAY).
  auto to_f = [&](V16 w, auto f) {
    f[0] = SmallToFloat(df, hn::PromoteTo(di, hn::LowerHalf(d16h, w)));
    f[1] = SmallToFloat(df, hn::PromoteTo(di, hn::UpperHalf(d16h, w)));
  };
  auto load4 = [&](const uint8_t* p, auto f) {
    V16 lo, hi;
    widen(p, &lo, &hi);
    to_f(lo, f);
    to_f(hi, f + 2);
  };
  const uint8_t* HWY_RESTRICT r0 = row(0);
  if (ty.n == 1) {  // w_first == 1
    size_t i = 0;
    for (; i + 4 * N <= bytes; i += 4 * N) {
      FACEATTR_VEC_ARRAY(VF, f, 4);
      load4(r0 + i, f);
      for (size_t q = 0; q < 4; ++q) hn::StoreU(f[q], df, v + i + q * N);
    }
    for (; i + N <= bytes; i += N) hn::StoreU(load(r0 + i), df, v + i);
    for (; i < bytes; ++i) v[i] = static_cast<float>(r0[i]);
    return;
  }
  const uint8_t* HWY_RESTRICT rl = row(ty.n - 1);
  const auto wf = hn::Set(df, ty.w_first), wm = hn::Set(df, ty.w_mid), wl = hn::Set(df, ty.w_last);
  // The middle rows, kRows at a time; the first group goes with the first and last rows.
  const uint8_t* mid[kRows];
  int k = 1;
  auto next_group = [&]() {
    int m = 0;
    for (; m < kRows && k < ty.n - 1; ++m, ++k) mid[m] = row(k);
    return m;
  };
  int nm = next_group();
  size_t i = 0;
  // Four float vectors per step (the same operations per value as the loops below).
  if (nm > 0) {
    for (; i + 4 * N <= bytes; i += 4 * N) {
      V16 s_lo, s_hi;
      widen(mid[0] + i, &s_lo, &s_hi);
      for (int m = 1; m < nm; ++m) {
        V16 lo, hi;
        widen(mid[m] + i, &lo, &hi);
        s_lo = hn::Add(s_lo, lo);
        s_hi = hn::Add(s_hi, hi);
      }
      FACEATTR_VEC_ARRAY(VF, a, 4);
      FACEATTR_VEC_ARRAY(VF, sm, 4);
      FACEATTR_VEC_ARRAY(VF, b, 4);
      load4(r0 + i, a);
      to_f(s_lo, sm);
      to_f(s_hi, sm + 2);
      load4(rl + i, b);
      for (size_t q = 0; q < 4; ++q)
        hn::StoreU(MulThenAdd(b[q], wl, MulThenAdd(sm[q], wm, hn::Mul(a[q], wf))), df, v + i + q * N);
    }
  } else {
    for (; i + 4 * N <= bytes; i += 4 * N) {
      FACEATTR_VEC_ARRAY(VF, a, 4);
      FACEATTR_VEC_ARRAY(VF, b, 4);
      load4(r0 + i, a);
      load4(rl + i, b);
      for (size_t q = 0; q < 4; ++q) hn::StoreU(MulThenAdd(b[q], wl, hn::Mul(a[q], wf)), df, v + i + q * N);
    }
  }
  if (nm > 0) {
    // Two float vectors per step: the middle rows summed as uint16 (kRows * 255 fits),
    // twice the bytes per add of the int32 loop below; the same integer sums.
    const hn::Rebind<uint8_t, decltype(d16)> du8w;
    for (; i + 2 * N <= bytes; i += 2 * N) {
      auto s = hn::PromoteTo(d16, hn::LoadU(du8w, mid[0] + i));
      for (int m = 1; m < nm; ++m) s = hn::Add(s, hn::PromoteTo(d16, hn::LoadU(du8w, mid[m] + i)));
      const auto s_lo = SmallToFloat(df, hn::PromoteTo(di, hn::LowerHalf(d16h, s)));
      const auto s_hi = SmallToFloat(df, hn::PromoteTo(di, hn::UpperHalf(d16h, s)));
      const auto lo = MulThenAdd(s_lo, wm, hn::Mul(load(r0 + i), wf));
      const auto hi = MulThenAdd(s_hi, wm, hn::Mul(load(r0 + i + N), wf));
      hn::StoreU(MulThenAdd(load(rl + i), wl, lo), df, v + i);
      hn::StoreU(MulThenAdd(load(rl + i + N), wl, hi), df, v + i + N);
    }
  }
  for (; i + N <= bytes; i += N) {
    auto acc = hn::Mul(load(r0 + i), wf);
    if (nm > 0) {
      auto s = hn::PromoteTo(di, hn::LoadU(du8, mid[0] + i));
      for (int m = 1; m < nm; ++m) s = hn::Add(s, hn::PromoteTo(di, hn::LoadU(du8, mid[m] + i)));
      acc = MulThenAdd(SmallToFloat(df, s), wm, acc);
    }
    hn::StoreU(MulThenAdd(load(rl + i), wl, acc), df, v + i);
  }
  for (; i < bytes; ++i) {
    int32_t s = 0;
    for (int m = 0; m < nm; ++m) s += mid[m][i];
    v[i] = ty.w_first * r0[i] + ty.w_mid * static_cast<float>(s) + ty.w_last * rl[i];
  }
  // Tall boxes (more than kRows + 2 source rows per output row): the other groups.
  while ((nm = next_group()) > 0) {
    for (i = 0; i + N <= bytes; i += N) {
      auto s = hn::PromoteTo(di, hn::LoadU(du8, mid[0] + i));
      for (int m = 1; m < nm; ++m) s = hn::Add(s, hn::PromoteTo(di, hn::LoadU(du8, mid[m] + i)));
      hn::StoreU(MulThenAdd(SmallToFloat(df, s), wm, hn::LoadU(df, v + i)), df, v + i);
    }
    for (; i < bytes; ++i) {
      int32_t s = 0;
      for (int m = 0; m < nm; ++m) s += mid[m][i];
      v[i] += ty.w_mid * static_cast<float>(s);
    }
  }
}

// Sum of `count` >= 1 pixels (4-float vectors) at p, p + ch, ...: two partial sums,
// four for long runs (shorter dependency chains, less rounding).
template <class D4>
HWY_INLINE hn::Vec<D4> SumPixels(D4 d4, const float* HWY_RESTRICT p, int count, int ch) {
  auto m0 = hn::LoadU(d4, p);
  if (count == 1) return m0;
  auto m1 = hn::LoadU(d4, p + ch);
  int k = 2;
  if (count >= 8) {
    auto m2 = hn::LoadU(d4, p + 2 * ch), m3 = hn::LoadU(d4, p + 3 * ch);
    for (k = 4; k + 4 <= count; k += 4) {
      const float* q = p + static_cast<size_t>(k) * ch;
      m0 = hn::Add(m0, hn::LoadU(d4, q));
      m1 = hn::Add(m1, hn::LoadU(d4, q + ch));
      m2 = hn::Add(m2, hn::LoadU(d4, q + 2 * ch));
      m3 = hn::Add(m3, hn::LoadU(d4, q + 3 * ch));
    }
    m0 = hn::Add(m0, m2);
    m1 = hn::Add(m1, m3);
  }
  for (; k + 2 <= count; k += 2) {
    const float* q = p + static_cast<size_t>(k) * ch;
    m0 = hn::Add(m0, hn::LoadU(d4, q));
    m1 = hn::Add(m1, hn::LoadU(d4, q + ch));
  }
  if (k < count) m0 = hn::Add(m0, hn::LoadU(d4, p + static_cast<size_t>(k) * ch));
  return hn::Add(m0, m1);
}

bool ResampleRows(const ResampleJob& j, int row_begin, int row_end) {
  const faceattr_image& src = *j.src;
  const int ch = j.ch, max_x = src.width - 1;
  // A single output pixel must fit the scratch row (it spans at most ceil(scale) + 1 columns).
  if (!(static_cast<double>(j.box.w) / j.out_w + 2.0 <= kSpan)) return false;

  const hn::FixedTag<float, 4> d4;
  // Source lane order -> RGB (BGR formats swap lanes 0 and 2); lane 3 is ignored.
  HWY_ALIGN const int32_t order[4] = {j.r_src, 1, j.b_src, 3};
  const auto to_rgb = hn::SetTableIndices(d4, order);
  const bool swap = j.r_src != 0;
  HWY_ALIGN const float gain4[4] = {j.gain[0], j.gain[1], j.gain[2], 0.0f};
  HWY_ALIGN const float bias4[4] = {j.bias[0], j.bias[1], j.bias[2], 0.0f};
  const auto gain = hn::Load(d4, gain4), bias = hn::Load(d4, bias4);

  HWY_ALIGN float v[kSpan * 4 + 4];  // vertical sums; 4 floats of slack for the last pixel's vector
  ColTap taps[kBlock];
  if (row_begin >= row_end) return true;
  for (int x0 = 0; x0 < j.out_w;) {
    // The chunk: up to kBlock output columns whose clamped source columns fit kSpan.
    int lo = 0, hi = 0, cnt = 0;
    bool one_tap = true;  // every column of the chunk has one tap (weight 1)
    for (int ox = x0; ox < j.out_w && cnt < kBlock; ++ox, ++cnt) {
      const Taps t = exact_taps(axis_taps(j.box.x, j.box.w, j.out_w, ox));
      const int a = clampi(t.i0, 0, max_x), b = clampi(t.i0 + t.n - 1, 0, max_x);
      if (cnt == 0) lo = a;
      if (b - lo + 1 > kSpan) {
        if (cnt == 0) return false;  // cannot happen after the check above
        break;
      }
      hi = std::max(hi, b);
      taps[cnt] = {t.i0, t.n, a - lo, t.i0 >= 0 && t.i0 + t.n - 1 <= max_x, t.w_first, t.w_mid, t.w_last};
      one_tap = one_tap && t.n == 1;
    }
    // Output pixels stored as whole vectors (lane 3 lands on the next pixel, written
    // later): all but the image's last one.
    const int whole = x0 + cnt < j.out_w ? cnt : cnt - 1;
    const size_t bytes = static_cast<size_t>(hi - lo + 1) * ch;
    for (size_t i = 0; i < 4; ++i) v[bytes + i] = 0.0f;

    for (int oy = row_begin; oy < row_end; ++oy) {
      const Taps ty = exact_taps(axis_taps(j.box.y, j.box.h, j.out_h, oy));
      VerticalPass(src, ty, static_cast<size_t>(lo) * ch, bytes, v);
      float* const row_out = j.dst + static_cast<size_t>(oy) * j.dst_row + static_cast<size_t>(x0) * 3;
      if (one_tap) {
        // One tap per column: the pixel itself (1 * p == p), as the loop below computes it.
        auto one = [&](auto swap_lanes) {
          float* o = row_out;
          for (int c = 0; c < whole; ++c, o += 3) {
            auto acc = hn::LoadU(d4, v + static_cast<size_t>(taps[c].off) * ch);
            if (decltype(swap_lanes)::value) acc = hn::TableLookupLanes(acc, to_rgb);
            hn::StoreU(MulThenAdd(acc, gain, bias), d4, o);
          }
        };
        if (swap) {
          one(std::true_type());
        } else {
          one(std::false_type());
        }
      }
      float* o = row_out + static_cast<size_t>(one_tap ? whole : 0) * 3;
      for (int c = one_tap ? whole : 0; c < cnt; ++c, o += 3) {
        const ColTap& t = taps[c];
        const float* p = v + static_cast<size_t>(t.off) * ch;  // the first tap (clamped)
        // One tap has weight 1 (axis_taps, exact_taps): 1 * p == p, no multiply.
        auto acc = t.n == 1 ? hn::LoadU(d4, p) : hn::Mul(hn::LoadU(d4, p), hn::Set(d4, t.wf));
        if (t.n > 1) {
          if (t.inside) {
            if (t.n > 2) acc = MulThenAdd(SumPixels(d4, p + ch, t.n - 2, ch), hn::Set(d4, t.wm), acc);
            acc = MulThenAdd(hn::LoadU(d4, p + static_cast<size_t>(t.n - 1) * ch), hn::Set(d4, t.wl), acc);
          } else {
            // Taps beyond an edge all read the edge pixel: counted, not summed one by one.
            auto at = [&](int x) { return v + static_cast<size_t>(clampi(x, 0, max_x) - lo) * ch; };
            if (t.n > 2) {
              const int k0 = std::max(1, -t.i0), k1 = std::min(t.n - 2, max_x - t.i0);  // mid taps inside
              const int left = std::min(t.n - 2, -t.i0 - 1),
                        right = t.n - 2 - std::max(1, max_x - t.i0 + 1) + 1;
              auto m = k1 >= k0 ? SumPixels(d4, at(t.i0 + k0), k1 - k0 + 1, ch) : hn::Zero(d4);
              if (left > 0) m = MulThenAdd(hn::LoadU(d4, at(0)), hn::Set(d4, static_cast<float>(left)), m);
              if (right > 0)
                m = MulThenAdd(hn::LoadU(d4, at(max_x)), hn::Set(d4, static_cast<float>(right)), m);
              acc = MulThenAdd(m, hn::Set(d4, t.wm), acc);
            }
            acc = MulThenAdd(hn::LoadU(d4, at(t.i0 + t.n - 1)), hn::Set(d4, t.wl), acc);
          }
        }
        if (swap) acc = hn::TableLookupLanes(acc, to_rgb);
        const auto out = MulThenAdd(acc, gain, bias);
        if (c < whole) {
          hn::StoreU(out, d4, o);  // lane 3 lands on the next pixel, written later
        } else {
          HWY_ALIGN float last[4];
          hn::Store(out, d4, last);
          o[0] = last[0], o[1] = last[1], o[2] = last[2];
        }
      }
    }
    x0 += cnt;
  }
  return true;
}

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::image::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::image::detail {

FACEATTR_HWY_EXPORT(ResampleRows);

bool resample_simd(const ResampleJob& job, int row_begin, int row_end) {
  return FACEATTR_HWY_CALL(ResampleRows)(job, row_begin, row_end);
}

}  // namespace faceattr::image::detail
#endif  // HWY_ONCE

#else  // !FACEATTR_HAVE_SIMD

#include "image/resample.h"
#include "kernels/simd/vec_array-inl.h"

namespace faceattr::image::detail {
bool resample_simd(const ResampleJob&, int, int) { return false; }
}  // namespace faceattr::image::detail

#endif  // FACEATTR_HAVE_SIMD
