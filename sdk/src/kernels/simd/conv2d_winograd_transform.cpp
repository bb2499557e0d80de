// Winograd F(2x2, 3x3) transforms for 3x3 stride-1 convolutions, fp32 and
// exact int8 (see simd_kernels.h; the 16 GEMMs in between run on gemm_f32 /
// gemm_i8). Per 2x2 output
// tile: V = B^T d B of the 4x4 input tile d, and Y = A^T M A of the 4x4 GEMM
// results M, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
// so both transforms are additions only. Vectorised over channels.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_winograd_transform.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <type_traits>

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"
#include "kernels/simd/vec_array-inl.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// a + b and a - b of scalars or vectors (SVE's vector types have no operators).
template <class V>
HWY_INLINE V Plus(V a, V b) {
  if constexpr (std::is_arithmetic_v<V>) {
    return a + b;
  } else {
    return hn::Add(a, b);
  }
}
template <class V>
HWY_INLINE V Minus(V a, V b) {
  if constexpr (std::is_arithmetic_v<V>) {
    return a - b;
  } else {
    return hn::Sub(a, b);
  }
}

// B^T d B on 16 values (vectors or scalars), row-major 4x4: d and v are arrays
// of 16 (FACEATTR_VEC_ARRAY on SVE).
template <class In, class Out>
HWY_INLINE void InputTransform(const In& d, Out&& v) {
  using V = std::remove_cv_t<std::remove_reference_t<decltype(d[0])>>;
  FACEATTR_VEC_ARRAY(V, t, 16);
  for (int j = 0; j < 4; ++j) {
    t[0 * 4 + j] = Minus(d[0 * 4 + j], d[2 * 4 + j]);
    t[1 * 4 + j] = Plus(d[1 * 4 + j], d[2 * 4 + j]);
    t[2 * 4 + j] = Minus(d[2 * 4 + j], d[1 * 4 + j]);
    t[3 * 4 + j] = Minus(d[1 * 4 + j], d[3 * 4 + j]);
  }
  for (int i = 0; i < 4; ++i) {
    v[i * 4 + 0] = Minus(t[i * 4 + 0], t[i * 4 + 2]);
    v[i * 4 + 1] = Plus(t[i * 4 + 1], t[i * 4 + 2]);
    v[i * 4 + 2] = Minus(t[i * 4 + 2], t[i * 4 + 1]);
    v[i * 4 + 3] = Minus(t[i * 4 + 1], t[i * 4 + 3]);
  }
}

// A^T m A: 4x4 -> 2x2, row-major.
template <class In, class Out>
HWY_INLINE void OutputTransform(const In& m, Out&& y) {
  using V = std::remove_cv_t<std::remove_reference_t<decltype(m[0])>>;
  FACEATTR_VEC_ARRAY(V, s, 8);
  for (int j = 0; j < 4; ++j) {
    s[0 * 4 + j] = Plus(Plus(m[0 * 4 + j], m[1 * 4 + j]), m[2 * 4 + j]);
    s[1 * 4 + j] = Minus(Minus(m[1 * 4 + j], m[2 * 4 + j]), m[3 * 4 + j]);
  }
  for (int i = 0; i < 2; ++i) {
    y[i * 2 + 0] = Plus(Plus(s[i * 4 + 0], s[i * 4 + 1]), s[i * 4 + 2]);
    y[i * 2 + 1] = Minus(Minus(s[i * 4 + 1], s[i * 4 + 2]), s[i * 4 + 3]);
  }
}

struct TilePos {
  size_t b;
  int y0, x0;  // top-left output of the tile
};
// Tile `tile` of T x T outputs (T = 2: F(2x2, 3x3), 4: F(4x4, 3x3)).
template <int T, class P>
HWY_INLINE TilePos TileAt(const P& p, size_t tile) {
  const size_t per_image = static_cast<size_t>(p.tiles_h) * p.tiles_w;
  const size_t r = tile % per_image;
  return {tile / per_image, static_cast<int>(r / p.tiles_w) * T, static_cast<int>(r % p.tiles_w) * T};
}

