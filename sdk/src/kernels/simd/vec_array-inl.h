// Arrays of SIMD vectors on every Highway target, for the register tiles and
// transforms of the simd/ sources (included inside each of them, once per
// target; hence the include guard toggles with HWY_TARGET_TOGGLE).
//
// SVE's vector types are sizeless: they cannot be array elements or class
// members, and pointers to them allow no arithmetic. On those targets
// (HWY_HAVE_SCALABLE) FACEATTR_VEC_ARRAY declares each element as its own local
// variable plus a table of pointers to them, wrapped in VecRefs, whose
// operator[] returns the element and whose + gives a VecPtr (the pointer-like
// view that the transforms take). Once a loop is unrolled the indexes are
// constants, the compiler replaces each access by the variable itself and the
// element lives in a register, as an array element does on fixed-width
// targets. Elsewhere the macros declare plain arrays, so the generated code
// there is what the arrays give.
#if defined(FACEATTR_SIMD_VEC_ARRAY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FACEATTR_SIMD_VEC_ARRAY_INL_H_
#undef FACEATTR_SIMD_VEC_ARRAY_INL_H_
#else
#define FACEATTR_SIMD_VEC_ARRAY_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>

#undef FACEATTR_VEC_ARRAY
#undef FACEATTR_VEC_ARRAY2

#if HWY_HAVE_SCALABLE

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

// The largest array FACEATTR_VEC_ARRAY declares (the 6 x 6 Winograd tiles).
constexpr size_t kMaxVecArray = 36;

// A pointer into a VecRefs table: p[i] is element i from here.
template <class T>
class VecPtr {
 public:
  explicit VecPtr(T* const* p) : p_(p) {}
  HWY_INLINE T& operator[](size_t i) const { return *p_[i]; }
  HWY_INLINE VecPtr operator+(size_t i) const { return VecPtr(p_ + i); }

 private:
  T* const* p_;
};

// N vectors, held in the caller's local variables: a[i], a + i.
template <class T, size_t N>
class VecRefs {
 public:
  static_assert(N <= kMaxVecArray, "raise kMaxVecArray and FACEATTR_VEC_LOCALS");
  explicit VecRefs(T* const (&all)[kMaxVecArray]) {
    for (size_t i = 0; i < N; ++i) p_[i] = all[i];
  }
  HWY_INLINE T& operator[](size_t i) const { return *p_[i]; }
  HWY_INLINE VecPtr<T> operator+(size_t i) const { return VecPtr<T>(p_ + i); }

 private:
  T* p_[N];
};

// A x B vectors, row-major: a[i][j].
template <class T, size_t A, size_t B>
class VecRefs2 {
 public:
  static_assert(A * B <= kMaxVecArray, "raise kMaxVecArray and FACEATTR_VEC_LOCALS");
  explicit VecRefs2(T* const (&all)[kMaxVecArray]) {
    for (size_t i = 0; i < A * B; ++i) p_[i] = all[i];
  }
  HWY_INLINE VecPtr<T> operator[](size_t i) const { return VecPtr<T>(p_ + i * B); }

 private:
  T* p_[A * B];
};

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

// clang-format off
#define FACEATTR_VEC_LOCALS(T, n)                                                           \
  T n##_0, n##_1, n##_2, n##_3, n##_4, n##_5, n##_6, n##_7, n##_8, n##_9, n##_10, n##_11,  \
      n##_12, n##_13, n##_14, n##_15, n##_16, n##_17, n##_18, n##_19, n##_20, n##_21,      \
      n##_22, n##_23, n##_24, n##_25, n##_26, n##_27, n##_28, n##_29, n##_30, n##_31,      \
      n##_32, n##_33, n##_34, n##_35
#define FACEATTR_VEC_ADDRS(n)                                                               \
  {&n##_0, &n##_1, &n##_2, &n##_3, &n##_4, &n##_5, &n##_6, &n##_7, &n##_8, &n##_9,          \
   &n##_10, &n##_11, &n##_12, &n##_13, &n##_14, &n##_15, &n##_16, &n##_17, &n##_18,         \
   &n##_19, &n##_20, &n##_21, &n##_22, &n##_23, &n##_24, &n##_25, &n##_26, &n##_27,         \
   &n##_28, &n##_29, &n##_30, &n##_31, &n##_32, &n##_33, &n##_34, &n##_35}
// clang-format on

// T name[count] / T name[rows][cols], as local variables.
#define FACEATTR_VEC_ARRAY(T, name, count) \
  FACEATTR_VEC_LOCALS(T, name##_elem);     \
  const ::faceattr::kernels::simd::HWY_NAMESPACE::VecRefs<T, count> name(FACEATTR_VEC_ADDRS(name##_elem))
#define FACEATTR_VEC_ARRAY2(T, name, rows, cols)                                \
  FACEATTR_VEC_LOCALS(T, name##_elem);                                          \
  const ::faceattr::kernels::simd::HWY_NAMESPACE::VecRefs2<T, rows, cols> name( \
      FACEATTR_VEC_ADDRS(name##_elem))

#else  // fixed-width vectors: plain arrays

#define FACEATTR_VEC_ARRAY(T, name, count) T name[count]
#define FACEATTR_VEC_ARRAY2(T, name, rows, cols) T name[rows][cols]

#endif  // HWY_HAVE_SCALABLE

#endif  // per-target include guard
