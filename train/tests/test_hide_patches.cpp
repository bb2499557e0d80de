// Hide-and-Seek on LNet training scenes (data/scenes.h, hide_patches): hidden
// patches are exactly the grid cells set to 0, nothing else changes, and a
// disabled hide leaves the scene and the generator untouched.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "data/scenes.h"

namespace ft = faceattr::train;

namespace {

ft::Scene random_scene(int w, int h, uint32_t seed) {
  ft::Scene s;
  s.width = w;
  s.height = h;
  s.pixels.resize(static_cast<size_t>(w) * h * 3);
  std::mt19937 rng(seed);
  // Never exactly 0, so a 0 pixel can only come from hiding.
  for (auto& v : s.pixels) v = std::uniform_real_distribution<float>(0.05f, 2.0f)(rng);
  s.faces.push_back({10, 12, 20, 22});
  s.tags.assign(41, 0.0f);
  s.tags.back() = 1.0f;
  return s;
}

bool pixel_zero(const ft::Scene& s, int x, int y) {
  const float* p = &s.pixels[(static_cast<size_t>(y) * s.width + x) * 3];
  return p[0] == 0 && p[1] == 0 && p[2] == 0;
}

}  // namespace

TEST_CASE("hide_patches: probability 0 or no patch sizes leaves the scene and the generator untouched") {
  const ft::Scene ref = random_scene(64, 48, 1);
  for (auto [prob, sizes] : {std::pair<float, std::vector<int>>{0.0f, {8, 16}}, {0.5f, {}}}) {
    ft::Scene s = ref;
    std::mt19937 rng(7), untouched(7);
    CHECK(ft::hide_patches(s, prob, sizes, rng) == 0);
    CHECK(s.pixels == ref.pixels);
    CHECK(rng() == untouched());
  }
  // A drawn patch size of 0 hides nothing either.
  ft::Scene s = ref;
  std::mt19937 rng(3);
  CHECK(ft::hide_patches(s, 1.0f, {0}, rng) == 0);
  CHECK(s.pixels == ref.pixels);
}

TEST_CASE("hide_patches: hidden pixels form whole grid cells set to 0, labels and boxes unchanged") {
  const ft::Scene ref = random_scene(64, 48, 2);
  int scenes_with_hiding = 0;
  for (uint32_t seed = 0; seed < 20; ++seed) {
    ft::Scene s = ref;
    std::mt19937 rng(seed);
    const int side = 8;
    const int hidden = ft::hide_patches(s, 0.5f, {side}, rng);
    int zeros = 0;
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x) {
        if (pixel_zero(s, x, y)) {
          ++zeros;
        } else {
          const size_t i = (static_cast<size_t>(y) * s.width + x) * 3;
          REQUIRE(s.pixels[i] == ref.pixels[i]);  // a visible pixel is never altered
        }
      }
    CHECK(zeros == hidden);
    scenes_with_hiding += hidden > 0;
    // Hidden pixels come in whole grid cells: a run of zeros along a row or a column that does
    // not touch the border starts and ends on cell boundaries, so its length is a multiple of side.
    auto runs = [&](int n_lines, int len_line, auto zero_at) {
      for (int l = 0; l < n_lines; ++l)
        for (int a = 0; a < len_line;) {
          if (!zero_at(l, a)) {
            ++a;
            continue;
          }
          int e = a;
          while (e < len_line && zero_at(l, e)) ++e;
          if (a > 0 && e < len_line) CHECK((e - a) % side == 0);
          a = e;
        }
    };
    runs(s.height, s.width, [&](int y, int x) { return pixel_zero(s, x, y); });
    runs(s.width, s.height, [&](int x, int y) { return pixel_zero(s, x, y); });
    CHECK(s.faces.size() == 1);
    CHECK(s.faces[0].w == 20);
    CHECK(s.tags == ref.tags);
  }
  // About half the cells are hidden: some scenes certainly have hidden patches.
  CHECK(scenes_with_hiding >= 18);
  // Probability 1 hides everything.
  ft::Scene all = ref;
  std::mt19937 rng(5);
  CHECK(ft::hide_patches(all, 1.0f, {16}, rng) == all.width * all.height);
  for (float v : all.pixels) REQUIRE(v == 0.0f);
}

TEST_CASE("hide_patches: the hidden share follows the probability") {
  const ft::Scene ref = random_scene(128, 96, 4);
  std::mt19937 rng(11);
  double hidden = 0, total = 0;
  for (int i = 0; i < 200; ++i) {
    ft::Scene s = ref;
    hidden += ft::hide_patches(s, 0.3f, {8, 16, 24}, rng);
    total += s.width * s.height;
  }
  CHECK(hidden / total > 0.25);
  CHECK(hidden / total < 0.35);
}
