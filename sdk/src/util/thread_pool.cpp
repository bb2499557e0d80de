// Persistent workers that spin briefly between jobs and then sleep.
//
// A job's chunks are split into one contiguous range per thread (the caller
// is thread 0), so the same thread handles the same rows / output channels
// of a layer on every run and keeps its part of the weights in its own cache;
// a thread that finishes its range steals from the others'. Each range's
// cursor is one 64-bit word, (generation << 32) | next chunk, claimed by
// compare-and-swap, so a claim only succeeds for the job the thread read the
// fields of, and the caller never waits for a worker that has not woken up
// yet: it waits only for chunks that were claimed and are still running.
// Workers spin on the generation for a short while after each job (a network
// runs one or two jobs per layer, microseconds apart), so the next job costs
// a cache-line transfer rather than a futex wake-up, then sleep on a
// condition variable so an idle session burns no CPU. A call allocates nothing.
#include "util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#define FACEATTR_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
// ISB waits for the pipeline to drain, a short pause without memory traffic; YIELD
// is a no-op on most cores (Rust's spin_loop hint on aarch64 is ISB for that reason).
#define FACEATTR_CPU_RELAX() __asm__ __volatile__("isb" ::: "memory")
#else
#define FACEATTR_CPU_RELAX() ((void)0)
#endif

namespace faceattr {
namespace {
// Set on worker threads and on a caller while it runs a job: nested calls run inline.
thread_local bool t_in_parallel = false;

// How long an idle worker keeps polling for the next job before sleeping.
constexpr auto kSpinTime = std::chrono::microseconds(300);
constexpr auto kPauseTime = std::chrono::microseconds(50);  // of which pure spinning

constexpr uint64_t kIndexMask = 0xffffffffu;
uint64_t gen_of(uint64_t word) { return word >> 32; }
uint64_t index_of(uint64_t word) { return word & kIndexMask; }
}  // namespace

struct ThreadPool::Impl {
  // One thread's range of the current job; each on its own cache line.
  struct alignas(64) Range {
    std::atomic<uint64_t> cursor{0};  // (generation << 32) | next chunk
    std::atomic<size_t> end{0};       // one past its last chunk
  };

  int n_threads = 1;
  std::vector<std::thread> workers;
  std::unique_ptr<Range[]> ranges;  // n_threads
  std::mutex call_mutex;            // serialises parallel_for callers

  // The current job. Fields are atomics (relaxed) because a late worker may
  // read them while the next job is being written; its claim then fails.
  alignas(64) std::atomic<uint64_t> generation{0};
  std::atomic<void (*)(void*, size_t, size_t)> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<size_t> n{0}, chunks{1};      // chunk i is [n * i / chunks, n * (i + 1) / chunks)
  alignas(64) std::atomic<size_t> done{0};  // chunks of the current job finished
  alignas(64) std::atomic<int> sleepers{0};
  std::mutex mutex;  // guards the sleep/wake hand-over and stop
  std::condition_variable wake;
  bool stop = false;
  std::atomic<bool> stopping{false};

  // Claims and runs chunks of range r of job `gen` until it is exhausted.
  void run_range(uint64_t gen, int r) {
    Range& range = ranges[static_cast<size_t>(r)];
    for (;;) {
      uint64_t word = range.cursor.load(std::memory_order_acquire);
      if (gen_of(word) != gen) return;
      const size_t i = static_cast<size_t>(index_of(word));
      auto* const f = fn.load(std::memory_order_relaxed);
      void* const c = ctx.load(std::memory_order_relaxed);
      const size_t total = n.load(std::memory_order_relaxed);
      const size_t nc = chunks.load(std::memory_order_relaxed);
      if (i >= range.end.load(std::memory_order_acquire)) return;
      if (!range.cursor.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel,
                                              std::memory_order_relaxed)) {
        continue;
      }
      // The claim succeeded on (gen, i), so the fields read above were job gen's:
      // the caller rewrites them only after every chunk of gen is done.
      f(c, total * i / nc, total * (i + 1) / nc);
      done.fetch_add(1, std::memory_order_release);
    }
  }

  // Thread `self`'s own range first, then the others' leftovers.
  void run_job(uint64_t gen, int self) {
    for (int k = 0; k < n_threads; ++k) run_range(gen, (self + k) % n_threads);
  }

