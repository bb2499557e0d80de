// faceattr_layers: per-node times of one network, without Google Benchmark, so
// that the same tool runs natively and as WebAssembly under node (the browser's
// V8 and SIMD128 code, without the page): where does a model's time go in wasm,
// and which layers lose most against native?
//
//   faceattr_layers models/lnet-int8.fam [--runs 300] [--threads 1] [--family simd|reference|xnnpack]
//                   [--target AVX2]
//   node build-wasm/bench/faceattr_layers.js models/lnet-int8.fam --runs 300
//
// Each run executes the whole network node by node (Network::run_nodes) with a
// steady_clock around every node, then once more in one Network::run; prints,
// per node, the median and the minimum over the runs in microseconds and the
// median's share of the summed medians, then the whole run's median and
// minimum. The minimum is the steadier figure on a shared, noisy machine.
// --threads: the kernels' thread pool (the wasm build of this tool has no
// threads: 1 only). --target (native): run the simd family on this Highway
// target alone instead of the best one the CPU supports (one of those the usage
// text lists), to compare targets on one machine; an AVX-512 target then keeps
// its 512-bit fp32 panels (gemm_f32_narrow needs AVX2 beside it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

#include "graph/network.h"
#include "kernels/kernels.h"
#include "util/thread_pool.h"

namespace fk = faceattr::kernels;
namespace fm = faceattr::model;

namespace {

#ifndef __EMSCRIPTEN__
// The Highway targets this CPU runs and the SDK was compiled for, best first.
std::vector<int64_t> runnable_targets() { return hwy::SupportedAndGeneratedTargets(); }
#endif

int usage(const char* msg) {
  std::fprintf(stderr,
               "error: %s\nusage: faceattr_layers MODEL.fam [--runs N (1-100000, default 300)] "
               "[--threads T (1-16, default 1)] [--family simd|reference|xnnpack] [--target NAME]\n",
               msg);
#ifndef __EMSCRIPTEN__
  std::fprintf(stderr, "--target: one of");
  for (int64_t t : runnable_targets()) std::fprintf(stderr, " %s", hwy::TargetName(t));
  std::fprintf(stderr, " (compiled here and supported by this CPU)\n");
#endif
  return 2;
}

std::string shape_str(const std::vector<int>& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return r;
}

std::string describe(const fm::Model& m, size_t i) {
  const fm::Node& n = m.nodes[i];
  char buf[160];
  const std::string in = n.inputs.empty() || n.inputs[0] < 0 ? "" : shape_str(m.tensors[n.inputs[0]].shape);
  const std::string out = shape_str(m.tensors[n.output].shape);
  if (n.op == fm::Op::Conv2d) {
    const bool dw = n.groups > 1 && n.groups == m.tensors[n.inputs[0]].shape[3];
    std::snprintf(buf, sizeof(buf), "%s%dx%d s%d %s %s -> %s", dw ? "dwconv" : "conv", n.kernel_h, n.kernel_w,
                  n.stride_h, m.tensors[n.output].dtype == fm::DType::I8 ? "i8" : "f32", in.c_str(),
                  out.c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "%s %s -> %s", fm::op_name(n.op), in.c_str(), out.c_str());
  }
  return buf;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, family = "simd", target;
  long runs = 300, threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      char* end = nullptr;
      runs = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || runs < 1 || runs > 100000) return usage("--runs must be an integer in 1..100000");
    } else if (a == "--threads" && i + 1 < argc) {
      char* end = nullptr;
      threads = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || threads < 1 || threads > 16) return usage("--threads must be an integer in 1..16");
    } else if (a == "--family" && i + 1 < argc) {
      family = argv[++i];
    } else if (a == "--target" && i + 1 < argc) {
      target = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      return usage(("unknown option " + a).c_str());
    } else if (path.empty()) {
      path = a;
    } else {
      return usage("more than one model file");
    }
  }
  if (path.empty()) return usage("no model file");
  fk::Family fam;
  if (family == "simd") {
    fam = fk::Family::Simd;
  } else if (family == "reference") {
    fam = fk::Family::Reference;
  } else if (family == "xnnpack") {
    fam = fk::Family::Xnnpack;
  } else {
    return usage(("unknown family " + family).c_str());
  }
  if (!target.empty()) {
#ifdef __EMSCRIPTEN__
    return usage("--target is for native builds (wasm has one target)");
#else
    int64_t chosen = 0;
    for (int64_t t : runnable_targets())
      if (target == hwy::TargetName(t)) chosen = t;
    if (chosen == 0) return usage(("unknown or unsupported target " + target).c_str());
    hwy::SetSupportedTargetsForTest(chosen);  // before the kernels bind: they pack for this target
#endif
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return usage(("cannot open " + path).c_str());
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());

  faceattr::ThreadPool pool(static_cast<int>(threads));
  fk::ExecContext ctx;
  ctx.n_threads = pool.size();  // 1 in a wasm build without threads
  ctx.pool = &pool;
  faceattr::Network net;
  const faceattr::Status st = net.load(bytes.data(), bytes.size(), fam, ctx);
  if (!st.is_ok()) {
    std::fprintf(stderr, "error: %s: %s\n", path.c_str(), st.message().c_str());
    return 1;
  }
  if (net.main_family() != fam) {
    std::fprintf(stderr, "error: the %s family serves none of this network's convolutions here\n",
                 family.c_str());
    return 1;
  }
  float* x = net.input_ptr();
  for (size_t i = 0; i < net.input_elements(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));

  const size_t nodes = net.node_count();
  std::vector<std::vector<double>> us(nodes, std::vector<double>(static_cast<size_t>(runs)));
  std::vector<double> whole(static_cast<size_t>(runs));
  for (long w = 0; w < std::min(runs, 20L); ++w) (void)net.run();  // warm-up
  for (long r = 0; r < runs; ++r) {
    for (size_t i = 0; i < nodes; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!net.run_nodes(i, i + 1).is_ok()) {
        std::fprintf(stderr, "error: node %zu failed\n", i);
        return 1;
      }
      us[i][static_cast<size_t>(r)] =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (!net.run().is_ok()) {
      std::fprintf(stderr, "error: the network run failed\n");
      return 1;
    }
    whole[static_cast<size_t>(r)] =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  std::vector<double> med(nodes);
  double total = 0;
  for (size_t i = 0; i < nodes; ++i) total += (med[i] = median(us[i]));
  auto min_of = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  std::printf("%s: %s family%s%s, %d thread%s, median and minimum of %ld runs per node\n", path.c_str(),
              family.c_str(), target.empty() ? "" : " on ", target.c_str(), ctx.n_threads,
              ctx.n_threads == 1 ? "" : "s", runs);
  std::printf("%4s %10s %10s %6s  %s\n", "node", "median us", "min us", "share", "op");
  for (size_t i = 0; i < nodes; ++i)
    std::printf("%4zu %10.1f %10.1f %5.1f%%  %s\n", i, med[i], min_of(us[i]), 100.0 * med[i] / total,
                describe(net.model(), i).c_str());
  std::printf("%4s %10.1f\n", "sum", total);
  std::printf("%4s %10.1f %10.1f  (one Network::run)\n", "run", median(whole), min_of(whole));
  return 0;
}
