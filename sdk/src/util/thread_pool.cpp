// Persistent workers woken per parallel_for through a generation counter.
// Work is split into contiguous chunks claimed with an atomic counter, so a
// call allocates nothing and slow threads do not hold the others up.
#include "util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace faceattr {
namespace {
// Set on worker threads and on a caller while it runs a job: nested calls run inline.
thread_local bool t_in_parallel = false;
}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;

  std::mutex call_mutex;  // serialises parallel_for callers
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable done;
  uint64_t generation = 0;
  bool stop = false;
  int busy_workers = 0;

  // The current job; written under `mutex` before the generation bump.
  void (*fn)(void*, size_t, size_t) = nullptr;
  void* ctx = nullptr;
  size_t n = 0;
  size_t chunk = 1;
  size_t n_chunks = 0;
  std::atomic<size_t> next_chunk{0};

  void run_chunks() {
    for (;;) {
      const size_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= n_chunks) return;
      const size_t begin = c * chunk;
      const size_t end = std::min(n, begin + chunk);
      fn(ctx, begin, end);
    }
  }

  void worker_loop() {
    t_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
      }
      run_chunks();
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (--busy_workers == 0) done.notify_one();
      }
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
  n_threads = 1;  // a wasm build without -pthread cannot start threads
#endif
  impl_->n_threads = std::max(1, n_threads);
  impl_->workers.reserve(static_cast<size_t>(impl_->n_threads - 1));
  for (int i = 1; i < impl_->n_threads; ++i) impl_->workers.emplace_back([this] { impl_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->workers) t.join();
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::parallel_for(size_t n, void (*fn)(void* ctx, size_t begin, size_t end), void* ctx) {
  if (n == 0) return;
  Impl& p = *impl_;
  if (p.workers.empty() || n == 1 || t_in_parallel) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(p.call_mutex);
  // A few chunks per thread balance uneven work without much claiming overhead.
  const size_t target = std::min(n, static_cast<size_t>(p.n_threads) * 4);
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.fn = fn;
    p.ctx = ctx;
    p.n = n;
    p.chunk = (n + target - 1) / target;
    p.n_chunks = (n + p.chunk - 1) / p.chunk;
    p.next_chunk.store(0, std::memory_order_relaxed);
    p.busy_workers = static_cast<int>(p.workers.size());
    ++p.generation;
  }
  p.wake.notify_all();
  t_in_parallel = true;
  p.run_chunks();
  t_in_parallel = false;
  std::unique_lock<std::mutex> lock(p.mutex);
  p.done.wait(lock, [&] { return p.busy_workers == 0; });
}

}  // namespace faceattr
