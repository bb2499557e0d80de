// Writes tiny_fp32.fam and tiny_int8.fam (see tiny_onnx_models.h) into a folder.
#include <cstdio>
#include <exception>
#include <string>

#include "model_def.h"
#include "tiny_onnx_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    for (bool int8 : {false, true}) {
      const std::string path = std::string(argv[1]) + (int8 ? "/tiny_int8.fam" : "/tiny_fp32.fam");
      faceattr::modelfile::write_file_atomic(
          path, faceattr::modelfile::serialize(faceattr::testing::make_tiny_onnx_model(int8)));
      std::printf("wrote %s\n", path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr-onnx-tiny-models: %s\n", e.what());
    return 1;
  }
  return 0;
}