// The T x T output pixels of a tile (row-major), null past the output's edge.
template <int T, class P, class Out>
HWY_INLINE void TileOutputs(const P& p, const TilePos& tp, size_t K, Out* (&dst)[T * T]) {
  for (int i = 0; i < T; ++i) {
    for (int j = 0; j < T; ++j) {
      const int oy = tp.y0 + i, ox = tp.x0 + j;
      dst[i * T + j] =
          oy < p.out_h && ox < p.out_w
              ? p.y + ((tp.b * p.out_h + static_cast<size_t>(oy)) * p.out_w + static_cast<size_t>(ox)) * K
              : nullptr;
    }
  }
}

// The 16 input pixels of a tile (row-major 4x4), null outside the image (zero
// padding). Interior tiles, nearly all of them, take fixed offsets from the
// first pixel instead of 16 bounds checks.
template <class P, class T>
HWY_INLINE void TileSources(const P& p, const T* x, const TilePos& tp, const T* (&src)[16]) {
  const int iy0 = tp.y0 - p.pad_top, ix0 = tp.x0 - p.pad_left;
  const size_t C = static_cast<size_t>(p.in_c), row = static_cast<size_t>(p.in_w) * C;
  if (iy0 >= 0 && iy0 + 4 <= p.in_h && ix0 >= 0 && ix0 + 4 <= p.in_w) {
    const T* base = x + ((tp.b * p.in_h + static_cast<size_t>(iy0)) * p.in_w + static_cast<size_t>(ix0)) * C;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        src[i * 4 + j] = base + static_cast<size_t>(i) * row + static_cast<size_t>(j) * C;
    return;
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const int iy = iy0 + i, ix = ix0 + j;
      const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
      src[i * 4 + j] =
          inside ? x + ((tp.b * p.in_h + static_cast<size_t>(iy)) * p.in_w + static_cast<size_t>(ix)) * C
                 : nullptr;
    }
  }
}

void WinogradInputF32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(p.in_c);
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * C;  // one of the 16 V matrices
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    // The 16 input pixels of the tile, or null outside the image (zero padding).
    const float* src[16];
    TileSources(p, p.x, TileAt<2>(p, tile), src);
    float* dst = p.v + (tile - p.buf_tile0) * C;
    size_t c = 0;
    for (; c + N <= C; c += N) {
      FACEATTR_VEC_ARRAY(V, d, 16);
      FACEATTR_VEC_ARRAY(V, v, 16);
      for (int k = 0; k < 16; ++k) d[k] = src[k] ? hn::LoadU(df, src[k] + c) : hn::Zero(df);
      InputTransform(d, v);
      for (int k = 0; k < 16; ++k) hn::StoreU(v[k], df, dst + k * plane + c);
    }
    for (; c < C; ++c) {
      float d[16], v[16];
      for (int k = 0; k < 16; ++k) d[k] = src[k] ? src[k][c] : 0.0f;
      InputTransform(d, v);
      for (int k = 0; k < 16; ++k) dst[k * plane + c] = v[k];
    }
  }
}

