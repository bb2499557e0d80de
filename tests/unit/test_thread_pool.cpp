#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "util/thread_pool.h"

TEST_CASE("parallel_for covers every index exactly once", "[thread_pool]") {
  for (int threads : {1, 2, 3, 8}) {
    faceattr::ThreadPool pool(threads);
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
    CHECK(pool.size() == 1);
#else
    CHECK(pool.size() == threads);
#endif
    for (size_t n : {0, 1, 2, 5, 31, 1000}) {
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<int> bad_range{0};  // Catch's assertions are not for worker threads
        pool.parallel_for(n, [&](size_t b, size_t e) {
          if (!(b < e && e <= n)) bad_range.fetch_add(1);
          for (size_t i = b; i < e && i < n; ++i) hits[i].fetch_add(1);
        });
        REQUIRE(bad_range.load() == 0);
        for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
      }
    }
  }
}

// Chunks are 4 per thread (n permitting) and differ in size by at most one index,
// so every thread's range holds the same work: 36 or 42 tasks on 2 threads are
// 8 chunks of 4-5 or 5-6 (ranges of 18 + 18, 21 + 21), not seven chunks of 5 and one
// of 1 (ranges of 20 + 16) or 7 chunks of 6 (18 + 24).
TEST_CASE("parallel_for chunks are even", "[thread_pool]") {
  faceattr::ThreadPool pool(2);
  if (pool.size() < 2) return;  // a wasm build without threads runs inline: one chunk
  for (size_t n : {3, 8, 36, 42, 1000}) {
    std::vector<size_t> sizes;
    std::mutex m;
    pool.parallel_for(n, [&](size_t b, size_t e) {
      std::lock_guard<std::mutex> lock(m);
      sizes.push_back(e - b);
    });
    INFO("n = " << n);
    REQUIRE(sizes.size() == std::min<size_t>(n, 8));
    const auto [lo, hi] = std::minmax_element(sizes.begin(), sizes.end());
    CHECK(*hi - *lo <= 1);
  }
}

TEST_CASE("nested parallel_for runs inline", "[thread_pool]") {
  faceattr::ThreadPool pool(3);
  std::atomic<int> total{0};
  pool.parallel_for(6, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i)
      pool.parallel_for(10, [&](size_t b2, size_t e2) { total.fetch_add(static_cast<int>(e2 - b2)); });
  });
  CHECK(total.load() == 60);
}

TEST_CASE("free parallel_for with a null pool runs serially", "[thread_pool]") {
  int calls = 0;
  size_t covered = 0;
  faceattr::parallel_for(nullptr, 17, [&](size_t b, size_t e) {
    ++calls;
    covered += e - b;
  });
  CHECK(calls == 1);
  CHECK(covered == 17);
}

TEST_CASE("back-to-back jobs never mix, and sleeping workers wake up", "[thread_pool]") {
  // Workers spin between jobs, claim chunks by compare-and-swap on (job, chunk)
  // and sleep after a few hundred microseconds idle: many short jobs with
  // different callbacks stress the hand-over, the pauses the sleep/wake path.
  for (int threads : {2, 3, 4, 8}) {
    faceattr::ThreadPool pool(threads);
    std::vector<int> a(7), b(13);
    for (int job = 0; job < 3000; ++job) {
      std::vector<int>& v = job % 2 ? a : b;
      const int tag = job;
      pool.parallel_for(v.size(), [&v, tag](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) v[i] = tag;
      });
      for (int x : v) REQUIRE(x == tag);
      if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TEST_CASE("a late worker never runs a chunk of a finished job inside the next", "[thread_pool]") {
  // A worker that finished its range of one job may still hold that range's exhausted
  // cursor when the next job starts. Ranges that grow and shrink from job to job (3 and
  // 29 chunks here) must not let it claim a chunk of the old job against the new job's
  // end: that chunk would run with the old job's callback and count toward the new one.
  // Checked without Catch inside the callback (it runs on the workers).
  for (int threads : {2, 3, 4, 8}) {
    faceattr::ThreadPool pool(threads);
    std::atomic<long> bad{0};
    // Fewer jobs with more threads than cores: each job then waits for descheduled workers.
    const int jobs = threads > 4 ? 20000 : 100000;
    for (int job = 0; job < jobs; ++job) {
      const size_t n = job % 2 ? 3 : 29;
      std::atomic<int> hits[29] = {};
      pool.parallel_for(n, [&](size_t b, size_t e) {
        if (b >= e || e > n) bad.fetch_add(1);
        for (size_t i = b; i < e && i < 29; ++i) hits[i].fetch_add(1);
      });
      for (size_t i = 0; i < n; ++i)
        if (hits[i].load() != 1) bad.fetch_add(1);
    }
    CHECK(bad.load() == 0);
  }
}
