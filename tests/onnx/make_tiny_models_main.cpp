// Writes tiny_{fp32,int8}.fam (tiny_onnx_models.h) and tiny_sdk_{fp32,int8}.fam
// (tests/support/tiny_models.h) into a folder.
#include <cstdio>
#include <exception>
#include <string>

#include "model_def.h"
#include "support/tiny_models.h"
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
      // The SDK tests' tiny ANet (tests/support/tiny_models.h): a second, independently built model.
      faceattr::test::TinyModelSpec spec;
      spec.int8 = int8;
      const std::string sdk_path =
          std::string(argv[1]) + (int8 ? "/tiny_sdk_int8.fam" : "/tiny_sdk_fp32.fam");
      faceattr::modelfile::write_file_atomic(sdk_path, faceattr::test::tiny_anet_bytes(spec));
      std::printf("wrote %s\n", sdk_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr-onnx-tiny-models: %s\n", e.what());
    return 1;
  }
  return 0;
}
