// Helpers for the kernel tests: bind+run, seeded random tensors, families.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifdef FACEATTR_HAVE_XNNPACK
#include <pthreadpool.h>
#endif

#include <catch2/catch.hpp>

#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace faceattr::kernels::test {

inline bool bind_and_run(Kernel& k, std::vector<const void*> inputs, void* output, const ExecContext& ctx) {
  if (!k.bind(inputs.data(), inputs.size(), output, ctx)) return false;
  k.run(ctx);
  return true;
}

// Kernel inputs may be read up to kInputSlackBytes past their end (XNNPACK's
// XNN_EXTRA_BYTES contract; the SDK's arena keeps that slack after every tensor).
// Test inputs therefore own zeroed, readable slack beyond size().
template <typename T>
std::vector<T> with_slack(size_t n) {
  std::vector<T> v(n + (kInputSlackBytes + sizeof(T) - 1) / sizeof(T), T{});
  v.resize(n);  // shrinking keeps the allocation: the slack stays readable and zeroed
  return v;
}

inline std::vector<float> random_f32(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  auto v = with_slack<float>(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<int8_t> random_i8(std::mt19937& rng, size_t n, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> dist(lo, hi);
  auto v = with_slack<int8_t>(n);
  for (auto& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

inline std::vector<int32_t> random_i32(std::mt19937& rng, size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline int rand_int(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

inline float rand_float(std::mt19937& rng, float lo, float hi) {
  return std::uniform_real_distribution<float>(lo, hi)(rng);
}

// Random window geometry (kernel 1..max_kernel, stride 1..3, padding below the kernel
// size on each side) for a conv or pool descriptor, drawn in one fixed order.
template <typename Desc>
void random_window(std::mt19937& rng, int max_kernel, Desc* d) {
  d->kernel_h = rand_int(rng, 1, max_kernel);
  d->kernel_w = rand_int(rng, 1, max_kernel);
  d->stride_h = rand_int(rng, 1, 3);
  d->stride_w = rand_int(rng, 1, 3);
  d->pad_top = rand_int(rng, 0, d->kernel_h - 1);
  d->pad_bottom = rand_int(rng, 0, d->kernel_h - 1);
  d->pad_left = rand_int(rng, 0, d->kernel_w - 1);
  d->pad_right = rand_int(rng, 0, d->kernel_w - 1);
}

// The reference and an optimised single-input kernel on the same input `x`: fills
// `want` and `got` (n_out values each). `got` starts as `poison`, so an output the
// optimised kernel leaves unwritten shows up as a mismatch.
template <typename T>
void run_pair(Kernel& ref, Kernel& opt, const std::vector<T>& x, size_t n_out, T poison,
              const ExecContext& ctx, std::vector<T>* want, std::vector<T>* got) {
  *want = with_slack<T>(n_out);
  *got = with_slack<T>(n_out);
  std::fill(got->begin(), got->end(), poison);
  REQUIRE(bind_and_run(ref, {x.data()}, want->data(), ctx));
  REQUIRE(bind_and_run(opt, {x.data()}, got->data(), ctx));
}

// Calls <family>::fn(args...) for a runtime family.
#define FA_MAKE(family, fn, ...)                                                                    \
  ((family) == ::faceattr::kernels::Family::Xnnpack ? ::faceattr::kernels::xnnpack::fn(__VA_ARGS__) \
   : (family) == ::faceattr::kernels::Family::Simd  ? ::faceattr::kernels::simd::fn(__VA_ARGS__)    \
                                                    : ::faceattr::kernels::reference::fn(__VA_ARGS__))

// When set, optimized_families() returns only this family (per-target runs).
inline const Family*& only_family() {
  static const Family* only = nullptr;
  return only;
}
class OnlyFamily {
 public:
  explicit OnlyFamily(Family f) : f_(f) { only_family() = &f_; }
  ~OnlyFamily() { only_family() = nullptr; }

 private:
  Family f_;
};

// The optimised families built into this binary and usable on this CPU.
inline std::vector<Family> optimized_families() {
  std::vector<Family> out;
  for (Family f : {Family::Xnnpack, Family::Simd}) {
    if (family_available(f) && (only_family() == nullptr || *only_family() == f)) out.push_back(f);
  }
  return out;
}

// The optimised families to check at `threads` threads: all of them up to 2; past
// that, those that split work over the SDK's own pool (SIMD). XNNPACK runs on
// pthreadpool, whose every run waits for all of its threads: with more threads
// than cores each run costs scheduler time slices (the pool2d suite at 3 threads:
// 5.5 s with XNNPACK against 0.07 s with SIMD, 2 busy cores).
inline std::vector<Family> families_at(int threads) {
  std::vector<Family> out = optimized_families();
  if (threads > 2) out.erase(std::remove(out.begin(), out.end(), Family::Xnnpack), out.end());
  return out;
}

// An ExecContext with or without worker threads (both pools when threads > 1).
class TestContext {
 public:
  explicit TestContext(int threads) : pool_(threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr) {
    ctx_.n_threads = threads;
    ctx_.pool = pool_.get();
#ifdef FACEATTR_HAVE_XNNPACK
    if (threads > 1) {
      xnn_pool_ = pthreadpool_create(static_cast<size_t>(threads));
      ctx_.xnn_threadpool = xnn_pool_;
    }
#endif
  }
  ~TestContext() {
#ifdef FACEATTR_HAVE_XNNPACK
    if (xnn_pool_ != nullptr) pthreadpool_destroy(xnn_pool_);
#endif
  }
  TestContext(const TestContext&) = delete;
  TestContext& operator=(const TestContext&) = delete;
  const ExecContext& ctx() const { return ctx_; }

 private:
  std::unique_ptr<ThreadPool> pool_;
  ExecContext ctx_;
#ifdef FACEATTR_HAVE_XNNPACK
  pthreadpool_t xnn_pool_ = nullptr;
#endif
};

// Counts elements where |got - want| > tol[i] (tol broadcast when it has one
// entry); `report` receives the worst offender for the failure message.
inline size_t count_mismatches_f32(const std::vector<float>& want, const std::vector<float>& got,
                                   const std::vector<float>& tol, std::string* report) {
  size_t bad = 0;
  double worst = -1.0;
  std::ostringstream os;
  for (size_t i = 0; i < want.size(); ++i) {
    const float t = tol.size() == 1 ? tol[0] : tol[i];
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= t)) {
      ++bad;
      if (!(err <= worst)) {
        worst = err;
        os.str("");
        os << "index " << i << ": want " << want[i] << " got " << got[i] << " tol " << t;
      }
    }
  }
  if (report) *report = bad ? os.str() : "";
  return bad;
}

// Counts int8 elements that differ by more than max_lsb.
inline size_t count_mismatches_i8(const std::vector<int8_t>& want, const std::vector<int8_t>& got,
                                  int max_lsb, std::string* report) {
  size_t bad = 0;
  std::ostringstream os;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::abs(int(got[i]) - int(want[i])) > max_lsb) {
      if (bad == 0) os << "index " << i << ": want " << int(want[i]) << " got " << int(got[i]);
      ++bad;
    }
  }
  if (report) *report = os.str();
  return bad;
}

// Fraction of elements that differ at all (int8 rounding-tie differences are
// rare; a family that is off by one everywhere has a systematic bug).
inline double fraction_different_i8(const std::vector<int8_t>& want, const std::vector<int8_t>& got) {
  size_t n = 0;
  for (size_t i = 0; i < want.size(); ++i) n += want[i] != got[i];
  return want.empty() ? 0.0 : static_cast<double>(n) / want.size();
}

template <class T>
std::vector<T> abs_values(const std::vector<T>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::abs(v[i]);
  return out;
}

}  // namespace faceattr::kernels::test
