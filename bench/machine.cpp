#include "machine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "kernels/kernels.h"
#include "kernels/simd/simd_kernels.h"

#if defined(FACEATTR_HAVE_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FACEATTR_BENCH_X86 1
#endif

namespace faceattr::bench {
namespace {

double cpuinfo_ghz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return std::atof(line.c_str() + colon + 1) / 1000.0;
    }
  }
  return 0;
}

double measure_ghz() {
#if defined(FACEATTR_BENCH_X86)
  double best = 0;
  // Many short tries (about 1 ms each) and the fastest: a try the OS preempts only reads low.
  for (int trial = 0; trial < 60; ++trial) {
    uint64_t iterations = 400000, x = 0;
    const auto t0 = std::chrono::steady_clock::now();
    // 8 dependent adds per iteration: 8 cycles (the loop counter runs alongside).
    asm volatile(
        "1:\n\t"
        "add $1, %[x]\n\tadd $1, %[x]\n\tadd $1, %[x]\n\tadd $1, %[x]\n\t"
        "add $1, %[x]\n\tadd $1, %[x]\n\tadd $1, %[x]\n\tadd $1, %[x]\n\t"
        "dec %[n]\n\tjnz 1b\n\t"
        : [x] "+r"(x), [n] "+r"(iterations)
        :
        : "cc");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 8.0 * 400000 / s / 1e9);
  }
  return best;
#else
  return 0;
#endif
}

}  // namespace

double Machine::f32_peak_gflops(int threads) const {
  return ghz() * f32_lanes * fma_pipes * 2.0 * std::min(std::max(threads, 1), cores);
}
double Machine::i8_peak_gops(int threads) const { return i8_per_f32 * f32_peak_gflops(threads); }

std::string Machine::describe() const {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "clock %.2f GHz measured (cpuinfo %.2f GHz), %d cores, %d fp32 lanes x %d FMA pipes: "
                "peak per core %.1f GFLOP/s fp32, %.1f GOP/s exact int8 (%s, %dx fp32)",
                ghz_measured, ghz_cpuinfo, cores, f32_lanes, fma_pipes, f32_peak_gflops(1), i8_peak_gops(1),
                i8_per_f32 == 4 ? "u8 x s8 vpdpbusd" : "int16 vpmaddwd", i8_per_f32);
  return buf;
}

const Machine& machine() {
  static const Machine m = [] {
    Machine r;
    r.ghz_cpuinfo = cpuinfo_ghz();
    r.ghz_measured = measure_ghz();
    r.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#if defined(FACEATTR_HAVE_SIMD)
    r.f32_lanes = static_cast<int>(kernels::simd::gemm_f32_panel_width() / 2);
    // VNNI's vpdpbusd: 4 exact u8 x s8 products per int32 lane in one instruction.
    if (std::string(kernels::simd::target_info().int8_path).find("vpdpbusd") != std::string::npos)
      r.i8_per_f32 = 4;
#else
    r.f32_lanes = 1;
#endif
    return r;
  }();
  return m;
}

Context::Context(int threads, kernels::Family family)
    : pool_(family == kernels::Family::Xnnpack ? 1 : threads) {
  ctx_.n_threads = threads;
  ctx_.pool = &pool_;
#if defined(FACEATTR_HAVE_XNNPACK)
  if (family == kernels::Family::Xnnpack && kernels::family_available(family)) {
    xnn_initialize(nullptr);
    if (threads > 1) xnn_pool_ = pthreadpool_create(static_cast<size_t>(threads));
    ctx_.xnn_threadpool = xnn_pool_;
  }
#endif
}

Context::~Context() {
#if defined(FACEATTR_HAVE_XNNPACK)
  if (xnn_pool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(xnn_pool_));
#endif
}

std::string models_dir() {
  if (const char* env = std::getenv("FACEATTR_MODELS_DIR")) return env;
  return FACEATTR_BENCH_MODELS_DIR;
}

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  out->assign(s.begin(), s.end());
  return true;
}

std::vector<std::string> shipped_models() {
  std::vector<std::string> names;
  for (const char* n : {"anet-int8", "anet-fp32", "lnet-int8", "lnet-fp32"}) {
    if (std::ifstream(models_dir() + "/" + n + ".fam").good()) names.push_back(n);
  }
  return names;
}

#if defined(FACEATTR_BENCH_X86)
// Inline assembly, so the compiler can neither fold nor spill: 12 independent
// accumulators (more than latency x pipes), one loop branch per 12 operations.
#define FACEATTR_ACC_CLOBBERS                                                                                \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "cc"
#define FACEATTR_REP12(op, ...)                                                                      \
  op(0, __VA_ARGS__) op(1, __VA_ARGS__) op(2, __VA_ARGS__) op(3, __VA_ARGS__) op(4, __VA_ARGS__)     \
      op(5, __VA_ARGS__) op(6, __VA_ARGS__) op(7, __VA_ARGS__) op(8, __VA_ARGS__) op(9, __VA_ARGS__) \
          op(10, __VA_ARGS__) op(11, __VA_ARGS__)
#define FACEATTR_ZERO(i, _) "vpxor %%ymm" #i ", %%ymm" #i ", %%ymm" #i "\n\t"
#define FACEATTR_FMA(i, _) "vfmadd231ps %%ymm12, %%ymm13, %%ymm" #i "\n\t"
#define FACEATTR_MADD(i, _) \
  "vpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm" #i ", %%ymm" #i "\n\t"
