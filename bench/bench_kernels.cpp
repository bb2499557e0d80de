// Kernel benchmarks over the layers of the shipped models: every node of
// models/{anet,lnet}-{int8,fp32}.fam (read with the SDK loader, so the shapes,
// weights and quantisation are the real ones) is built for each kernel family
// compiled in (reference, xnnpack, simd) and run alone at 1 and 2 threads.
// Conv / fully connected nodes report GFLOPS (2 x multiply-adds per second;
// int8 counts its integer multiply-adds the same way) and peak, the fraction
// of this machine's peak for the dtype at that thread count (see machine.h:
// lanes x FMA pipes x 2 x measured clock, int8 = 2x fp32). peak/* measure
// what register-only loops reach, to check that peak; peak/*_tile the int8
// GEMM's 6 x 2 register-tile step (broadcasts and weight loads included) and
// the same step with ONNX Runtime's saturating u8 x s8 instructions.
//
//   faceattr_bench_kernels --benchmark_min_time=0.1 --benchmark_filter='anet-int8/.*/t1'
//   faceattr_bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true  (adds "min")
//   faceattr_bench_kernels --benchmark_filter='peak|conv' --benchmark_format=json
// Names: <model>/<node index>_<op shape>/<family>/t<threads>. $FACEATTR_MODELS_DIR overrides models/.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "graph/node_kernel.h"
#include "kernels/kernels.h"
#include "machine.h"
#include "model/model.h"
#include "util/thread_pool.h"

namespace fk = faceattr::kernels;
namespace fm = faceattr::model;
namespace fb = faceattr::bench;

namespace {

struct LoadedModel {
  std::string name;
  fm::Model model;
};

double node_flops(const fm::Model& m, const fm::Node& n) {
  if (n.op != fm::Op::Conv2d && n.op != fm::Op::FullyConnected) return 0;
  const fm::Tensor& w = m.tensors[n.inputs[1]];  // [out_c][kh][kw][in_c / groups] or [out][in]
  const fm::Tensor& y = m.tensors[n.output];
  const double per_output = static_cast<double>(w.elements) / w.shape[0];
  return 2.0 * per_output * static_cast<double>(y.elements);
}

std::string shape_name(const fm::Model& m, const fm::Node& n) {
  const fm::Tensor& x = m.tensors[n.inputs[0]];
  const fm::Tensor& y = m.tensors[n.output];
  char buf[160];
  auto dims = [](const fm::Tensor& t) {
    std::string s;
    for (size_t i = 1; i < t.shape.size(); ++i) s += (i > 1 ? "x" : "") + std::to_string(t.shape[i]);
    return s;
  };
  if (n.op == fm::Op::Conv2d) {
    const bool dw = n.groups > 1 && n.groups == x.shape[3];
    std::snprintf(buf, sizeof(buf), "%s%dx%ds%d_%s_to_%s", dw ? "dw" : (n.groups > 1 ? "gconv" : "conv"),
                  n.kernel_h, n.kernel_w, n.stride_h, dims(x).c_str(), dims(y).c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "%s_%s_to_%s", fm::op_name(n.op), dims(x).c_str(), dims(y).c_str());
  }
  std::string s = buf;
  for (char& c : s)
    if (c == ' ') c = '_';
  return s;
}

void fill_random(const fm::Tensor& t, std::vector<uint8_t>* buf, std::mt19937* rng) {
  buf->assign(t.bytes() + fk::kInputSlackBytes + 64, 0);
  if (t.dtype == fm::DType::F32) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (size_t i = 0; i < t.elements; ++i) {
      const float v = u(*rng);
      std::memcpy(buf->data() + i * 4, &v, 4);
    }
  } else {
    std::uniform_int_distribution<int> u(-128, 127);
    for (size_t i = 0; i < t.bytes(); ++i) (*buf)[i] = static_cast<uint8_t>(u(*rng));
  }
}

void run_node(benchmark::State& state, const LoadedModel* lm, size_t index, fk::Family fam, int threads) {
  const fm::Model& m = lm->model;
  const fm::Node& n = m.nodes[index];
  fb::Context ctx(threads, fam);
  fk::Dispatch dispatch;
  dispatch.preferred = fam;
  std::vector<float> scales;
  fk::KernelPtr kernel;
  fk::Family used = fk::Family::Reference;
  if (!faceattr::graph::make_node_kernel(m, index, dispatch, &scales, &kernel, &used).is_ok() ||
      used != fam) {
    state.SkipWithError("this family has no kernel for the node");
    return;
  }
  std::mt19937 rng(static_cast<unsigned>(index) + 1);
  std::vector<std::vector<uint8_t>> inputs(faceattr::graph::bound_input_count(n));
  std::vector<const void*> ptrs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    fill_random(m.tensors[n.inputs[k]], &inputs[k], &rng);
    ptrs.push_back(inputs[k].data());
  }
  std::vector<uint8_t> out;
  fill_random(m.tensors[n.output], &out, &rng);
  if (!kernel->bind(ptrs.data(), ptrs.size(), out.data(), ctx.get())) {
    state.SkipWithError("bind failed");
    return;
  }
  for (auto _ : state) {
    kernel->run(ctx.get());
    benchmark::ClobberMemory();
  }
  const double flops = node_flops(m, n);
  if (flops > 0) {
    const bool i8 = m.tensors[n.inputs[0]].dtype == fm::DType::I8;
    const fb::Machine& mc = fb::machine();
    const double peak = (i8 ? mc.i8_peak_gops(threads) : mc.f32_peak_gflops(threads)) * 1e9;
    state.counters["GFLOPS"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak"] = benchmark::Counter(flops / peak, benchmark::Counter::kIsIterationInvariantRate);
  }
}