void WinogradOutputF32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  const size_t K = static_cast<size_t>(p.out_c), k_end = p.k_end ? p.k_end : K;
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * K;
  // Parameters in locals: the float stores may alias p's float fields.
  const float* const bias = p.bias;
  const Act act = p.act;
  const float alpha = p.alpha, lo = p.lo, hi = p.hi;
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const TilePos tp = TileAt<2>(p, tile);
    const float* src = p.m + (tile - p.buf_tile0) * K;
    float* dst[4];
    TileOutputs<2>(p, tp, K, dst);
    size_t k = p.k_begin;
    for (; k + N <= k_end; k += N) {
      FACEATTR_VEC_ARRAY(V, m, 16);
      FACEATTR_VEC_ARRAY(V, y, 4);
      for (int e = 0; e < 16; ++e) m[e] = hn::LoadU(df, src + e * plane + k);
      OutputTransform(m, y);
      const V vbias = hn::LoadU(df, bias + k);
      for (int e = 0; e < 4; ++e) {
        if (dst[e]) hn::StoreU(ApplyActF32(df, hn::Add(y[e], vbias), act, alpha, lo, hi), df, dst[e] + k);
      }
    }
    for (; k < k_end; ++k) {
      float m[16], y[4];
      for (int e = 0; e < 16; ++e) m[e] = src[e * plane + k];
      OutputTransform(m, y);
      for (int e = 0; e < 4; ++e) {
        if (!dst[e]) continue;
        const float v = y[e] + bias[k];
        dst[e][k] = act == Act::LeakyRelu ? (v < 0.0f ? v * alpha : v) : std::min(std::max(v, lo), hi);
      }
    }
  }
}

// ---- fp32 F(4x4, 3x3): 6x6 input tiles, 36 GEMMs, 4x4 output tiles ----
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
// A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] (Lavin and Gray);
// G (applied to the weights at packing) in conv2d_winograd.cpp. 4x fewer
// multiplications than the direct convolution (F(2x2, 3x3): 2.25x).
template <class D, class V, class Out>
HWY_INLINE void InputTransform6x1(D d, V d0, V d1, V d2, V d3, V d4, V d5, Out v, size_t stride) {
  const V four = hn::Set(d, 4.0f), five = hn::Set(d, 5.0f), two = hn::Set(d, 2.0f);
  const V a = hn::NegMulAdd(four, d2, d4), b = hn::NegMulAdd(four, d1, d3);
  const V c = hn::Sub(d4, d2), e = hn::Mul(two, hn::Sub(d3, d1));
  v[0 * stride] = hn::MulAdd(four, d0, hn::NegMulAdd(five, d2, d4));
  v[1 * stride] = hn::Add(a, b);
  v[2 * stride] = hn::Sub(a, b);
  v[3 * stride] = hn::Add(c, e);
  v[4 * stride] = hn::Sub(c, e);
  v[5 * stride] = hn::MulAdd(four, d1, hn::NegMulAdd(five, d3, d5));
}

template <class D, class V, class Out>
HWY_INLINE void OutputTransform6x1(D d, V m0, V m1, V m2, V m3, V m4, V m5, Out y, size_t stride) {
  const V two = hn::Set(d, 2.0f), four = hn::Set(d, 4.0f), eight = hn::Set(d, 8.0f);
  const V s12 = hn::Add(m1, m2), d12 = hn::Sub(m1, m2), s34 = hn::Add(m3, m4), d34 = hn::Sub(m3, m4);
  y[0 * stride] = hn::Add(hn::Add(m0, s12), s34);
  y[1 * stride] = hn::MulAdd(two, d34, d12);
  y[2 * stride] = hn::MulAdd(four, s34, s12);
  y[3 * stride] = hn::Add(hn::MulAdd(eight, d34, d12), m5);
}

// Channels [c, c + Lanes(d)) of one tile: B^T d B into the 36 planes.
template <class D>
HWY_INLINE void Input4Channels(D d, const float* const* src, size_t c, float* dst, size_t plane) {
  using V = hn::Vec<D>;
  FACEATTR_VEC_ARRAY(V, x, 36);
  FACEATTR_VEC_ARRAY(V, t, 36);
  FACEATTR_VEC_ARRAY(V, v, 36);
  for (int k = 0; k < 36; ++k) x[k] = src[k] ? hn::LoadU(d, src[k] + c) : hn::Zero(d);
  for (int j = 0; j < 6; ++j)  // columns: t = B^T x
    InputTransform6x1(d, x[j], x[6 + j], x[12 + j], x[18 + j], x[24 + j], x[30 + j], t + j, 6);
  for (int i = 0; i < 6; ++i)  // rows: v = t B
    InputTransform6x1(d, t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5],
                      v + 6 * i, 1);
  for (int k = 0; k < 36; ++k) hn::StoreU(v[k], d, dst + k * plane + c);
}

