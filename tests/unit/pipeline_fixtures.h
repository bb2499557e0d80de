// Fixtures of the pipeline tests (test_pipeline*.cpp): tiny ANets, frames of red
// squares for the hand-weighted LNets of tests/support/tiny_lnet.h, sessions,
// predictions, and what the pipeline must give computed without it.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"

namespace faceattr::test::pipeline {

using faceattr::test::RedBox;
using faceattr::test::TinyLnetSpec;

inline const faceattr_backend kAllBackends[] = {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK,
                                                FACEATTR_BACKEND_SIMD};

inline std::vector<uint8_t> tiny_anet(bool int8 = false) {
  faceattr::test::TinyModelSpec spec;
  spec.input_w = 20;
  spec.input_h = 24;
  spec.n_attributes = 6;
  spec.int8 = int8;
  return faceattr::test::tiny_anet_bytes(spec);
}

struct Frame {
  int w, h;
  std::vector<uint8_t> px;  // RGB, tightly packed
  faceattr_image view() const { return {px.data(), w, h, w * 3, FACEATTR_PIXEL_RGB}; }
};

inline Frame red_frame(int w, int h, const std::vector<RedBox>& boxes) {
  return {w, h, faceattr::test::red_boxes_frame(w, h, boxes)};
}

inline faceattr_status create(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                              const faceattr_session_params& p, faceattr_session** s) {
  return faceattr_session_create(anet.data(), anet.size(), lnet.empty() ? nullptr : lnet.data(), lnet.size(),
                                 &p, s);
}

// A session that must be created (the test fails with the SDK's message otherwise).
inline faceattr_session* make_with(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                                   const faceattr_session_params& p) {
  faceattr_session* s = nullptr;
  const faceattr_status st = create(anet, lnet, p, &s);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  return s;
}

inline faceattr_session* make(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                              faceattr_backend backend = FACEATTR_BACKEND_REFERENCE, int threads = 1,
                              int max_faces = 8, int min_face_size = 8) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.n_threads = threads;
  p.max_faces = max_faces;
  p.min_face_size = min_face_size;
  return make_with(anet, lnet, p);
}

inline float iou(const float* b, const RedBox& t) {
  const float ix = std::min(b[0] + b[2], float(t.x + t.w)) - std::max(b[0], float(t.x));
  const float iy = std::min(b[1] + b[3], float(t.y + t.h)) - std::max(b[1], float(t.y));
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (b[2] * b[3] + float(t.w * t.h) - ix * iy);
}

struct Result {
  std::vector<faceattr_face> faces;
  std::vector<std::vector<float>> probs;
};

inline Result predict(faceattr_session* s, const faceattr_image& img) {
  const faceattr_face* faces = nullptr;
  int32_t n = -1;
  const faceattr_status st = faceattr_session_predict(s, &img, &faces, &n);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  REQUIRE(n >= 0);
  REQUIRE((n == 0) == (faces == nullptr));
  Result r;
  const int na = faceattr_session_n_attributes(s);
  for (int i = 0; i < n; ++i) {
    r.faces.push_back(faces[i]);
    r.probs.emplace_back(faces[i].probs, faces[i].probs + na);
  }
  return r;
}

// Predicts `img` and checks that it holds exactly one face: a box `side` pixels wide
// centred at (cx, cy) within a pixel. Returns the prediction.
inline Result check_one_face(faceattr_session* s, const faceattr_image& img, float side, float cx, float cy) {
  const Result r = predict(s, img);
  REQUIRE(r.faces.size() == 1);
  const faceattr_face& face = r.faces[0];
  INFO("box " << face.box[0] << " " << face.box[1] << " " << face.box[2] << " " << face.box[3]);
  CHECK(face.box[2] == Approx(side).epsilon(1e-4));
  CHECK(face.box[0] + face.box[2] / 2 == Approx(cx).margin(1.0f));
  CHECK(face.box[1] + face.box[3] / 2 == Approx(cy).margin(1.0f));
  return r;
}

// ANet run directly on `box` centre-cropped to ANet's aspect (what the pipeline must feed it).
inline std::vector<float> anet_on_box(const std::vector<uint8_t>& anet, const faceattr_image& img,
                                      const float* box) {
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  REQUIRE(net.load(anet.data(), anet.size(), faceattr::kernels::Family::Reference, ctx).is_ok());
  const auto& m = net.model();
  const float aspect = static_cast<float>(m.input_width) / m.input_height;
  faceattr::image::CropBox c{box[0], box[1], box[2], box[3]};
  if (box[2] >= box[3] * aspect) {
    c.w = box[3] * aspect;
  } else {
    c.h = box[2] / aspect;
  }
  c.x = box[0] + (box[2] - c.w) * 0.5f;
  c.y = box[1] + (box[3] - c.h) * 0.5f;
  REQUIRE(faceattr::image::crop_resize_normalize(img, c, m.input_width, m.input_height, m.mean, m.std,
                                                 net.input_ptr())
              .is_ok());
  REQUIRE(net.run().is_ok());
  return std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements());
}

inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// The face box (frame pixels) of the dense fixture for a red square filling map cell (i, j),
// by the decode rule of lnet_decode.h, for a frame `scale` times LNet's input (no letterbox).
inline std::vector<float> dense_box(const faceattr::test::TinyDenseLnetSpec& spec, int i, int j,
                                    float box_min, float box_max, float scale) {
  const float cell = static_cast<float>(spec.cell);
  const float ox = sigmoid(spec.bias[1]), oy = sigmoid(spec.bias[2]);
  const float sw = sigmoid(spec.bias[3]), sh = sigmoid(spec.bias[4]);
  const float cx = (j + 0.5f + (2.0f * ox - 1.0f)) * cell, cy = (i + 0.5f + (2.0f * oy - 1.0f)) * cell;
  const float w = box_min * std::pow(box_max / box_min, sw), h = box_min * std::pow(box_max / box_min, sh);
  return {(cx - 0.5f * w) * scale, (cy - 0.5f * h) * scale, w * scale, h * scale};
}

}  // namespace faceattr::test::pipeline