namespace {
double peak_f32_avx2(size_t iterations) {
  const float a = 0.999f, b = 0.0001f;
  uint64_t n = iterations;
  asm volatile(
      "vbroadcastss %[a], %%ymm12\n\tvbroadcastss %[b], %%ymm13\n\t" FACEATTR_REP12(
          FACEATTR_ZERO, 0) "1:\n\t" FACEATTR_REP12(FACEATTR_FMA, 0) "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
      : [n] "+r"(n)
      : [a] "m"(a), [b] "m"(b)
      : FACEATTR_ACC_CLOBBERS);
  return static_cast<double>(iterations) * 12 * 8 * 2;  // 8 lanes, multiply + add
}
double peak_i16_avx2(size_t iterations) {
  const float a = 1.5f, b = -2.5f;  // any bits: int16 pairs
  uint64_t n = iterations;
  asm volatile(
      "vbroadcastss %[a], %%ymm12\n\tvbroadcastss %[b], %%ymm13\n\t" FACEATTR_REP12(
          FACEATTR_ZERO, 0) "1:\n\t" FACEATTR_REP12(FACEATTR_MADD, 0) "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
      : [n] "+r"(n)
      : [a] "m"(a), [b] "m"(b)
      : FACEATTR_ACC_CLOBBERS);
  return static_cast<double>(iterations) * 12 * 16 * 2;  // 16 int16 products, multiply + add
}
// ymm0-11: sums, ymm12/13: two weight vectors, ymm14: the broadcast input pair, ymm15: products.
#define FACEATTR_TILE_CLOBBERS FACEATTR_ACC_CLOBBERS, "xmm15", "memory"
#define FACEATTR_REP6(op) op(0, 1, 0) op(2, 3, 4) op(4, 5, 8) op(6, 7, 12) op(8, 9, 16) op(10, 11, 20)
#define FACEATTR_ROW_WD(a, b, off)                                                                         \
  "vpbroadcastd " #off "(%[x]), %%ymm14\n\tvpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm" #a \
  ", %%ymm" #a "\n\tvpmaddwd %%ymm13, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm" #b ", %%ymm" #b "\n\t"
#define FACEATTR_ROW_UBS(a, b, off)                                                          \
  "vpbroadcastd " #off                                                                       \
  "(%[x]), %%ymm14\n\tvpmaddubsw %%ymm12, %%ymm14, %%ymm15\n\tvpmaddwd (%[ones]), %%ymm15, " \
  "%%ymm15\n\tvpaddd %%ymm15, %%ymm" #a ", %%ymm" #a                                         \
  "\n\tvpmaddubsw %%ymm13, %%ymm14, %%ymm15\n\tvpmaddwd "                                    \
  "(%[ones]), %%ymm15, %%ymm15\n\tvpaddd %%ymm15, %%ymm" #b ", %%ymm" #b "\n\t"
alignas(32) const int16_t kTileW[32] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
                                        1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
alignas(32) const int16_t kTileX[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
alignas(32) const int16_t kTileOnes[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
double peak_i16_tile_avx2(size_t iterations) {
  uint64_t n = iterations;
  asm volatile(FACEATTR_REP12(FACEATTR_ZERO, 0) "1:\n\tvmovdqa (%[w]), %%ymm12\n\tvmovdqa 32(%[w]), %%ymm13\n\t" FACEATTR_REP6(
                   FACEATTR_ROW_WD) "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
               : [n] "+r"(n)
               : [w] "r"(kTileW), [x] "r"(kTileX)
               : FACEATTR_TILE_CLOBBERS);
  return static_cast<double>(iterations) * 12 * 16 * 2;
}
double peak_u8s8_tile_avx2(size_t iterations) {
  uint64_t n = iterations;
  asm volatile(FACEATTR_REP12(FACEATTR_ZERO, 0) "1:\n\tvmovdqa (%[w]), %%ymm12\n\tvmovdqa 32(%[w]), %%ymm13\n\t" FACEATTR_REP6(
                   FACEATTR_ROW_UBS) "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
               : [n] "+r"(n)
               : [w] "r"(kTileW), [x] "r"(kTileX), [ones] "r"(kTileOnes)
               : FACEATTR_TILE_CLOBBERS);
  return static_cast<double>(iterations) * 12 * 32 * 2;
}
}  // namespace
double peak_loop_i16_tile(size_t iterations) {
  return __builtin_cpu_supports("avx2") ? peak_i16_tile_avx2(iterations) : 0;
}
double peak_loop_u8s8_tile(size_t iterations) {
  return __builtin_cpu_supports("avx2") ? peak_u8s8_tile_avx2(iterations) : 0;
}
double peak_loop_f32(size_t iterations) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? peak_f32_avx2(iterations) : 0;
}
double peak_loop_i16(size_t iterations) {
  return __builtin_cpu_supports("avx2") ? peak_i16_avx2(iterations) : 0;
}
#else
double peak_loop_f32(size_t) { return 0; }
double peak_loop_i16(size_t) { return 0; }
double peak_loop_i16_tile(size_t) { return 0; }
double peak_loop_u8s8_tile(size_t) { return 0; }
#endif

}  // namespace faceattr::bench