void Winograd4InputF32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;  // channels after the last full vector
  const size_t N = hn::Lanes(df);
  const size_t C = static_cast<size_t>(p.in_c);
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * C;
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const TilePos tp = TileAt<4>(p, tile);
    const int iy0 = tp.y0 - p.pad_top, ix0 = tp.x0 - p.pad_left;
    const float* src[36];  // null: padding
    const bool interior = iy0 >= 0 && iy0 + 6 <= p.in_h && ix0 >= 0 && ix0 + 6 <= p.in_w;
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 6; ++j) {
        const int iy = iy0 + i, ix = ix0 + j;
        src[i * 6 + j] = interior || (iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w)
                             ? p.x + (tp.b * p.in_h * p.in_w + static_cast<size_t>(iy) * p.in_w +
                                      static_cast<size_t>(ix)) *
                                         C
                             : nullptr;
      }
    }
    float* dst = p.v + (tile - p.buf_tile0) * C;
    size_t c = 0;
    for (; c + N <= C; c += N) Input4Channels(df, src, c, dst, plane);
    for (; c < C; ++c) Input4Channels(d1, src, c, dst, plane);
  }
}

// Channels [k, k + Lanes(d)) of one tile: A^T m A, bias, activation, into the outputs inside the image.
template <class D>
HWY_INLINE void Output4Channels(D d, const float* src, size_t plane, size_t k, float* const* dst,
                                const float* bias, Act act, float alpha, float lo, float hi) {
  using V = hn::Vec<D>;
  FACEATTR_VEC_ARRAY(V, m, 36);
  FACEATTR_VEC_ARRAY(V, t, 24);
  FACEATTR_VEC_ARRAY(V, y, 16);
  for (int e = 0; e < 36; ++e) m[e] = hn::LoadU(d, src + e * plane + k);
  for (int j = 0; j < 6; ++j)  // columns: t = A^T m (4 x 6)
    OutputTransform6x1(d, m[j], m[6 + j], m[12 + j], m[18 + j], m[24 + j], m[30 + j], t + j, 6);
  for (int i = 0; i < 4; ++i)  // rows: y = t A (4 x 4)
    OutputTransform6x1(d, t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5],
                       y + 4 * i, 1);
  const V vbias = hn::LoadU(d, bias + k);
  for (int e = 0; e < 16; ++e) {
    if (dst[e]) hn::StoreU(ApplyActF32(d, hn::Add(y[e], vbias), act, alpha, lo, hi), d, dst[e] + k);
  }
}

void Winograd4OutputF32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 1> d1;
  const size_t N = hn::Lanes(df);
  const size_t K = static_cast<size_t>(p.out_c), k_end = p.k_end ? p.k_end : K;
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * K;
  const float* const bias = p.bias;
  const Act act = p.act;
  const float alpha = p.alpha, lo = p.lo, hi = p.hi;
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const TilePos tp = TileAt<4>(p, tile);
    const float* src = p.m + (tile - p.buf_tile0) * K;
    float* dst[16];
    TileOutputs<4>(p, tp, K, dst);
    size_t k = p.k_begin;
    for (; k + N <= k_end; k += N) Output4Channels(df, src, plane, k, dst, bias, act, alpha, lo, hi);
    for (; k < k_end; ++k) Output4Channels(d1, src, plane, k, dst, bias, act, alpha, lo, hi);
  }
}

