// Small random ANet-like models built with the tools' ModelDef, for tests and
// benchmarks. Weights are random (He-scaled) so outputs are deterministic per
// seed but meaningless; int8 variants use per-channel symmetric weights and
// fixed activation scales.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model_def.h"

namespace faceattr::test {

struct TinyModelSpec {
  int input_w = 24;
  int input_h = 28;
  int n_attributes = 5;
  int channels = 8;  // width of the first conv; the 1x1 conv doubles it
  bool int8 = false;
  bool with_maxpool = true;    // 2x2/2 max pool after the first conv
  bool with_depthwise = true;  // 3x3 depthwise conv, Relu6
  bool with_avgpool = true;    // 3x3/2 average pool with padding 1
  uint32_t seed = 1;
  std::string kind = "anet";
};

// input [1,H,W,3] f32 -> (int8: Quantize) -> conv3x3 Relu -> maxpool -> dwconv3x3 Relu6 ->
// conv1x1 LeakyRelu -> avgpool -> global avg pool -> fully connected -> (int8: Dequantize) -> Sigmoid
// -> [1, n_attributes] f32.
modelfile::ModelDef make_tiny_anet(const TinyModelSpec& spec);
std::vector<uint8_t> tiny_anet_bytes(const TinyModelSpec& spec);

// Deterministic pseudo-random bytes for images (xorshift; independent of <random> implementations).
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed);

}  // namespace faceattr::test
