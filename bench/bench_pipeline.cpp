// Whole-network and pipeline latency per kernel family and thread count (1, 2):
//  net/<model>/<family>/t<T>       the network alone (faceattr::Network::run on a
//                                  filled input), what `faceattr bench` times as
//                                  the anet / lnet stage and bench/compare.mjs
//                                  compares with ONNX Runtime;
//  layers/<model>/<family>/t<T>    the same whole-network run, each node timed
//                                  on its own (steady_clock around it): one
//                                  counter per node, µs per run (n<index>_<op>),
//                                  to set against ORT's per-node profile
//                                  (bench/profile-ort.mjs);
//  crop/<anet>/<backend>/t<T>      faceattr_session_predict_crop on a 320x240
//                                  frame: preprocessing + ANet through the C API;
//  frame/<anet>+<lnet>/<backend>/t<T>  faceattr_session_predict on the same
//                                  frame: letterbox + LNet + decode (+ ANet per
//                                  face found; counter faces);
//  explain/<anet>/<backend>/t<T>   faceattr_session_explain of one attribute
//                                  (Smiling) after a whole-image predict on the
//                                  same frame: the cost of a map over predict's
//                                  (set against crop/*).
// The frame is synthetic (smooth gradients), so LNet usually finds no face
// there: frame/* is the localiser's cost; crop/* the attribute stage's.
// Each benchmark also reports a "min" aggregate with --benchmark_repetitions
// (on a shared machine the fastest repetition is the least disturbed one).
//
//   faceattr_bench_pipeline --benchmark_repetitions=5 --benchmark_min_time=0.2
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "kernels/kernels.h"
#include "machine.h"

namespace fk = faceattr::kernels;
namespace fb = faceattr::bench;

