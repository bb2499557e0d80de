// faceattr info [--model M]: what a model file holds and how this build runs it.
// Reads the file through the SDK's own reader (faceattr_model_load).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "cpu_info.h"
#include "faceattr/faceattr.hpp"
#include "model_path.h"

namespace faceattr::cli {

namespace {

struct InfoOptions {
  CommonOptions common;
};

std::string human_size(size_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%zu B", bytes);
  }
  return buf;
}

std::string floats(const float* v, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.4g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

const char* dtype_name(int d) {
  switch (d) {
    case FACEATTR_DTYPE_F32:
      return "f32";
    case FACEATTR_DTYPE_I8:
      return "int8";
    case FACEATTR_DTYPE_I32:
      return "int32";
  }
  return "?";
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s.empty() ? "-" : s;
}

// The CPU and what each kernel family runs on it.
void print_machine() {
  const CpuDescription cpu = describe_cpu();
  faceattr_simd_info simd{};
  faceattr_get_simd_info(&simd);
  std::printf("cpu          %s\n", cpu_summary(cpu).c_str());
  std::printf("isa          %s; lacking: %s\n", joined(cpu.isa).c_str(), joined(cpu.lacking).c_str());
  std::printf("kernels      reference: portable C++ (the compiler's baseline ISA)\n");
  if (faceattr_backend_available(FACEATTR_BACKEND_XNNPACK))
    std::printf("             xnnpack: XNNPACK's micro-kernels for this CPU (its own dispatch)\n");
  if (faceattr_backend_available(FACEATTR_BACKEND_SIMD)) {
    std::printf("             simd: Highway %s, %d-bit vectors (compiled: %s)\n", simd.target,
                simd.vector_bits, simd.compiled);
    std::printf("             simd int8: %s\n", simd.int8_path);
  }
}

int run_info(const InfoOptions& o) {
  const std::string path = resolve_model_path(o.common.model);
  const std::vector<uint8_t> bytes = read_file(path, "model");
  faceattr_status st = FACEATTR_OK;
  const faceattr::Model model = faceattr::Model::try_load(bytes.data(), bytes.size(), &st);
  if (!model) throw_api_error("cannot read model '" + path + "'", st);
  const faceattr_model_info m = model.info();
  const std::string kind = m.kind;

  int64_t params[3] = {0, 0, 0};  // constant elements per dtype
  for (int32_t i = 0; i < m.n_tensors; ++i) {
    const faceattr_tensor_info t = model.tensor(i);
    if (!t.constant) continue;
    int64_t n = 1;
    for (int32_t d = 0; d < t.n_dims; ++d) n *= t.shape[d];
    if (t.dtype >= 0 && t.dtype < 3) params[t.dtype] += n;
  }
  std::printf("file         %s (%s)\n", path.c_str(), human_size(bytes.size()).c_str());
  std::printf("kind         %s\n", m.kind);
  std::printf("name         %s\n", m.name);
  if (m.description[0] != '\0') std::printf("description  %s\n", m.description);
  std::printf("input        %dx%dx3 RGB (width x height x channels), mean %s, std %s\n", m.input_width,
              m.input_height, floats(m.mean, 3).c_str(), floats(m.std, 3).c_str());
  std::printf("network      %d nodes, %d tensors, weights:", m.n_nodes, m.n_tensors);
  for (int d = 0; d < 3; ++d) {
    if (params[d]) std::printf(" %lld %s", static_cast<long long>(params[d]), dtype_name(d));
  }
  std::printf("\n");
  // Long values (the concepts' JSON: tens of kilobytes) are cut to their start and size.
  constexpr size_t kMetaShown = 160;
  for (int32_t i = 0; i < m.n_metadata; ++i) {
    const std::string v = m.metadata_values[i];
    if (v.size() <= kMetaShown) {
      std::printf("meta         %s: %s\n", m.metadata_keys[i], v.c_str());
    } else {
      std::printf("meta         %s: %s... (%zu characters)\n", m.metadata_keys[i],
                  v.substr(0, kMetaShown).c_str(), v.size());
    }
  }

  if (kind == "lnet" && m.n_outputs == 1) {
    const faceattr_tensor_info out = model.tensor(m.outputs[0]);
    const int32_t* d = out.shape;
    if (out.n_dims == 4 && d[1] > 0 && d[2] > 0)
      std::printf("response map %dx%d (width x height), cells of %gx%g input pixels\n", d[2], d[1],
                  static_cast<double>(m.input_width) / d[2], static_cast<double>(m.input_height) / d[1]);
  }
  if (kind == "anet") {
    ModelFiles models{path, bytes, "", {}};
    std::string backends;
    for (faceattr_backend b : {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK, FACEATTR_BACKEND_SIMD}) {
      std::string state = "ok";
      if (!faceattr_backend_available(b)) {
        state = "not built";
      } else {
        try {
          Session s(models, b, 1);
        } catch (const Error&) {
          state = "cannot run this model";
        }
      }
      backends += std::string(backends.empty() ? "" : ", ") + faceattr_backend_name(b) + " (" + state + ")";
    }
    Session session(models, FACEATTR_BACKEND_AUTO, 1);
    std::printf("backends     %s; auto -> %s\n", backends.c_str(), session.backend_name());
    // The accuracy policy's thresholds, and the balanced policy's when the model has them
    // (`--thresholds balanced` of predict, eval, video and explain).
    std::printf("attributes   %d\n", m.n_attributes);
    if (m.balanced_thresholds) {
      std::printf("  %-22s %-9s  %s\n", "name", "threshold", "balanced");
      for (int32_t i = 0; i < m.n_attributes; ++i)
        std::printf("  %-22s %-9.3f  %.3f\n", m.attribute_names[i], m.thresholds[i],
                    m.balanced_thresholds[i]);
    } else {
      std::printf("  %-22s %s\n", "name", "threshold");
      for (int32_t i = 0; i < m.n_attributes; ++i)
        std::printf("  %-22s %.3f\n", m.attribute_names[i], m.thresholds[i]);
    }
  }
  std::printf("sdk          faceattr %s\n", faceattr_version());
  print_machine();
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Show a model's metadata, attributes, thresholds and backends");
  sub->add_option(
      "-m,--model", o->common.model,
      "Model file (.fam, ANet or LNet); default: $FACEATTR_MODEL, then the shipped anet-int8.fam");
  return {sub, [o] { return run_info(*o); }};
}

}  // namespace faceattr::cli
