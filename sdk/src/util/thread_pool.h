// A small fixed thread pool for the reference and SIMD kernels (XNNPACK uses
// pthreadpool). parallel_for never allocates, so kernels may call it per run.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

namespace faceattr {

class ThreadPool {
 public:
  // n_threads <= 1: no worker threads; parallel_for runs inline.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Calls fn(ctx, begin, end) over contiguous chunks covering [0, n), on the
  // calling thread and the workers, and returns when all chunks are done.
  void parallel_for(size_t n, void (*fn)(void* ctx, size_t begin, size_t end), void* ctx);

  template <class F>
  void parallel_for(size_t n, F&& f) {
    parallel_for(
        n, [](void* c, size_t b, size_t e) { (*static_cast<std::remove_reference_t<F>*>(c))(b, e); }, &f);
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serial fallback when pool is null.
template <class F>
void parallel_for(ThreadPool* pool, size_t n, F&& f) {
  if (pool == nullptr || pool->size() <= 1 || n <= 1) {
    if (n > 0) f(size_t{0}, n);
  } else {
    pool->parallel_for(n, f);
  }
}

}  // namespace faceattr
