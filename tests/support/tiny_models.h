// Small random ANet-like models built with the tools' ModelDef, for tests and
// benchmarks. Weights are random (He-scaled) so outputs are deterministic per
// seed but meaningless; int8 variants use per-channel symmetric weights and
// fixed activation scales.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
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

// A hand-weighted dense-box-map LNet (metadata lnet.dense = 1) for tests:
//   input [1,H,W,3] f32 (mean 0, std 1) -> conv1x1 3->5 -> avgpool cell x cell, stride cell
//   -> Sigmoid -> [1, H/cell, W/cell, 5] f32.
// Channel 0 (the face score) follows redness, gain * (r - g) + bias[0], as the tiny LNet of
// tiny_lnet.h; channels 1..4 (ox, oy, sw, sh) are constant: sigmoid(bias[c]) at every cell.
// So a pure-red square covering exactly one map cell (i, j) is one face whose box follows
// from the decode rule of lnet_decode.h with those constants. `channels` != 5 gives a
// model whose output disagrees with its metadata (refused at create).
struct TinyDenseLnetSpec {
  int input_w = 64;
  int input_h = 48;
  int cell = 4;
  int channels = 5;
  float gain = 12.0f;
  float bias[5] = {-6.0f, 0.5f, -0.25f, 0.0f, 0.3f};
  // Added to the model's metadata after lnet.dense = 1 (e.g. box_min, crop_w).
  std::vector<std::pair<std::string, std::string>> metadata = {{"lnet.box_min", "8"},
                                                               {"lnet.box_max", "128"}};
};
modelfile::ModelDef make_tiny_dense_lnet(const TinyDenseLnetSpec& spec);
std::vector<uint8_t> tiny_dense_lnet_bytes(const TinyDenseLnetSpec& spec);

// Deterministic pseudo-random bytes for images (xorshift; independent of <random> implementations).
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed);

}  // namespace faceattr::test