namespace {

struct ModelBytes {
  std::string name;
  std::vector<uint8_t> bytes;
};
std::vector<ModelBytes>& models() {
  static std::vector<ModelBytes> m;
  return m;
}
const ModelBytes* find_model(const std::string& name) {
  for (const ModelBytes& m : models())
    if (m.name == name) return &m;
  return nullptr;
}

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void run_net(benchmark::State& state, const ModelBytes* m, fk::Family fam, int threads) {
  fb::Context ctx(threads, fam);
  faceattr::Network net;
  const faceattr::Status st = net.load(m->bytes.data(), m->bytes.size(), fam, ctx.get());
  if (!st.is_ok()) {
    state.SkipWithError("the network does not load");
    return;
  }
  if (net.main_family() != fam) {
    state.SkipWithError("this family serves none of the convolutions");
    return;
  }
  float* x = net.input_ptr();
  for (size_t i = 0; i < net.input_elements(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  for (auto _ : state) {
    if (!net.run().is_ok()) {
      state.SkipWithError("run failed");
      return;
    }
    benchmark::ClobberMemory();
  }
}

// Short node label for a counter: n<index>_<op>[<kh>x<kw>s<stride>].
std::string node_label(const faceattr::model::Model& m, size_t i) {
  const faceattr::model::Node& n = m.nodes[i];
  char buf[64];
  if (n.op == faceattr::model::Op::Conv2d) {
    const bool dw = n.groups > 1 && n.groups == m.tensors[n.inputs[0]].shape[3];
    std::snprintf(buf, sizeof(buf), "n%02zu_%s%dx%ds%d", i, dw ? "dw" : "conv", n.kernel_h, n.kernel_w,
                  n.stride_h);
  } else {
    std::snprintf(buf, sizeof(buf), "n%02zu_%s", i, faceattr::model::op_name(n.op));
  }
  return buf;
}

void run_layers(benchmark::State& state, const ModelBytes* m, fk::Family fam, int threads) {
  fb::Context ctx(threads, fam);
  faceattr::Network net;
  if (!net.load(m->bytes.data(), m->bytes.size(), fam, ctx.get()).is_ok() || net.main_family() != fam) {
    state.SkipWithError("the network does not load with this family");
    return;
  }
  float* x = net.input_ptr();
  for (size_t i = 0; i < net.input_elements(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  const size_t nodes = net.node_count();
  std::vector<double> us(nodes, 0.0);
  for (auto _ : state) {
    for (size_t i = 0; i < nodes; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!net.run_nodes(i, i + 1).is_ok()) {
        state.SkipWithError("run failed");
        return;
      }
      us[i] += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    benchmark::ClobberMemory();
  }
  for (size_t i = 0; i < nodes; ++i)
    state.counters[node_label(net.model(), i)] =
        benchmark::Counter(us[i], benchmark::Counter::kAvgIterations);
}

std::vector<uint8_t> synthetic_frame(int w, int h) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = static_cast<uint8_t>(128 + 100 * std::sin(0.05 * (x + y)));
    }
  }
  return rgb;
}

void run_session(benchmark::State& state, const ModelBytes* anet, const ModelBytes* lnet,
                 faceattr_backend backend, int threads) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.n_threads = threads;
  faceattr_session* s = nullptr;
  if (faceattr_session_create(anet->bytes.data(), anet->bytes.size(), lnet ? lnet->bytes.data() : nullptr,
                              lnet ? lnet->bytes.size() : 0, &p, &s) != FACEATTR_OK) {
    state.SkipWithError(faceattr_last_error());
    return;
  }
  const int w = 320, h = 240;
  const std::vector<uint8_t> rgb = synthetic_frame(w, h);
  const faceattr_image img{rgb.data(), w, h, w * 3, FACEATTR_PIXEL_RGB};
  std::vector<float> probs(static_cast<size_t>(faceattr_session_n_attributes(s)));
  int32_t faces = 0;
  for (auto _ : state) {
    faceattr_status st;
    if (lnet != nullptr) {
      const faceattr_face* f = nullptr;
      st = faceattr_session_predict(s, &img, &f, &faces);
    } else {
      st = faceattr_session_predict_crop(s, &img, probs.data());
    }
    if (st != FACEATTR_OK) {
      state.SkipWithError(faceattr_last_error());
      break;
    }
  }
  if (lnet != nullptr) state.counters["faces"] = faces;
  faceattr_session_free(s);
}

void run_explain(benchmark::State& state, const ModelBytes* anet, faceattr_backend backend, int threads) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.n_threads = threads;
  faceattr_session* s = nullptr;
  if (faceattr_session_create(anet->bytes.data(), anet->bytes.size(), nullptr, 0, &p, &s) != FACEATTR_OK) {
    state.SkipWithError(faceattr_last_error());
    return;
  }
  const int w = 320, h = 240;
  const std::vector<uint8_t> rgb = synthetic_frame(w, h);
  const faceattr_image img{rgb.data(), w, h, w * 3, FACEATTR_PIXEL_RGB};
  const faceattr_face* f = nullptr;
  int32_t faces = 0;
  int32_t attr = 0;
  for (int32_t a = 0; a < faceattr_session_n_attributes(s); ++a)
    if (std::string(faceattr_session_attribute_name(s, a)) == "Smiling") attr = a;
  faceattr_explanation e{};
  if (faceattr_session_predict(s, &img, &f, &faces) != FACEATTR_OK)
    state.SkipWithError(faceattr_last_error());
  for (auto _ : state) {
    if (faceattr_session_explain(s, 0, &attr, 1, &e) != FACEATTR_OK) {
      state.SkipWithError(faceattr_last_error());
      break;
    }
    benchmark::DoNotOptimize(e.peak[0]);
  }
  faceattr_session_free(s);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("faceattr_peak", fb::machine().describe());
  benchmark::AddCustomContext("faceattr_models", fb::models_dir());
  for (const std::string& name : fb::shipped_models()) {
    ModelBytes m{name, {}};
    if (!fb::read_file(fb::models_dir() + "/" + name + ".fam", &m.bytes)) return 1;
    models().push_back(std::move(m));
  }
  const std::vector<int> thread_counts = {1, 2};
  const struct {
    fk::Family family;
    faceattr_backend backend;
  } families[] = {{fk::Family::Reference, FACEATTR_BACKEND_REFERENCE},
                  {fk::Family::Xnnpack, FACEATTR_BACKEND_XNNPACK},
                  {fk::Family::Simd, FACEATTR_BACKEND_SIMD}};
  auto add = [](benchmark::internal::Benchmark* b) {
    b->Unit(benchmark::kMicrosecond)->UseRealTime()->ComputeStatistics("min", min_of);
  };
  for (const ModelBytes& m : models()) {
    for (const auto& f : families) {
      if (!fk::family_available(f.family)) continue;
      for (int t : thread_counts) {
        const std::string name = "net/" + m.name + "/" + fk::family_name(f.family) + "/t" + std::to_string(t);
        add(benchmark::RegisterBenchmark(name.c_str(), run_net, &m, f.family, t));
        const std::string layers =
            "layers/" + m.name + "/" + fk::family_name(f.family) + "/t" + std::to_string(t);
        add(benchmark::RegisterBenchmark(layers.c_str(), run_layers, &m, f.family, t));
      }
    }
  }
  for (const char* dtype : {"int8", "fp32"}) {
    const ModelBytes* anet = find_model(std::string("anet-") + dtype);
    const ModelBytes* lnet = find_model(std::string("lnet-") + dtype);
    if (anet == nullptr) continue;
    for (const auto& f : families) {
      if (!faceattr_backend_available(f.backend)) continue;
      for (int t : thread_counts) {
        const std::string tail =
            std::string("/") + faceattr_backend_name(f.backend) + "/t" + std::to_string(t);
        add(benchmark::RegisterBenchmark(("crop/" + anet->name + tail).c_str(), run_session, anet, nullptr,
                                         f.backend, t));
        add(benchmark::RegisterBenchmark(("explain/" + anet->name + tail).c_str(), run_explain, anet,
                                         f.backend, t));
        if (lnet != nullptr) {
          add(benchmark::RegisterBenchmark(("frame/" + anet->name + "+" + lnet->name + tail).c_str(),
                                           run_session, anet, lnet, f.backend, t));
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
