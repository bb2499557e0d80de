// Kernel micro-benchmarks: conv2d / fully connected per family (reference,
// xnnpack, simd) and dtype on the model's representative layer shapes,
// single-threaded, reporting GFLOP/s (2 * multiply-adds per second).
//
//   faceattr_bench_kernels --benchmark_min_time=0.2 --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace fk = faceattr::kernels;

namespace {

struct Shape {
  const char* name;
  fk::Conv2dDesc d;  // FC layers use in_c -> out_c on a 1x1 image
  bool fc = false;
};

fk::Conv2dDesc conv(int h, int w, int ic, int oc, int k, int s, int pad, int groups) {
  fk::Conv2dDesc d;
  d.in_h = h;
  d.in_w = w;
  d.in_c = ic;
  d.out_c = oc;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = s;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
  d.groups = groups;
  d.act = fk::Act::Relu;
  d.out_h = (h + 2 * pad - k) / s + 1;
  d.out_w = (w + 2 * pad - k) / s + 1;
  return d;
}

std::vector<Shape> shapes() {
  return {
      {"conv3x3s2_80x64_3to32", conv(80, 64, 3, 32, 3, 2, 1, 1)},
      {"dw3x3_40x32x32", conv(40, 32, 32, 32, 3, 1, 1, 32)},
      {"pw1x1_40x32_32to64", conv(40, 32, 32, 64, 1, 1, 0, 1)},
      {"pw1x1_10x8_128to256", conv(10, 8, 128, 256, 1, 1, 0, 1)},
      {"conv3x3_20x16_64to64", conv(20, 16, 64, 64, 3, 1, 1, 1)},
      {"fc_256to40", conv(1, 1, 256, 40, 1, 1, 0, 1), true},
  };
}

fk::KernelPtr make(fk::Family fam, const Shape& s, const fk::ConvWeights& w) {
  if (s.fc) {
    fk::FullyConnectedDesc f;
    f.in_features = s.d.in_c;
    f.out_features = s.d.out_c;
    f.act = s.d.act;
    f.dtype = s.d.dtype;
    f.in_q = s.d.in_q;
    f.out_q = s.d.out_q;
    switch (fam) {
      case fk::Family::Reference:
        return fk::reference::make_fully_connected(f, w);
      case fk::Family::Xnnpack:
        return fk::xnnpack::make_fully_connected(f, w);
      case fk::Family::Simd:
        return fk::simd::make_fully_connected(f, w);
    }
  }
  switch (fam) {
    case fk::Family::Reference:
      return fk::reference::make_conv2d(s.d, w);
    case fk::Family::Xnnpack:
      return fk::xnnpack::make_conv2d(s.d, w);
    case fk::Family::Simd:
      return fk::simd::make_conv2d(s.d, w);
  }
  return nullptr;
}

void run_layer(benchmark::State& state, fk::Family fam, Shape s) {
  const fk::Conv2dDesc& d = s.d;
  const size_t k = static_cast<size_t>(d.kernel_h) * d.kernel_w * (d.in_c / d.groups);
  const size_t n_w = k * d.out_c;
  const size_t n_in = static_cast<size_t>(d.in_h) * d.in_w * d.in_c;
  const size_t n_out = static_cast<size_t>(d.out_h) * d.out_w * d.out_c;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uf(-1.0f, 1.0f);
  std::uniform_int_distribution<int> ui(-127, 127);
  // Activations keep fk::kInputSlackBytes of readable slack (kernels.h contract).
  const size_t slack = fk::kInputSlackBytes;
  std::vector<float> wf(n_w), bf(d.out_c), xf(n_in + slack / 4), yf(n_out + slack / 4), ws(d.out_c, 0.01f);
  std::vector<int8_t> wq(n_w), xq(n_in + slack), yq(n_out + slack);
  std::vector<int32_t> bq(d.out_c);
  for (auto& v : wf) v = uf(rng);
  for (auto& v : bf) v = uf(rng);
  for (auto& v : xf) v = uf(rng);
  for (auto& v : wq) v = static_cast<int8_t>(ui(rng));
  for (auto& v : xq) v = static_cast<int8_t>(ui(rng));
  for (auto& v : bq) v = ui(rng) * 10;
  const bool i8 = d.dtype == fk::DType::I8;
  const fk::ConvWeights w =
      i8 ? fk::ConvWeights{wq.data(), ws.data(), bq.data()} : fk::ConvWeights{wf.data(), nullptr, bf.data()};
  auto kernel = make(fam, s, w);
  if (!kernel) {
    state.SkipWithError("family declined this layer");
    return;
  }
  fk::ExecContext ctx;
  const void* x = i8 ? static_cast<const void*>(xq.data()) : xf.data();
  void* y = i8 ? static_cast<void*>(yq.data()) : yf.data();
  if (!kernel->bind(&x, 1, y, ctx)) {
    state.SkipWithError("bind failed");
    return;
  }
  for (auto _ : state) {
    kernel->run(ctx);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(k) * static_cast<double>(n_out);
  state.counters["GFLOPS"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (fk::DType dtype : {fk::DType::F32, fk::DType::I8}) {
    for (Shape s : shapes()) {
      s.d.dtype = dtype;
      if (dtype == fk::DType::I8) {
        s.d.in_q = {0.02f, 3};
        s.d.out_q = {0.05f, -10};
      }
      for (fk::Family fam : {fk::Family::Reference, fk::Family::Xnnpack, fk::Family::Simd}) {
        if (!fk::family_available(fam)) continue;
        const std::string name =
            std::string(s.name) + (dtype == fk::DType::F32 ? "/f32/" : "/i8/") + fk::family_name(fam);
        benchmark::RegisterBenchmark(name.c_str(), run_layer, fam, s)->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
