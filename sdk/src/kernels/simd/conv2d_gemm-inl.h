// The panel and row-tile driver of the GEMM loops (conv2d_gemm_f32.cpp,
// conv2d_gemm_i8.cpp), included inside HWY_NAMESPACE once per target; hence
// the include guard toggles with HWY_TARGET_TOGGLE.
#if defined(FACEATTR_SIMD_CONV2D_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FACEATTR_SIMD_CONV2D_GEMM_INL_H_
#undef FACEATTR_SIMD_CONV2D_GEMM_INL_H_
#else
#define FACEATTR_SIMD_CONV2D_GEMM_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// The rows left after whole tiles: one tile of exactly that many rows.
template <template <size_t, size_t> class Tile, size_t V, size_t R, class P>
HWY_INLINE void GemmTail(const P& p, size_t m, size_t panel, size_t rows) {
  if constexpr (R > 0) {
    if (rows == R) {
      Tile<R, V>::Run(p, m, panel);
    } else {
      GemmTail<Tile, V, R - 1>(p, m, panel, rows);
    }
  }
}

// Output rows [m_begin, m_end) of panels [panel_begin, panel_end), in
// register tiles of R rows x V vectors: Tile<R, V>::Run(p, m, panel) computes
// and stores the tile at row m of a panel.
template <template <size_t, size_t> class Tile, size_t V, size_t R, class P>
void GemmPanels(const P& p, size_t m_begin, size_t m_end, size_t panel_begin, size_t panel_end) {
  for (size_t panel = panel_begin; panel < panel_end; ++panel) {
    size_t m = m_begin;
    for (; m + R <= m_end; m += R) Tile<R, V>::Run(p, m, panel);
    GemmTail<Tile, V, R - 1>(p, m, panel, m_end - m);
  }
}

// As GemmPanels with panels of p.vectors (2 or 3) vectors and R2 / R3 rows per tile.
template <template <size_t, size_t> class Tile, size_t R2, size_t R3, class P>
HWY_INLINE void GemmPanelsByWidth(const P& p, size_t m_begin, size_t m_end, size_t panel_begin,
                                  size_t panel_end) {
  if (p.vectors == 3) {
    GemmPanels<Tile, 3, R3>(p, m_begin, m_end, panel_begin, panel_end);
  } else {
    GemmPanels<Tile, 2, R2>(p, m_begin, m_end, panel_begin, panel_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
