// faceattr info [--model M]: what a model file holds and how this build runs it.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "model_def.h"
#include "model_path.h"

namespace faceattr::cli {

namespace {

namespace mf = faceattr::modelfile;

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

std::string floats(const std::vector<float>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.4g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

const char* dtype_name(mf::DType d) {
  switch (d) {
    case mf::DType::F32:
      return "f32";
    case mf::DType::I8:
      return "int8";
    case mf::DType::I32:
      return "int32";
  }
  return "?";
}

int run_info(const InfoOptions& o) {
  const std::string path = resolve_model_path(o.common.model);
  const std::vector<uint8_t> bytes = read_file(path, "model");
  mf::ModelDef m;
  try {
    m = mf::parse(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    throw Error("cannot read model '" + path + "': " + e.what());
  }

  int64_t params[3] = {0, 0, 0};  // constant elements per dtype
  for (const mf::TensorDef& t : m.tensors) {
    if (!t.constant()) continue;
    int64_t n = 1;
    for (int d : t.shape) n *= d;
    params[static_cast<int>(t.dtype)] += n;
  }
  std::printf("file         %s (%s)\n", path.c_str(), human_size(bytes.size()).c_str());
  std::printf("kind         %s\n", m.kind.c_str());
  std::printf("name         %s\n", m.name.c_str());
  if (!m.description.empty()) std::printf("description  %s\n", m.description.c_str());
  std::printf("input        %dx%dx%d RGB (width x height x channels), mean %s, std %s\n", m.input_width,
              m.input_height, m.input_channels, floats(m.mean).c_str(), floats(m.std).c_str());
  std::printf("network      %zu nodes, %zu tensors, weights:", m.nodes.size(), m.tensors.size());
  for (int d = 0; d < 3; ++d) {
    if (params[d])
      std::printf(" %lld %s", static_cast<long long>(params[d]), dtype_name(static_cast<mf::DType>(d)));
  }
  std::printf("\n");
  for (const auto& [key, value] : m.metadata)
    std::printf("meta         %s: %s\n", key.c_str(), value.c_str());

  if (m.kind == "lnet" && m.outputs.size() == 1 && m.outputs[0] >= 0 &&
      static_cast<size_t>(m.outputs[0]) < m.tensors.size()) {
    const std::vector<int>& d = m.tensors[static_cast<size_t>(m.outputs[0])].shape;
    if (d.size() == 4 && d[1] > 0 && d[2] > 0)
      std::printf("response map %dx%d (width x height), cells of %gx%g input pixels\n", d[2], d[1],
                  static_cast<double>(m.input_width) / d[2], static_cast<double>(m.input_height) / d[1]);
  }
  if (m.kind == "anet") {
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
    std::printf("attributes   %zu\n", m.attribute_names.size());
    std::printf("  %-22s %s\n", "name", "threshold");
    for (size_t i = 0; i < m.attribute_names.size(); ++i) {
      std::printf("  %-22s %.3f\n", m.attribute_names[i].c_str(),
                  i < m.thresholds.size() ? m.thresholds[i] : -1.f);
    }
  }
  std::printf("sdk          faceattr %s\n", faceattr_version());
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