#if HWY_TARGET != HWY_SCALAR
// Channels [c, c + Lanes(d16)) of one tile: widen, subtract the zero point, transform.
template <class D16>
HWY_INLINE void InputChannelsI8(D16 d16, const int8_t* const* src, int32_t zp, size_t c, int16_t* dst,
                                size_t plane) {
  const hn::Rebind<int8_t, D16> d8;
  using V = hn::Vec<D16>;
  const V vzp = hn::Set(d16, static_cast<int16_t>(zp));
  FACEATTR_VEC_ARRAY(V, d, 16);
  FACEATTR_VEC_ARRAY(V, v, 16);
  for (int k = 0; k < 16; ++k)
    d[k] = src[k] ? hn::Sub(hn::PromoteTo(d16, hn::LoadU(d8, src[k] + c)), vzp) : hn::Zero(d16);
  InputTransform(d, v);
  for (int k = 0; k < 16; ++k) hn::StoreU(v[k], d16, dst + k * plane + c);
}
#endif

void WinogradInputI8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end) {
  const size_t C = static_cast<size_t>(p.in_c);
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * C;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int16_t> d16;
  const hn::Half<decltype(d16)> dh;  // a half vector for the channels after the last full one (24 = 16 + 8)
  const size_t N = hn::Lanes(d16), NH = hn::Lanes(dh);
#endif
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const int8_t* src[16];  // null: padding, whose (x - zero point) is 0
    TileSources(p, p.x, TileAt<2>(p, tile), src);
    int16_t* dst = p.v + (tile - p.buf_tile0) * C;
    size_t c = 0;
#if HWY_TARGET != HWY_SCALAR
    for (; c + N <= C; c += N) InputChannelsI8(d16, src, p.in_zp, c, dst, plane);
    for (; c + NH <= C; c += NH) InputChannelsI8(dh, src, p.in_zp, c, dst, plane);
#endif
    for (; c < C; ++c) {
      int32_t d[16], v[16];
      for (int k = 0; k < 16; ++k) d[k] = src[k] ? src[k][c] - p.in_zp : 0;
      InputTransform(d, v);
      for (int k = 0; k < 16; ++k) dst[k * plane + c] = static_cast<int16_t>(v[k]);
    }
  }
}

#if HWY_TARGET != HWY_SCALAR
// Tiles [tile_begin, tile_end), the whole vectors of channels [k_begin, k_end)
// from k_begin: output transform, bias, requantisation per kAct (chosen once per
// call). Returns the first channel left.
template <EpilogueAct kAct>
HWY_INLINE size_t OutputVectorsI8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Rebind<float, decltype(d32)> df;
  const hn::Rebind<int8_t, decltype(d32)> d8;
  using V = hn::Vec<decltype(d32)>;
  const size_t N = hn::Lanes(d32);
  const size_t K = static_cast<size_t>(p.out_c), k_end = p.k_end ? p.k_end : K;
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * K;
  // Parameters in locals: the int8 stores may alias p, which made the compiler
  // reload them (and re-broadcast the requantisation constants) after every store.
  const int32_t* const bias = p.bias;
  const float* const mult = p.mult;
  const float alpha = p.alpha;
  const int32_t zp = p.zp, qmin = p.qmin, qmax = p.qmax;
  const size_t k_begin = p.k_begin, k_stop = k_begin + (k_end - k_begin) / N * N;
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const TilePos tp = TileAt<2>(p, tile);
    const int32_t* src = p.m + (tile - p.buf_tile0) * K;
    int8_t* dst[4];
    TileOutputs<2>(p, tp, K, dst);
    for (size_t k = k_begin; k < k_stop; k += N) {
      FACEATTR_VEC_ARRAY(V, m, 16);
      FACEATTR_VEC_ARRAY(V, y, 4);
      for (int e = 0; e < 16; ++e) m[e] = hn::LoadU(d32, src + e * plane + k);
      OutputTransform(m, y);
      const V vbias = hn::LoadU(d32, bias + k);
      const auto vmult = hn::LoadU(df, mult + k);
      for (int e = 0; e < 4; ++e) {
        if (!dst[e]) continue;
        const V acc = hn::Add(hn::ShiftRight<2>(y[e]), vbias);  // y is exactly 4x the sum
        const auto q =
            RequantizeTile<kAct>(df, hn::Mul(hn::ConvertTo(df, acc), vmult), alpha, zp, qmin, qmax);
        hn::StoreU(hn::DemoteTo(d8, q), d8, dst[e] + k);
      }
    }
  }
  return k_stop;
}
#endif

