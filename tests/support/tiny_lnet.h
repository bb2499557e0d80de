// A hand-weighted LNet for tests: its face response follows "redness" (R - G),
// so a red square on a grey frame is a face whose box is known in advance.
//
//   input [1,H,W,3] f32 (mean 0, std 1: pixel / 255) -> (int8: Quantize) ->
//   conv1x1 3->1, out = gain * (r - g) + bias -> avgpool cell x cell, stride cell ->
//   (int8: Dequantize) -> Sigmoid -> [1, H/cell, W/cell, 1] f32.
//
// A map cell fully covered by pure red (255,0,0) responds sigmoid(gain + bias)
// (0.9975 with the defaults), grey or black (letterbox) sigmoid(bias) (0.0025),
// and a cell covered by a fraction f of red sigmoid(f * gain + bias): 0.5 at
// f = 0.5. With the decoder's defaults (threshold 0.5, region fraction 0.5,
// box_scale 1) a red square aligned to the cells decodes to itself.
// Header-only so the unit tests and the CLI fixtures share it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model_def.h"

namespace faceattr::test {

struct TinyLnetSpec {
  int input_w = 64;
  int input_h = 48;
  int cell = 4;  // avgpool kernel and stride: map = input / cell (floor)
  bool int8 = false;
  float gain = 12.0f;
  float bias = -6.0f;
  int out_channels = 1;      // != 1: a malformed LNet (output must be [1,h,w,1])
  bool two_outputs = false;  // malformed: the response map plus the conv output
  std::vector<std::pair<std::string, std::string>> metadata = {{"license", "test-only"}};
};

inline modelfile::ModelDef make_tiny_lnet(const TinyLnetSpec& spec) {
  using modelfile::DType;
  using modelfile::NodeDef;
  using modelfile::Op;
  modelfile::ModelDef m;
  m.kind = "lnet";
  m.name = std::string("tiny-lnet-") + (spec.int8 ? "int8" : "f32");
  m.description = "hand-weighted test localiser: response follows R - G";
  m.input_width = spec.input_w;
  m.input_height = spec.input_h;
  m.mean = {0.0f, 0.0f, 0.0f};
  m.std = {1.0f, 1.0f, 1.0f};
  m.metadata = spec.metadata;

  const int oc = spec.out_channels;
  const int mh = (spec.input_h - spec.cell) / spec.cell + 1, mw = (spec.input_w - spec.cell) / spec.cell + 1;
  const int input = m.add_activation("input", {1, spec.input_h, spec.input_w, 3});
  m.inputs = {input};
  // Weights OHWI [oc,1,1,3]: every output channel computes gain * (r - g) + bias.
  std::vector<float> w, b(static_cast<size_t>(oc), spec.bias);
  for (int o = 0; o < oc; ++o) w.insert(w.end(), {spec.gain, -spec.gain, 0.0f});

  auto add = [&](Op op, int x, int y, int k = 1, int stride = 1, std::vector<int> extra = {}) {
    NodeDef n;
    n.name = "n" + std::to_string(m.nodes.size());
    n.op = op;
    n.inputs = {x};
    n.inputs.insert(n.inputs.end(), extra.begin(), extra.end());
    n.output = y;
    n.kernel_h = n.kernel_w = k;
    n.stride_h = n.stride_w = stride;
    m.add_node(n);
    return y;
  };

  int x = input;
  const float in_scale = 1.0f / 127.0f;
  const float act_scale = (std::fabs(spec.gain) + std::fabs(spec.bias)) / 127.0f;
  if (spec.int8) {
    x = add(Op::Quantize, x,
            m.add_activation("input.q", {1, spec.input_h, spec.input_w, 3}, DType::I8, in_scale, 0));
    const float w_scale = std::fabs(spec.gain) / 127.0f;
    std::vector<int8_t> qw;
    for (float v : w) qw.push_back(static_cast<int8_t>(std::lround(v / w_scale)));
    std::vector<int32_t> qb;
    for (float v : b) qb.push_back(static_cast<int32_t>(std::lround(v / (in_scale * w_scale))));
    const int wt = m.add_const_i8("conv.weight", {oc, 1, 1, 3}, qw, std::vector<float>(oc, w_scale));
    const int bt = m.add_const_i32("conv.bias", {oc}, qb, std::vector<float>(oc, in_scale * w_scale));
    x = add(Op::Conv2d, x,
            m.add_activation("conv.out", {1, spec.input_h, spec.input_w, oc}, DType::I8, act_scale, 0), 1, 1,
            {wt, bt});
  } else {
    const int wt = m.add_const_f32("conv.weight", {oc, 1, 1, 3}, w);
    const int bt = m.add_const_f32("conv.bias", {oc}, b);
    x = add(Op::Conv2d, x, m.add_activation("conv.out", {1, spec.input_h, spec.input_w, oc}), 1, 1, {wt, bt});
  }
  const int conv_out = x;
  x = add(Op::AvgPool2d, x,
          spec.int8 ? m.add_activation("pool.out", {1, mh, mw, oc}, DType::I8, act_scale, 0)
                    : m.add_activation("pool.out", {1, mh, mw, oc}),
          spec.cell, spec.cell);
  if (spec.int8) x = add(Op::Dequantize, x, m.add_activation("pool.out.f", {1, mh, mw, oc}));
  x = add(Op::Sigmoid, x, m.add_activation("response", {1, mh, mw, oc}));
  m.outputs = {x};
  if (spec.two_outputs) m.outputs.push_back(conv_out);
  return m;
}

inline std::vector<uint8_t> tiny_lnet_bytes(const TinyLnetSpec& spec) {
  return modelfile::serialize(make_tiny_lnet(spec));
}

// An RGB frame of grey (128) with pure red (255,0,0) rectangles {x, y, w, h}.
struct RedBox {
  int x, y, w, h;
};
inline std::vector<uint8_t> red_boxes_frame(int w, int h, const std::vector<RedBox>& boxes) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3, 128);
  for (const RedBox& b : boxes)
    for (int y = b.y; y < b.y + b.h; ++y)
      for (int x = b.x; x < b.x + b.w; ++x) {
        if (x < 0 || y < 0 || x >= w || y >= h) continue;
        uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 3];
        p[0] = 255, p[1] = 0, p[2] = 0;
      }
  return px;
}

}  // namespace faceattr::test
