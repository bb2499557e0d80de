// faceattr-run-golden: runs a .fam network in the SDK (internal Network, no
// pre-processing) on the deterministic golden inputs and writes the outputs
// in the <model>.golden.json format the trainer uses, so ONNX Runtime can be
// compared against the SDK (tests/onnx/ort_parity.mjs).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "golden_input.h"
#include "graph/network.h"
#include "kernels/kernels.h"
#include "model_def.h"

namespace {

namespace mf = faceattr::modelfile;

// One least-significant bit of the last int8 tensor, in output (probability)
// units: the final Dequantize's scale, or scale / 4 (the sigmoid's largest
// slope) when an f32 Sigmoid follows. When an f32 FullyConnected reads the
// dequantised int8 tensor (an int8 ANet's classifier), one step of one of its
// inputs moves an output by at most scale * max |weight|. 0 for an all-f32
// output path.
double output_lsb(const mf::ModelDef& m) {
  auto producer = [&](int t) -> const mf::NodeDef* {
    for (const auto& n : m.nodes)
      if (n.output == t) return &n;
    return nullptr;
  };
  int t = m.outputs.at(0);
  double slope = 1.0;
  const mf::NodeDef* n = producer(t);
  if (n && n->op == mf::Op::Sigmoid && m.tensors[t].dtype == mf::DType::F32) {
    slope = 0.25;
    t = n->inputs.at(0);
    n = producer(t);
  }
  if (m.tensors[t].dtype == mf::DType::I8) return m.tensors[t].scales.at(0) * slope;
  if (n && n->op == mf::Op::FullyConnected && m.tensors[t].dtype == mf::DType::F32) {
    const mf::TensorDef& w = m.tensors[n->inputs.at(1)];
    const mf::NodeDef* d = producer(n->inputs.at(0));
    if (!d || d->op != mf::Op::Dequantize || w.dtype != mf::DType::F32) return 0.0;
    float w_max = 0.0f;
    for (size_t i = 0; i + sizeof(float) <= w.data.size(); i += sizeof(float)) {
      float v;
      std::memcpy(&v, w.data.data() + i, sizeof v);
      w_max = std::max(w_max, std::fabs(v));
    }
    return m.tensors[d->inputs.at(0)].scales.at(0) * w_max * slope;
  }
  if (n && n->op == mf::Op::Dequantize) return m.tensors[n->inputs.at(0)].scales.at(0) * slope;
  return 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a faceattr network on the golden inputs and write <model>.golden.json-style outputs"};
  std::string model_path, out_path, backend = "reference";
  int n = 4;
  app.add_option("model", model_path, "input .fam model")->required()->check(CLI::ExistingFile);
  app.add_option("-o,--output", out_path, "output JSON")->required();
  app.add_option("-n,--samples", n, "number of inputs (i = 0..n-1)")->check(CLI::Range(1, 64));
  app.add_option("--backend", backend, "kernel family")
      ->check(CLI::IsMember({"reference", "xnnpack", "simd"}));
  CLI11_PARSE(app, argc, argv);

  try {
    const std::vector<uint8_t> bytes = mf::read_file(model_path);
    const mf::ModelDef def = mf::parse(bytes.data(), bytes.size());
    const auto family = backend == "xnnpack" ? faceattr::kernels::Family::Xnnpack
                        : backend == "simd"  ? faceattr::kernels::Family::Simd
                                             : faceattr::kernels::Family::Reference;
    faceattr::kernels::ExecContext ctx;
    faceattr::Network net;
    faceattr::Status st = net.load(bytes.data(), bytes.size(), family, ctx);
    if (!st) throw std::runtime_error("SDK refused the model: " + st.message());
    if (net.input_elements() != static_cast<size_t>(def.input_height) * def.input_width * def.input_channels)
      throw std::runtime_error("SDK input size does not match the model header");

    std::string json = "{\n  \"n\": " + std::to_string(n) + ",\n  \"input\": \"" +
                       faceattr::onnx_export::kGoldenInputFormula + "\",\n  \"source\": \"faceattr SDK " +
                       backend + " kernels\",\n";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", output_lsb(def));
    json += "  \"output_lsb\": " + std::string(buf) + ",\n  \"outputs\": [";
    for (int i = 0; i < n; ++i) {
      const std::vector<float> x =
          faceattr::onnx_export::golden_input(i, def.input_height, def.input_width, def.input_channels);
      std::copy(x.begin(), x.end(), net.input_ptr());
      st = net.run();
      if (!st) throw std::runtime_error("SDK run failed: " + st.message());
      json += i ? ",\n    [" : "\n    [";
      for (size_t k = 0; k < net.output_elements(); ++k) {
        std::snprintf(buf, sizeof buf, "%s%.9g", k ? ", " : "", static_cast<double>(net.output_ptr()[k]));
        json += buf;
      }
      json += "]";
    }
    json += "\n  ]\n}\n";
    mf::write_file_atomic(out_path, std::vector<uint8_t>(json.begin(), json.end()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr-run-golden: %s\n", e.what());
    return 1;
  }
  return 0;
}
