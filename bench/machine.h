// Shared by the Google Benchmark binaries in bench/ (machine.cpp): the shipped models and
// this machine's peak arithmetic rate.
//
// Peak (per core) = SIMD lanes x FMA pipes x 2 x clock:
//  - lanes: fp32 lanes of the Highway target the SIMD family dispatches to
//    (8 for AVX2, 16 for AVX-512, 4 for SSE4/WASM);
//  - FMA pipes: 2 (every x86 core with AVX2 since Haswell / Zen 1 issues two
//    vector FMAs per cycle; Zen 3's FP0 and FP1);
//  - clock: measured here with a chain of dependent integer adds (one per
//    cycle on every x86 core), the best of several tries, so it is the clock
//    the core actually runs at (turbo included); /proc/cpuinfo's "cpu MHz" is
//    printed beside it (on a VM it is often the nominal clock).
// int8 peak: with AVX-512 VNNI (Highway's AVX3_DL) vpdpbusd sums 4 exact
// u8 x s8 products per int32 lane in one instruction: 4x the fp32 peak.
// Without it the exact int8 path is
// sign-extension to int16 plus vpmaddwd (16 int16 products summed in pairs
// into 8 int32 lanes per 256-bit instruction, two per cycle on Zen 3) and
// vpaddd into the accumulator; so the exact int8 peak is taken as 2x the fp32
// peak (2 x lanes multiply-adds per instruction, two instructions per cycle).
// The vpaddd shares those pipes, so the register-only loop (peak/madd_i16)
// reaches about 75-80% of it on Zen 3, against about 96% for fp32 FMAs.
// vpmaddubsw would double it again but saturates its int16 pair sums in
// general; the kernels use it only for weights in [-64, 64] (7-bit exports),
// where it cannot, and the yardstick stays 2x.
// The binaries also measure both peaks with register-only loops
// (peak/fma_f32, peak/madd_i16) to check these assumptions on the machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace faceattr::bench {

struct Machine {
  double ghz_cpuinfo = 0;   // /proc/cpuinfo "cpu MHz" / 1000 (0 if absent)
  double ghz_measured = 0;  // dependent-add chain (0 where not measured)
  int cores = 1;            // online CPUs
  int f32_lanes = 1;        // of the SIMD family's dispatch target
  int fma_pipes = 2;
  int i8_per_f32 = 2;  // exact int8 products per fp32 FMA lane: 2 (vpmaddwd), 4 with VNNI's vpdpbusd
  double ghz() const { return ghz_measured > 0 ? ghz_measured : ghz_cpuinfo; }
  double f32_peak_gflops(int threads) const;  // per `threads` cores (capped at cores)
  double i8_peak_gops(int threads) const;     // exact int8 (see above): i8_per_f32 x fp32
  std::string describe() const;
};
const Machine& machine();  // measured once

// The directory with the shipped models: $FACEATTR_MODELS_DIR, else the source tree's models/.
std::string models_dir();
// The shipped networks, in a fixed order; missing files are skipped.
std::vector<std::string> shipped_models();  // e.g. {"anet-int8", ...}
bool read_file(const std::string& path, std::vector<uint8_t>* out);

// The thread pools a session's kernels run with: faceattr's pool, and for the
// XNNPACK family its pthreadpool (above 1 thread, as in a session). Only the
// family under test gets its pool: a pthreadpool's idle workers spin for a
// while after creation and would take a core from the faceattr pool's worker.
class Context {
 public:
  Context(int threads, kernels::Family family);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  const kernels::ExecContext& get() const { return ctx_; }

 private:
  ThreadPool pool_;
  kernels::ExecContext ctx_;
  void* xnn_pool_ = nullptr;
};

// Register-only peak loops; return the arithmetic operations done (0 if not supported here).
double peak_loop_f32(size_t iterations);
double peak_loop_i16(size_t iterations);
// The int8 GEMM's inner step as it runs (6 x 2 tile, L1-resident operands): two
// weight vectors loaded, six input pairs broadcast, 12 vpmaddwd + vpaddd; and the
// same tile with the saturating u8 x s8 scheme ONNX Runtime uses on AVX2 without
// VNNI (vpmaddubsw + vpmaddwd by ones + vpaddd: 32 products per pair of
// multiplies instead of 16). Operations counted as 2 per product.
double peak_loop_i16_tile(size_t iterations);
double peak_loop_u8s8_tile(size_t iterations);

}  // namespace faceattr::bench