// With --benchmark_repetitions: on a shared machine the fastest repetition is the least disturbed.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void run_peak(benchmark::State& state, double (*loop)(size_t), bool i8) {
  constexpr size_t kIterations = 100000;
  double ops = 0;
  for (auto _ : state) ops = loop(kIterations);
  if (ops == 0) {
    state.SkipWithError("no register-only peak loop for this CPU");
    return;
  }
  const fb::Machine& mc = fb::machine();
  const double peak = (i8 ? mc.i8_peak_gops(1) : mc.f32_peak_gflops(1)) * 1e9;
  state.counters["GFLOPS"] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak"] = benchmark::Counter(ops / peak, benchmark::Counter::kIsIterationInvariantRate);
}

// One parallel_for of `threads` x 4 near-empty chunks: the pool's hand-over cost per kernel call.
void run_pool(benchmark::State& state, int threads) {
  faceattr::ThreadPool pool(threads);
  std::vector<size_t> sink(64 * 16);
  for (auto _ : state) {
    pool.parallel_for(static_cast<size_t>(threads) * 4,
                      [&sink](size_t begin, size_t) { sink[begin * 16] += 1; });
    benchmark::ClobberMemory();
  }
}

// 16 chunks of fixed scalar work (about 5 us each): how the pool scales when
// the kernels' memory behaviour is out of the picture.
void run_pool_compute(benchmark::State& state, int threads) {
  faceattr::ThreadPool pool(threads);
  std::vector<double> out(16 * 8);
  for (auto _ : state) {
    pool.parallel_for(16, [&out](size_t begin, size_t end) {
      for (size_t c = begin; c < end; ++c) {
        double x = 1.0 + 1e-9 * static_cast<double>(c);
        for (int i = 0; i < 4000; ++i) x = x * 0.999999 + 1e-7;
        out[c * 8] = x;
      }
    });
    benchmark::ClobberMemory();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const fb::Machine& mc = fb::machine();
  benchmark::AddCustomContext("faceattr_peak", mc.describe());
  benchmark::AddCustomContext("faceattr_models", fb::models_dir());
  benchmark::RegisterBenchmark("peak/fma_f32/t1", run_peak, fb::peak_loop_f32, false)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("peak/madd_i16/t1", run_peak, fb::peak_loop_i16, true)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("peak/madd_i16_tile/t1", run_peak, fb::peak_loop_i16_tile, true)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("peak/maddubs_u8s8_tile/t1", run_peak, fb::peak_loop_u8s8_tile, true)
      ->Unit(benchmark::kMicrosecond);

  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(("pool/parallel_for/t" + std::to_string(threads)).c_str(), run_pool, threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("pool/compute_16x5us/t" + std::to_string(threads)).c_str(),
                                 run_pool_compute, threads)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime()
        ->ComputeStatistics("min", min_of);
  }

  static std::vector<std::unique_ptr<LoadedModel>> models;  // outlive the registered benchmarks
  for (const std::string& name : fb::shipped_models()) {
    std::vector<uint8_t> bytes;
    auto lm = std::make_unique<LoadedModel>();
    lm->name = name;
    if (!fb::read_file(fb::models_dir() + "/" + name + ".fam", &bytes) ||
        !fm::load_model(bytes.data(), bytes.size(), &lm->model).is_ok()) {
      std::fprintf(stderr, "bench_kernels: cannot load %s/%s.fam\n", fb::models_dir().c_str(), name.c_str());
      return 1;
    }
    models.push_back(std::move(lm));
  }
  if (models.empty()) std::fprintf(stderr, "bench_kernels: no models in %s\n", fb::models_dir().c_str());
  for (const auto& lm : models) {
    for (size_t i = 0; i < lm->model.nodes.size(); ++i) {
      const std::string node = std::to_string(i) + "_" + shape_name(lm->model, lm->model.nodes[i]);
      for (fk::Family fam : {fk::Family::Reference, fk::Family::Xnnpack, fk::Family::Simd}) {
        if (!fk::family_available(fam)) continue;
        for (int threads : {1, 2}) {
          const std::string name =
              lm->name + "/" + node + "/" + fk::family_name(fam) + "/t" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_node, lm.get(), i, fam, threads)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime()
              ->ComputeStatistics("min", min_of);
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
