// faceattr-export-onnx: .fam -> .onnx (opset 13; QDQ for int8 models).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "model_def.h"
#include "onnx_export.h"

int main(int argc, char** argv) {
  CLI::App app{"Export a faceattr model (.fam) to ONNX (NCHW input \"input\", output \"probs\")"};
  std::string in_path, out_path;
  bool quiet = false;
  app.add_option("model", in_path, "input .fam model")->required()->check(CLI::ExistingFile);
  app.add_option("-o,--output", out_path, "output .onnx file (default: model path with .onnx)");
  app.add_flag("-q,--quiet", quiet, "print nothing on success");
  CLI11_PARSE(app, argc, argv);
  if (out_path.empty()) {
    const auto dot = in_path.rfind('.');
    const auto slash = in_path.rfind('/');
    out_path =
        (dot != std::string::npos && (slash == std::string::npos || dot > slash) ? in_path.substr(0, dot)
                                                                                 : in_path) +
        ".onnx";
  }
  try {
    const std::vector<uint8_t> bytes = faceattr::modelfile::read_file(in_path);
    const faceattr::modelfile::ModelDef def = faceattr::modelfile::parse(bytes.data(), bytes.size());
    const onnx::ModelProto proto = faceattr::onnx_export::export_model(def);
    faceattr::onnx_export::save_model(proto, out_path);
    if (!quiet) {
      std::map<std::string, int> ops;
      for (const auto& n : proto.graph().node()) ++ops[n.op_type()];
      std::printf("%s -> %s: %d nodes, %d initializers, opset %lld\n ", in_path.c_str(), out_path.c_str(),
                  proto.graph().node_size(), proto.graph().initializer_size(),
                  static_cast<long long>(proto.opset_import(0).version()));
      for (const auto& [op, count] : ops) std::printf(" %s x%d", op.c_str(), count);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr-export-onnx: %s\n", e.what());
    return 1;
  }
  return 0;
}