  void worker_loop(int self) {
    t_in_parallel = true;
    uint64_t seen = generation.load(std::memory_order_acquire);
    for (;;) {
      uint64_t gen = generation.load(std::memory_order_acquire);
      if (gen == seen) {
        const auto start = std::chrono::steady_clock::now();
        for (int spins = 0; gen == seen; ++spins) {
          if (stopping.load(std::memory_order_relaxed)) return;
          if ((spins & 63) == 63) {
            const auto waited = std::chrono::steady_clock::now() - start;
            if (waited > kSpinTime) break;
            // Past the first stretch, let a thread that shares this core (the
            // caller, on a busy machine) run instead of burning its time slice.
            if (waited > kPauseTime) std::this_thread::yield();
          }
          FACEATTR_CPU_RELAX();
          gen = generation.load(std::memory_order_acquire);
        }
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        wake.wait(lock, [&] { return stop || generation.load(std::memory_order_seq_cst) != seen; });
        sleepers.fetch_sub(1, std::memory_order_relaxed);
        if (stop) return;
        gen = generation.load(std::memory_order_acquire);
      }
      seen = gen;
      run_job(gen, self);
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
  n_threads = 1;  // a wasm build without -pthread cannot start threads
#endif
  impl_->n_threads = std::max(1, n_threads);
  impl_->ranges.reset(new Impl::Range[static_cast<size_t>(impl_->n_threads)]);
  impl_->workers.reserve(static_cast<size_t>(impl_->n_threads - 1));
  for (int i = 1; i < impl_->n_threads; ++i)
    impl_->workers.emplace_back([this, i] { impl_->worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
    impl_->stopping.store(true);
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
  // A few chunks per thread let threads that finish early (or a worker that
  // is late to wake) take over the rest without much claiming overhead. The
  // chunks differ in size by at most one index, and there are 4 per thread
  // (n permitting), so the threads' ranges are equal: with chunks of a fixed
  // ceil(n / 8) indices, 42 indices on 2 threads made 7 chunks of 6 (ranges of
  // 18 and 24) and 36 made 8 chunks, the last of 1 (ranges of 20 and 16).
  const size_t threads = static_cast<size_t>(p.n_threads);
  const size_t n_chunks = std::min(n, threads * 4);
  p.fn.store(fn, std::memory_order_relaxed);
  p.ctx.store(ctx, std::memory_order_relaxed);
  p.n.store(n, std::memory_order_relaxed);
  p.chunks.store(n_chunks, std::memory_order_relaxed);
  p.done.store(0, std::memory_order_relaxed);
  const uint64_t gen = (p.generation.load(std::memory_order_relaxed) + 1) & kIndexMask;
  for (size_t t = 0; t < threads; ++t) {
    // The cursor before the end. A late worker of the previous job may hold that job's
    // exhausted cursor (gen - 1, old end); were the new, larger end visible to it while
    // the cursor still held that word, its claim would succeed and run a stale chunk
    // (with the previous job's fn and ctx) inside this job. With this order, a worker
    // that sees the new end (acquire) also sees the new cursor, and its claim fails.
    p.ranges[t].cursor.store(gen << 32 | (n_chunks * t / threads), std::memory_order_release);
    p.ranges[t].end.store(n_chunks * (t + 1) / threads, std::memory_order_release);
  }
  p.generation.store(gen, std::memory_order_seq_cst);  // publishes the job
  if (p.sleepers.load(std::memory_order_seq_cst) > 0) {
    // A worker that counted itself a sleeper re-checks the generation under
    // the mutex before waiting, so taking it here orders the notify after that.
    { std::lock_guard<std::mutex> lock(p.mutex); }
    p.wake.notify_all();
  }
  t_in_parallel = true;
  p.run_job(gen, 0);
  t_in_parallel = false;
  for (int spins = 0; p.done.load(std::memory_order_acquire) < n_chunks; ++spins) {
    if (spins < 4096) {
      FACEATTR_CPU_RELAX();
    } else {
      std::this_thread::yield();  // a worker holding a chunk was descheduled
    }
  }
}

}  // namespace faceattr
