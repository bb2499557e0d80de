#include <atomic>
#include <catch2/catch.hpp>
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
        pool.parallel_for(n, [&](size_t b, size_t e) {
          REQUIRE(b < e);
          REQUIRE(e <= n);
          for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
      }
    }
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
