// faceattr_get_simd_info: the SIMD backend's target is the one Highway
// dispatches to, for each target this CPU runs, and one of those compiled.
#include <catch2/catch.hpp>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
#include <hwy/targets.h>
#endif

namespace {

std::vector<std::string> words(const char* s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

TEST_CASE("simd info: a NULL out is refused", "[api][simd]") {
  CHECK(faceattr_get_simd_info(nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::strstr(faceattr_last_error(), "faceattr_get_simd_info") != nullptr);
}

#if defined(FACEATTR_HAVE_SIMD) && !defined(__EMSCRIPTEN__)
TEST_CASE("simd info: the target Highway dispatches to, on every target this CPU runs", "[api][simd]") {
  faceattr_simd_info info{};
  REQUIRE(faceattr_get_simd_info(&info) == FACEATTR_OK);
  const std::vector<std::string> compiled = words(info.compiled);
  REQUIRE(!compiled.empty());
  // The best target first: the default dispatch picks the first compiled one the CPU runs.
  const std::vector<int64_t> runs = hwy::SupportedAndGeneratedTargets();
  REQUIRE(!runs.empty());
  int64_t best = runs.front();
#if HWY_ARCH_ARM_A64
  // Except on ARM: Highway 1.0.3 dispatches to SVE2 (or SVE) even where the CPU
  // also runs the fixed-width SVE2_128 or SVE_256 target (under qemu with 128-
  // and 256-bit vectors, whose SupportedTargets() lists them). Those two are
  // checked below, where the loop selects each target on its own.
  for (int64_t target : runs) {
    if (target != HWY_SVE2_128 && target != HWY_SVE_256) {
      best = target;
      break;
    }
  }
#endif
  CHECK(std::string(info.target) == hwy::TargetName(best));
  for (int64_t target : runs) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    faceattr_simd_info t{};
    REQUIRE(faceattr_get_simd_info(&t) == FACEATTR_OK);
    CHECK(std::string(t.target) == hwy::TargetName(target));
    CHECK(std::find(compiled.begin(), compiled.end(), std::string(t.target)) != compiled.end());
    CHECK(std::strlen(t.int8_path) > 0);
    CHECK(t.vector_bits >= 8);  // the scalar target: one 8-bit lane
    CHECK(t.vector_bits <= 2048);
#if defined(__x86_64__)
    // x86: u8 x s8 products from AVX2 on; VNNI's vpdpbusd only on AVX3_DL (GCC builds).
    const std::string path = t.int8_path;
    CHECK((path.find("u8 x s8") != std::string::npos) == (target <= HWY_AVX2 && target != HWY_SCALAR));
    if (target == HWY_AVX2) CHECK(t.vector_bits == 256);
#endif
  }
  hwy::SetSupportedTargetsForTest(0);
}
#endif