void WinogradOutputI8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end) {
  const size_t K = static_cast<size_t>(p.out_c), k_end = p.k_end ? p.k_end : K;
  const size_t plane = (p.buf_tiles ? p.buf_tiles : p.tiles) * K;
  size_t k0 = p.k_begin;  // channels [k0, k_end) left to the scalar loop
#if HWY_TARGET != HWY_SCALAR
  switch (EpilogueActFor(p.act, p.alpha, p.floor_saturate)) {
    case EpilogueAct::kNone:
      k0 = OutputVectorsI8<EpilogueAct::kNone>(p, tile_begin, tile_end);
      break;
    case EpilogueAct::kLeakyMax:
      k0 = OutputVectorsI8<EpilogueAct::kLeakyMax>(p, tile_begin, tile_end);
      break;
    case EpilogueAct::kLeakySelect:
      k0 = OutputVectorsI8<EpilogueAct::kLeakySelect>(p, tile_begin, tile_end);
      break;
    case EpilogueAct::kFloorSaturate:
      k0 = OutputVectorsI8<EpilogueAct::kFloorSaturate>(p, tile_begin, tile_end);
      break;
  }
#endif
  if (k0 == k_end) return;
  const int32_t* const bias = p.bias;
  const float* const mult = p.mult;
  const Act act = p.act;
  const float alpha = p.alpha;
  const int32_t zp = p.zp, qmin = p.qmin, qmax = p.qmax;
  for (size_t tile = tile_begin; tile < tile_end; ++tile) {
    const TilePos tp = TileAt<2>(p, tile);
    const int32_t* src = p.m + (tile - p.buf_tile0) * K;
    int8_t* dst[4];
    TileOutputs<2>(p, tp, K, dst);
    for (size_t k = k0; k < k_end; ++k) {
      int32_t m[16], y[4];
      for (int e = 0; e < 16; ++e) m[e] = src[e * plane + k];
      OutputTransform(m, y);
      for (int e = 0; e < 4; ++e) {
        if (!dst[e]) continue;
        const int32_t acc = y[e] / 4 + bias[k];
        dst[e][k] = requantize_scaled(static_cast<float>(acc) * mult[k], act, alpha, zp, qmin, qmax);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(WinogradInputF32);
FACEATTR_HWY_EXPORT(WinogradOutputF32);
FACEATTR_HWY_EXPORT(Winograd4InputF32);
FACEATTR_HWY_EXPORT(Winograd4OutputF32);
FACEATTR_HWY_EXPORT(WinogradInputI8);
FACEATTR_HWY_EXPORT(WinogradOutputI8);

void winograd_input_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(WinogradInputF32)(p, tile_begin, tile_end);
}
void winograd_output_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(WinogradOutputF32)(p, tile_begin, tile_end);
}
void winograd4_input_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(Winograd4InputF32)(p, tile_begin, tile_end);
}
void winograd4_output_f32(const WinogradF32Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(Winograd4OutputF32)(p, tile_begin, tile_end);
}
void winograd_input_i8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(WinogradInputI8)(p, tile_begin, tile_end);
}
void winograd_output_i8(const WinogradI8Params& p, size_t tile_begin, size_t tile_end) {
  FACEATTR_HWY_CALL(WinogradOutputI8)(p, tile_begin, tile_end);
}

}  // namespace faceattr::kernels::simd
#endif
