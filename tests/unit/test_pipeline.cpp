// The in-the-wild pipeline (frame -> LNet -> boxes -> crop -> ANet) through the
// C API, on a hand-weighted LNet (tests/support/tiny_lnet.h) whose faces are red
// squares, so every expected box is known without running the SDK.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <limits>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "graph/network.h"
#include "image/preprocess.h"
#include "pipeline/face_pipeline.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"

namespace {

using faceattr::test::RedBox;
using faceattr::test::TinyLnetSpec;

const faceattr_backend kAllBackends[] = {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK,
                                         FACEATTR_BACKEND_SIMD};

std::vector<uint8_t> tiny_anet(bool int8 = false) {
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

Frame red_frame(int w, int h, const std::vector<RedBox>& boxes) {
  return {w, h, faceattr::test::red_boxes_frame(w, h, boxes)};
}

faceattr_status create(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                       const faceattr_session_params& p, faceattr_session** s) {
  return faceattr_session_create(anet.data(), anet.size(), lnet.empty() ? nullptr : lnet.data(), lnet.size(),
                                 &p, s);
}

faceattr_session* make(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                       faceattr_backend backend = FACEATTR_BACKEND_REFERENCE, int threads = 1,
                       int max_faces = 8, int min_face_size = 8) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.n_threads = threads;
  p.max_faces = max_faces;
  p.min_face_size = min_face_size;
  faceattr_session* s = nullptr;
  const faceattr_status st = create(anet, lnet, p, &s);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  return s;
}

float iou(const float* b, const RedBox& t) {
  const float ix = std::min(b[0] + b[2], float(t.x + t.w)) - std::max(b[0], float(t.x));
  const float iy = std::min(b[1] + b[3], float(t.y + t.h)) - std::max(b[1], float(t.y));
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (b[2] * b[3] + float(t.w * t.h) - ix * iy);
}

struct Result {
  std::vector<faceattr_face> faces;
  std::vector<std::vector<float>> probs;
};

Result predict(faceattr_session* s, const faceattr_image& img) {
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

// ANet run directly on `box` centre-cropped to ANet's aspect (what the pipeline must feed it).
std::vector<float> anet_on_box(const std::vector<uint8_t>& anet, const faceattr_image& img,
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

}  // namespace

TEST_CASE("letterbox: content resampled at the top-left, the rest exactly 0", "[pipeline]") {
  const auto px = faceattr::test::random_bytes(50 * 30 * 3, 4);
  const faceattr_image img{px.data(), 50, 30, 150, FACEATTR_PIXEL_RGB};
  const float mean[3] = {0.5f, 0.4f, 0.3f}, stdv[3] = {0.2f, 0.25f, 0.3f};
  // 50x30 into 40x40: scale 0.8 -> content 40x24, 16 rows of letterbox below.
  std::vector<float> dst(40 * 40 * 3, 123.0f), want(40 * 24 * 3);
  faceattr::image::Letterbox g;
  REQUIRE(faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g).is_ok());
  CHECK(g.content_w == 40);
  CHECK(g.content_h == 24);
  CHECK(g.scale_x == Approx(0.8f));
  CHECK(g.scale_y == Approx(0.8f));
  REQUIRE(
      faceattr::image::crop_resize_normalize(img, {0, 0, 50, 30}, 40, 24, mean, stdv, want.data()).is_ok());
  CHECK(std::equal(want.begin(), want.end(), dst.begin()));
  CHECK(std::all_of(dst.begin() + 40 * 24 * 3, dst.end(), [](float v) { return v == 0.0f; }));

  // Tall frame: letterbox on the right; odd sizes round the content to whole pixels.
  const faceattr_image tall{px.data(), 15, 100, 45, FACEATTR_PIXEL_RGB};
  std::vector<float> d2(33 * 20 * 3, 7.0f);
  REQUIRE(faceattr::image::letterbox_normalize(tall, 33, 20, mean, stdv, d2.data(), &g).is_ok());
  CHECK(g.content_h == 20);
  CHECK(g.content_w == 3);  // 15 * 0.2
  CHECK(g.scale_x == Approx(3.0f / 15));
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 33; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = d2[(static_cast<size_t>(y) * 33 + x) * 3 + c];
        if (x >= 3) {
          CHECK(v == 0.0f);
        } else {
          CHECK(v != 7.0f);
        }
      }
  CHECK(!faceattr::image::letterbox_normalize(tall, 0, 20, mean, stdv, d2.data(), &g).is_ok());
  CHECK(!faceattr::image::letterbox_normalize(tall, 33, 20, mean, stdv, nullptr, &g).is_ok());
}

TEST_CASE("letterbox with shrink 2: the frame at half the letterboxed size, the rest 0", "[pipeline]") {
  const auto px = faceattr::test::random_bytes(50 * 30 * 3, 5);
  const faceattr_image img{px.data(), 50, 30, 150, FACEATTR_PIXEL_RGB};
  const float mean[3] = {0.5f, 0.4f, 0.3f}, stdv[3] = {0.2f, 0.25f, 0.3f};
  // 50x30 into 40x40 at half size: fits 20x20 -> content 20x12, scale 0.4.
  std::vector<float> dst(40 * 40 * 3, 123.0f);
  // dst (40x40) holds the whole frame resampled to cw x ch at the top-left and 0 elsewhere.
  auto check_content = [&](int cw, int ch) {
    std::vector<float> want(static_cast<size_t>(cw) * ch * 3);
    REQUIRE(
        faceattr::image::crop_resize_normalize(img, {0, 0, 50, 30}, cw, ch, mean, stdv, want.data()).is_ok());
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x)
        for (int c = 0; c < 3; ++c) {
          const float v = dst[(static_cast<size_t>(y) * 40 + x) * 3 + c];
          if (x < cw && y < ch) {
            CHECK(v == want[(static_cast<size_t>(y) * cw + x) * 3 + c]);
          } else {
            CHECK(v == 0.0f);
          }
        }
  };
  faceattr::image::Letterbox g;
  REQUIRE(faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g, 2).is_ok());
  CHECK(g.content_w == 20);
  CHECK(g.content_h == 12);
  CHECK(g.scale_x == Approx(0.4f));
  check_content(20, 12);
  CHECK(!faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g, 0).is_ok());
  CHECK(!faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g, 41).is_ok());
  CHECK(!faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g, 0.5f).is_ok());
  CHECK(!faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g,
                                              std::numeric_limits<float>::quiet_NaN())
             .is_ok());
  // Integer shrinks round down (an odd output at shrink 2: 41 / 2 -> 20, as before fractional
  // shrinks existed); a fractional one (an image-pyramid level) rounds to the nearest pixel:
  // 40 / 1.5 = 26.7 -> 27, content 27 x round(27 x 30 / 50).
  std::vector<float> odd(41 * 41 * 3);
  REQUIRE(faceattr::image::letterbox_normalize(img, 41, 41, mean, stdv, odd.data(), &g, 2).is_ok());
  CHECK(g.content_w == 20);
  REQUIRE(faceattr::image::letterbox_normalize(img, 40, 40, mean, stdv, dst.data(), &g, 1.5f).is_ok());
  CHECK(g.content_w == 27);
  CHECK(g.content_h == 16);
  CHECK(g.scale_x == Approx(27.0f / 50.0f));
  check_content(27, 16);
}

TEST_CASE("pipeline: an image-pyramid LNet runs every level and keeps one box per face", "[pipeline]") {
  // The tiny LNet answers 0.9975 on red cells at any scale, so every level answers alike: the
  // first level's box (side lnet.pyramid_side, no refinement at level 0) wins and the same face
  // on the other levels goes by the centre rule.
  const auto anet = tiny_anet();
  const RedBox truth{56, 40, 16, 16};           // LNet 64x48 (scale 0.5): 8x8 px, 2x2 cells
  const Frame f = red_frame(128, 96, {truth});
  for (bool int8 : {false, true}) {
    TinyLnetSpec spec;
    spec.int8 = int8;
    spec.metadata = {{"license", "test-only"},
                     {"lnet.threshold", "0.99"},
                     {"lnet.pyramid_levels", "3"},
                     {"lnet.pyramid_factor", "2"},
                     {"lnet.pyramid_side", "10"}};
    const auto lnet = faceattr::test::tiny_lnet_bytes(spec);
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      faceattr_session* s = make(anet, lnet, b);
      const Result r = predict(s, f.view());
      INFO("backend " << faceattr_backend_name(b) << " int8 " << int8);
      REQUIRE(r.faces.size() == 1);
      const faceattr_face& face = r.faces[0];
      CHECK(face.box[2] == Approx(20.0f).epsilon(1e-4));  // 10 LNet px / 0.5
      CHECK(face.box[0] + face.box[2] / 2 == Approx(64.0f).margin(1.0f));
      CHECK(face.box[1] + face.box[3] / 2 == Approx(48.0f).margin(1.0f));
      faceattr_response_map map{};
      REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
      CHECK(map.cell_width == Approx(8.0f));  // level 0's map
      faceattr_session_free(s);
    }
  }
  SECTION("a pyramid whose last level would shrink the input below a pixel is refused at load") {
    TinyLnetSpec spec;
    spec.metadata = {{"license", "test-only"},
                     {"lnet.pyramid_levels", "8"},
                     {"lnet.pyramid_factor", "4"},
                     {"lnet.pyramid_side", "10"}};
    faceattr_session_params p = faceattr_session_default_params();
    faceattr_session* s = nullptr;
    CHECK(create(anet, faceattr::test::tiny_lnet_bytes(spec), p, &s) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(s == nullptr);
    CHECK(std::string(faceattr_last_error()).find("pyramid") != std::string::npos);
  }
}

TEST_CASE("pipeline: the coarse pass finds a face the fine pass misses, sized by the model", "[pipeline]") {
  // The tiny LNet answers 0.9975 on red cells at any scale. threshold 0.999: the fine pass
  // finds nothing; the coarse pass (frame at half size) finds the square at half_threshold
  // 0.99; the size model without weights gives every box exp(size_bias) = 40 LNet pixels.
  const auto anet = tiny_anet();
  const std::vector<std::pair<std::string, std::string>> base = {{"license", "test-only"},
                                                                 {"lnet.threshold", "0.999"},
                                                                 {"lnet.size_bias", "3.6888794541"},
                                                                 {"lnet.size_w1", "0"},
                                                                 {"lnet.size_w2", "0"}};
  const RedBox truth{24, 8, 80, 80};
  const Frame f = red_frame(128, 96, {truth});  // LNet 64x48: scale 0.5
  for (bool int8 : {false, true}) {
    TinyLnetSpec spec;
    spec.int8 = int8;
    spec.metadata = base;
    faceattr_session* one_pass = make(anet, faceattr::test::tiny_lnet_bytes(spec));
    CHECK(predict(one_pass, f.view()).faces.empty());
    faceattr_session_free(one_pass);

    spec.metadata.push_back({"lnet.half_threshold", "0.99"});
    const auto lnet = faceattr::test::tiny_lnet_bytes(spec);
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      faceattr_session* s = make(anet, lnet, b);
      const Result r = predict(s, f.view());
      INFO("backend " << faceattr_backend_name(b) << " int8 " << int8);
      REQUIRE(r.faces.size() == 1);
      const faceattr_face& face = r.faces[0];
      INFO("box " << face.box[0] << " " << face.box[1] << " " << face.box[2] << " " << face.box[3]);
      CHECK(face.box[2] == Approx(80.0f).epsilon(1e-4));  // 40 LNet px / 0.5
      CHECK(face.box[0] + face.box[2] / 2 == Approx(64.0f).margin(1.0f));
      CHECK(face.box[1] + face.box[3] / 2 == Approx(48.0f).margin(1.0f));
      CHECK(iou(face.box, truth) > 0.95f);
      const auto want = anet_on_box(anet, f.view(), face.box);
      for (int a = 0; a < 6; ++a) CHECK(r.probs[0][a] == Approx(want[a]).margin(1e-6));
      // The response map is the fine pass's (cells of 4 LNet px = 8 frame px), not the coarse one.
      faceattr_response_map map{};
      REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
      CHECK(map.cell_width == Approx(8.0f));
      CHECK(map.data[(48 / 8) * map.width + 64 / 8] > 0.99f);   // inside the square
      CHECK(map.data[(48 / 8) * map.width + 120 / 8] < 0.01f);  // right of it
      faceattr_timings t{};
      REQUIRE(faceattr_session_last_timings(s, &t) == FACEATTR_OK);
      CHECK(t.lnet_ms > 0.0);
      faceattr_session_free(s);
    }
  }
}

TEST_CASE("pipeline: one face, its box, its ANet crop, metadata and timings", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = make(anet, lnet);
  CHECK(faceattr_session_has_localizer(s) == 1);
  CHECK(std::string(faceattr_session_model_metadata(s, 1, "kind")) == "lnet");
  CHECK(std::string(faceattr_session_model_metadata(s, 1, "name")) == "tiny-lnet-f32");
  CHECK(std::string(faceattr_session_model_metadata(s, 1, "license")) == "test-only");
  CHECK(std::string(faceattr_session_model_metadata(s, 0, "kind")) == "anet");
  CHECK(faceattr_session_model_metadata(s, 2, "kind") == nullptr);

  // 128x96 -> LNet 64x48 (scale 0.5, no letterbox); a 48 px square on the 8 px cell grid.
  const RedBox truth{32, 16, 48, 48};
  const Frame f = red_frame(128, 96, {truth});
  const Result r = predict(s, f.view());
  REQUIRE(r.faces.size() == 1);
  const faceattr_face& face = r.faces[0];
  INFO("box " << face.box[0] << " " << face.box[1] << " " << face.box[2] << " " << face.box[3]);
  CHECK(iou(face.box, truth) > 0.85f);
  CHECK(face.score > 0.99f);
  CHECK(face.score <= 1.0f);
  const auto want = anet_on_box(anet, f.view(), face.box);
  for (int a = 0; a < 6; ++a) {
    CHECK(r.probs[0][a] == want[a]);
    CHECK(face.present[a] == (want[a] >= faceattr_session_attribute_threshold(s, a) ? 1 : 0));
  }
  faceattr_timings t{};
  REQUIRE(faceattr_session_last_timings(s, &t) == FACEATTR_OK);
  CHECK(t.lnet_ms > 0.0);
  CHECK(t.anet_ms > 0.0);
  CHECK(t.preprocess_ms > 0.0);

  // predict_crop still runs ANet alone on the centre crop, leaving the response map alone.
  faceattr_response_map before{};
  REQUIRE(faceattr_session_response_map(s, &before) == FACEATTR_OK);
  const std::vector<float> map_before(before.data, before.data + before.width * before.height);
  std::vector<float> probs(6);
  const faceattr_image fv = f.view();
  REQUIRE(faceattr_session_predict_crop(s, &fv, probs.data()) == FACEATTR_OK);
  const float whole[4] = {0, 0, 128, 96};
  const auto want_crop = anet_on_box(anet, f.view(), whole);
  for (int a = 0; a < 6; ++a) CHECK(probs[a] == want_crop[a]);
  faceattr_response_map after{};
  REQUIRE(faceattr_session_response_map(s, &after) == FACEATTR_OK);
  CHECK(std::equal(map_before.begin(), map_before.end(), after.data));
  faceattr_session_free(s);
}

TEST_CASE("pipeline: two faces, no face, the max_faces cap and min_face_size", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  const RedBox a{8, 8, 32, 32}, b{80, 40, 40, 40}, c{48, 64, 24, 24};

  faceattr_session* s = make(anet, lnet);
  const Frame two = red_frame(128, 96, {a, b});
  Result r = predict(s, two.view());
  REQUIRE(r.faces.size() == 2);
  // Each truth matched by exactly one box; strongest first.
  for (const RedBox& t : {a, b}) {
    int matched = 0;
    for (const auto& f : r.faces) matched += iou(f.box, t) > 0.8f ? 1 : 0;
    CHECK(matched == 1);
  }
  CHECK(r.faces[0].score >= r.faces[1].score);
  for (size_t i = 0; i < 2; ++i) {
    const auto want = anet_on_box(anet, two.view(), r.faces[i].box);
    for (int k = 0; k < 6; ++k) CHECK(r.probs[i][k] == want[k]);
  }

  const Frame none = red_frame(128, 96, {});
  r = predict(s, none.view());
  CHECK(r.faces.empty());
  faceattr_response_map map{};
  REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
  CHECK(*std::max_element(map.data, map.data + map.width * map.height) < 0.01f);
  faceattr_timings t{};
  REQUIRE(faceattr_session_last_timings(s, &t) == FACEATTR_OK);
  CHECK(t.lnet_ms > 0.0);
  CHECK(t.anet_ms == 0.0);
  faceattr_session_free(s);

  const Frame three = red_frame(128, 96, {a, b, c});
  s = make(anet, lnet);
  CHECK(predict(s, three.view()).faces.size() == 3);
  faceattr_session_free(s);
  s = make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 1, /*max_faces=*/2);
  r = predict(s, three.view());
  CHECK(r.faces.size() == 2);
  faceattr_session_free(s);
  s = make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 1, /*max_faces=*/1);
  CHECK(predict(s, three.view()).faces.size() == 1);
  faceattr_session_free(s);

  // min_face_size is in frame pixels: the 24 px face goes at 30, the 32 px one at 36, all at 20.
  for (auto [min_size, want] : {std::pair<int, size_t>{20, 3}, {30, 2}, {36, 1}, {60, 0}}) {
    s = make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 1, 8, min_size);
    r = predict(s, three.view());
    INFO("min_face_size " << min_size);
    CHECK(r.faces.size() == want);
    for (const auto& f : r.faces) CHECK(std::min(f.box[2], f.box[3]) >= static_cast<float>(min_size));
    faceattr_session_free(s);
  }
}

TEST_CASE("pipeline: odd frame sizes, strides and pixel formats", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = make(anet, lnet);
  // 131x77: scale min(64/131, 48/77) -> content 64x38, letterbox below; faces in frame pixels.
  const RedBox truth{50, 20, 40, 40};
  const Frame rgb = red_frame(131, 77, {truth});
  const Result ref = predict(s, rgb.view());
  REQUIRE(ref.faces.size() == 1);
  INFO("box " << ref.faces[0].box[0] << " " << ref.faces[0].box[1] << " " << ref.faces[0].box[2] << " "
              << ref.faces[0].box[3]);
  CHECK(iou(ref.faces[0].box, truth) > 0.6f);

  for (faceattr_pixel_format fmt : {FACEATTR_PIXEL_BGR, FACEATTR_PIXEL_RGBA, FACEATTR_PIXEL_BGRA}) {
    const int ch = faceattr::image::channels_of(fmt);
    const int stride = 131 * ch + 5;  // padded rows
    std::vector<uint8_t> px(static_cast<size_t>(stride) * 77, 0xEE);
    const bool bgr = fmt == FACEATTR_PIXEL_BGR || fmt == FACEATTR_PIXEL_BGRA;
    for (int y = 0; y < 77; ++y)
      for (int x = 0; x < 131; ++x) {
        const uint8_t* src = &rgb.px[(static_cast<size_t>(y) * 131 + x) * 3];
        uint8_t* d = &px[static_cast<size_t>(y) * stride + static_cast<size_t>(x) * ch];
        d[0] = bgr ? src[2] : src[0], d[1] = src[1], d[2] = bgr ? src[0] : src[2];
        if (ch == 4) d[3] = 17;
      }
    const faceattr_image v{px.data(), 131, 77, stride, fmt};
    const Result r = predict(s, v);
    INFO("format " << fmt);
    REQUIRE(r.faces.size() == 1);
    for (int k = 0; k < 4; ++k) CHECK(r.faces[0].box[k] == ref.faces[0].box[k]);
    CHECK(r.faces[0].score == ref.faces[0].score);
    CHECK(r.probs[0] == ref.probs[0]);
  }

  // Tiny and very elongated frames are valid too.
  for (auto [w, h] : {std::pair<int, int>{1, 1}, {3, 200}, {300, 2}}) {
    const Frame f = red_frame(w, h, {{0, 0, w, h}});
    const faceattr_face* faces = nullptr;
    int32_t n = -1;
    const faceattr_image v = f.view();
    INFO(w << "x" << h);
    CHECK(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
    CHECK(n >= 0);
  }
  faceattr_session_free(s);
}

TEST_CASE("pipeline: faces at the border are cropped with edge replication", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = make(anet, lnet);
  // Faces cut by the left and bottom edges: the square box the decoder makes from the visible
  // region reaches past the frame; ANet's input then replicates the edge pixels.
  const Frame f = red_frame(128, 96, {{-16, 16, 40, 40}, {80, 64, 40, 40}});
  const Result r = predict(s, f.view());
  REQUIRE(r.faces.size() == 2);
  bool past_border = false;
  for (size_t i = 0; i < r.faces.size(); ++i) {
    const float* b = r.faces[i].box;
    past_border = past_border || b[0] < 0 || b[1] < 0 || b[0] + b[2] > 128 || b[1] + b[3] > 96;
    const auto want = anet_on_box(anet, f.view(), b);
    for (int k = 0; k < 6; ++k) {
      CHECK(std::isfinite(r.probs[i][k]));
      CHECK(r.probs[i][k] == want[k]);
    }
  }
  CHECK(past_border);
  CHECK(iou(r.faces[0].box, {0, 16, 24, 40}) + iou(r.faces[1].box, {0, 16, 24, 40}) > 0.4f);
  faceattr_session_free(s);
}

TEST_CASE("pipeline: response map geometry in frame pixels", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = make(anet, lnet);
  faceattr_response_map map{};
  CHECK(faceattr_session_response_map(s, &map) == FACEATTR_ERR_INVALID_ARGUMENT);  // no predict yet
  CHECK(std::strlen(faceattr_last_error()) > 0);
  CHECK(faceattr_session_response_map(s, nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);

  // 100x100 -> scale 0.48, content 48x48 at the left of the 64x48 input: cells of 4 / 0.48 px.
  const RedBox truth{25, 25, 50, 50};
  const Frame f = red_frame(100, 100, {truth});
  predict(s, f.view());
  REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
  CHECK(map.width == 16);
  CHECK(map.height == 12);
  CHECK(map.origin_x == 0.0f);
  CHECK(map.origin_y == 0.0f);
  CHECK(map.cell_width == Approx(4.0f / 0.48f));
  CHECK(map.cell_height == Approx(4.0f / 0.48f));
  for (int i = 0; i < map.height; ++i)
    for (int j = 0; j < map.width; ++j) {
      const float x0 = map.origin_x + j * map.cell_width, x1 = x0 + map.cell_width;
      const float y0 = map.origin_y + i * map.cell_height, y1 = y0 + map.cell_height;
      const float v = map.data[i * map.width + j];
      CHECK(v >= 0.0f);
      CHECK(v <= 1.0f);
      const bool inside =
          x0 >= truth.x && x1 <= truth.x + truth.w && y0 >= truth.y && y1 <= truth.y + truth.h;
      const bool outside =
          x1 <= truth.x || x0 >= truth.x + truth.w || y1 <= truth.y || y0 >= truth.y + truth.h;
      INFO("cell " << i << "," << j);
      if (inside) CHECK(v > 0.99f);
      if (outside) CHECK(v < 0.01f);  // includes the letterbox (x >= 100)
    }

  // A failed predict keeps the last successful map; the session stays usable.
  faceattr_image bad = f.view();
  bad.stride_bytes = 1;
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  CHECK(faceattr_session_predict(s, &bad, &faces, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
  faceattr_response_map again{};
  REQUIRE(faceattr_session_response_map(s, &again) == FACEATTR_OK);
  CHECK(again.cell_width == map.cell_width);
  CHECK(predict(s, f.view()).faces.size() == 1);
  faceattr_session_free(s);

  // Without LNet: no map, no localiser.
  s = make(anet, {});
  CHECK(faceattr_session_has_localizer(s) == 0);
  CHECK(faceattr_session_model_metadata(s, 1, "kind") == nullptr);
  CHECK(faceattr_session_response_map(s, &map) == FACEATTR_ERR_UNSUPPORTED);
  faceattr_session_free(s);
}

TEST_CASE("pipeline: malformed or misplaced LNet models are refused with a message", "[pipeline]") {
  const auto anet = tiny_anet();
  const faceattr_session_params p = faceattr_session_default_params();
  auto refused = [&](const std::vector<uint8_t>& a, const std::vector<uint8_t>& l, faceattr_status want,
                     const char* needle) {
    faceattr_session* s = reinterpret_cast<faceattr_session*>(&s);
    const faceattr_status st = create(a, l, p, &s);
    INFO(faceattr_last_error());
    CHECK(st == want);
    CHECK(s == nullptr);
    CHECK(std::string(faceattr_last_error()).find(needle) != std::string::npos);
  };
  TinyLnetSpec spec;
  spec.out_channels = 2;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,1]");
  // Output channels must match the metadata: 5 for a dense box map (lnet.dense = 1), else 1.
  spec.out_channels = 5;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,1]");
  faceattr::test::TinyDenseLnetSpec dense;
  dense.channels = 1;
  refused(anet, faceattr::test::tiny_dense_lnet_bytes(dense), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,5]");
  dense.channels = 4;
  refused(anet, faceattr::test::tiny_dense_lnet_bytes(dense), FACEATTR_ERR_MODEL_FORMAT, "lnet.dense = 1");
  spec = {};
  spec.two_outputs = true;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "exactly one output");
  spec = {};
  spec.input_w = 66;  // map 16 wide: 66 is not a multiple
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "not a multiple");
  spec = {};
  spec.metadata = {{"lnet.threshold", "abc"}};
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "lnet.threshold");
  spec.metadata = {{"lnet.nms_iou", "1.5"}};
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "lnet.nms_iou");
  auto corrupt = faceattr::test::tiny_lnet_bytes({});
  corrupt[corrupt.size() - 3] ^= 0x40;
  refused(anet, corrupt, FACEATTR_ERR_MODEL_FORMAT, "LNet model: ");
  auto truncated = faceattr::test::tiny_lnet_bytes({});
  truncated.resize(truncated.size() / 2);
  refused(anet, truncated, FACEATTR_ERR_MODEL_FORMAT, "LNet");
  // Wrong model in the wrong slot.
  refused(anet, anet, FACEATTR_ERR_INVALID_ARGUMENT, "LNet slot");
  refused(faceattr::test::tiny_lnet_bytes({}), faceattr::test::tiny_lnet_bytes({}),
          FACEATTR_ERR_INVALID_ARGUMENT, "ANet slot");
  // Decoder metadata in range is accepted.
  spec = {};
  spec.metadata = {{"lnet.threshold", "0.6"}, {"lnet.box_scale", "1.25"}, {"lnet.nms_iou", "0.4"}};
  faceattr_session* s = nullptr;
  CHECK(create(anet, faceattr::test::tiny_lnet_bytes(spec), p, &s) == FACEATTR_OK);
  faceattr_session_free(s);
}

TEST_CASE("pipeline: every backend, thread count and dtype gives the same boxes", "[pipeline]") {
  // Faces aligned to the 8 px cells of a 128x96 frame: no map cell is borderline, so the
  // decoded regions, hence the boxes, must match exactly across kernel families.
  const Frame f = red_frame(128, 96, {{8, 8, 32, 32}, {72, 40, 48, 48}});
  for (bool int8 : {false, true}) {
    const auto anet = tiny_anet(int8);
    TinyLnetSpec spec;
    spec.int8 = int8;
    const auto lnet = faceattr::test::tiny_lnet_bytes(spec);
    faceattr_session* r = make(anet, lnet);
    const Result ref = predict(r, f.view());
    faceattr_session_free(r);
    REQUIRE(ref.faces.size() == 2);
    const float tol = int8 ? 0.03f : 1e-4f;
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      for (int threads : {1, 2}) {
        INFO("backend " << faceattr_backend_name(b) << ", " << threads << " threads, int8 " << int8);
        faceattr_session* s = make(anet, lnet, b, threads);
        const Result got = predict(s, f.view());
        REQUIRE(got.faces.size() == ref.faces.size());
        for (size_t i = 0; i < got.faces.size(); ++i) {
          for (int k = 0; k < 4; ++k) CHECK(got.faces[i].box[k] == Approx(ref.faces[i].box[k]).margin(1e-3));
          CHECK(got.faces[i].score == Approx(ref.faces[i].score).margin(int8 ? 0.02 : 1e-5));
          for (size_t a = 0; a < got.probs[i].size(); ++a)
            CHECK(got.probs[i][a] == Approx(ref.probs[i][a]).margin(tol));
        }
        faceattr_session_free(s);
      }
    }
  }
}

TEST_CASE("pipeline: the abort callback stops either network and the session recovers", "[pipeline]") {
  struct Abort {
    int calls = 0;
    int abort_at = 0;  // 0: never
  } ab;
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.abort_callback = [](void* u) {
    auto* a = static_cast<Abort*>(u);
    return ++a->calls == a->abort_at ? 1 : 0;
  };
  p.abort_user_data = &ab;
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = nullptr;
  REQUIRE(create(anet, lnet, p, &s) == FACEATTR_OK);
  const Frame f = red_frame(128, 96, {{8, 8, 32, 32}, {72, 40, 48, 48}});
  const Result want = predict(s, f.view());
  REQUIRE(want.faces.size() == 2);
  const int polls = ab.calls;  // LNet's nodes, then ANet's per face
  REQUIRE(polls > 4);
  for (int k = 1; k <= polls; ++k) {
    INFO("abort at poll " << k << " of " << polls);
    ab.calls = 0;
    ab.abort_at = k;
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    const faceattr_image v = f.view();
    CHECK(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_ERR_CANCELLED);
    CHECK(n == 0);
    CHECK(std::strlen(faceattr_last_error()) > 0);
    ab.abort_at = 0;
    const Result again = predict(s, f.view());
    REQUIRE(again.faces.size() == 2);
    CHECK(again.probs == want.probs);
  }
  faceattr_session_free(s);
}

TEST_CASE("pipeline: C++ wrapper", "[pipeline]") {
  {
    // params.localize = 0: whole-image mode through the wrapper too.
    const auto anet = tiny_anet();
    const auto lnet = faceattr::test::tiny_lnet_bytes({});
    faceattr_session_params p = faceattr_session_default_params();
    p.localize = 0;
    faceattr::Session off = faceattr::Session::create(anet.data(), anet.size(), &p, lnet.data(), lnet.size());
    CHECK(!off.has_localizer());
    const auto faces = off.predict(red_frame(128, 96, {{32, 16, 48, 48}}).view());
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].score == 1.0f);
  }
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr::Session s =
      faceattr::Session::create(anet.data(), anet.size(), nullptr, lnet.data(), lnet.size());
  CHECK(s.has_localizer());
  CHECK(s.metadata("kind", 1) == "lnet");
  faceattr_response_map m{};
  CHECK(s.try_response_map(&m) == FACEATTR_ERR_INVALID_ARGUMENT);
  const Frame f = red_frame(128, 96, {{32, 16, 48, 48}});
  CHECK(s.predict(f.view()).size() == 1);
  m = s.response_map();
  CHECK(m.width == 16);
  CHECK(s.predict(red_frame(64, 64, {}).view()).empty());

  faceattr::Session plain = faceattr::Session::create(anet.data(), anet.size());
  CHECK(!plain.has_localizer());
  try {
    plain.response_map();
    FAIL("expected faceattr::Error");
  } catch (const faceattr::Error& e) {
    CHECK(e.status() == FACEATTR_ERR_UNSUPPORTED);
  }
}

namespace {

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// The face box (frame pixels) of the dense fixture for a red square filling map cell (i, j),
// by the decode rule of lnet_decode.h, for a frame `scale` times LNet's input (no letterbox).
std::vector<float> dense_box(const faceattr::test::TinyDenseLnetSpec& spec, int i, int j, float box_min,
                             float box_max, float scale) {
  const float cell = static_cast<float>(spec.cell);
  const float ox = sigmoid(spec.bias[1]), oy = sigmoid(spec.bias[2]);
  const float sw = sigmoid(spec.bias[3]), sh = sigmoid(spec.bias[4]);
  const float cx = (j + 0.5f + (2.0f * ox - 1.0f)) * cell, cy = (i + 0.5f + (2.0f * oy - 1.0f)) * cell;
  const float w = box_min * std::pow(box_max / box_min, sw), h = box_min * std::pow(box_max / box_min, sh);
  return {(cx - 0.5f * w) * scale, (cy - 0.5f * h) * scale, w * scale, h * scale};
}

// The raw LNet output for `img` letterboxed into its input (reference kernels).
std::vector<float> lnet_output(const std::vector<uint8_t>& lnet, const faceattr_image& img) {
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  REQUIRE(net.load(lnet.data(), lnet.size(), faceattr::kernels::Family::Reference, ctx).is_ok());
  const auto& m = net.model();
  faceattr::image::Letterbox g;
  REQUIRE(faceattr::image::letterbox_normalize(img, m.input_width, m.input_height, m.mean, m.std, net.input_ptr(), &g)
              .is_ok());
  REQUIRE(net.run().is_ok());
  return std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements());
}

}  // namespace

TEST_CASE("pipeline: a dense box-map LNet (5 channels) on every backend: its face, box and score map", "[pipeline]") {
  const auto anet = tiny_anet();
  faceattr::test::TinyDenseLnetSpec spec;  // 64x48 input, cells of 4: a 16x12 map of 5 channels
  const auto lnet = faceattr::test::tiny_dense_lnet_bytes(spec);
  // 128x96 frame = 2x LNet's input; the red 8x8 square at (56, 40) fills map cell (5, 7) alone.
  const int ci = 5, cj = 7;
  const Frame f = red_frame(128, 96, {{cj * 8, ci * 8, 8, 8}});
  const std::vector<float> want = dense_box(spec, ci, cj, 8.0f, 128.0f, 2.0f);
  const std::vector<float> raw = lnet_output(lnet, f.view());
  REQUIRE(raw.size() == 16u * 12u * 5u);
  for (faceattr_backend b : kAllBackends) {
    if (!faceattr_backend_available(b)) continue;
    for (int threads : {1, 2}) {
      INFO("backend " << faceattr_backend_name(b) << ", " << threads << " threads");
      faceattr_session* s = make(anet, lnet, b, threads);
      const Result r = predict(s, f.view());
      REQUIRE(r.faces.size() == 1);
      const faceattr_face& face = r.faces[0];
      INFO("box " << face.box[0] << " " << face.box[1] << " " << face.box[2] << " " << face.box[3]);
      for (int k = 0; k < 4; ++k) CHECK(face.box[k] == Approx(want[static_cast<size_t>(k)]).epsilon(1e-4));
      CHECK(face.score == Approx(sigmoid(spec.gain + spec.bias[0])).epsilon(1e-5));
      // No framing metadata: ANet reads the box, centre-cropped to its aspect.
      const auto probs = anet_on_box(anet, f.view(), face.box);
      for (int a = 0; a < 6; ++a) CHECK(r.probs[0][a] == Approx(probs[a]).margin(1e-5));
      // The response map is channel 0 of the output, a plain 16x12 map.
      faceattr_response_map map{};
      REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
      REQUIRE(map.width == 16);
      REQUIRE(map.height == 12);
      CHECK(map.cell_width == Approx(8.0f));
      CHECK(map.cell_height == Approx(8.0f));
      for (int c = 0; c < 16 * 12; ++c) CHECK(map.data[c] == Approx(raw[static_cast<size_t>(c) * 5]).margin(1e-6));
      CHECK(map.data[ci * 16 + cj] > 0.99f);
      // A face-free frame: no face, a map of low scores.
      CHECK(predict(s, red_frame(128, 96, {}).view()).faces.empty());
      faceattr_session_free(s);
    }
  }
}

TEST_CASE("pipeline: ANet framing of a face box follows lnet.crop_w / crop_h / crop_dy", "[pipeline]") {
  using faceattr::image::CropBox;
  using faceattr::pipeline::anet_crop_of;
  faceattr::pipeline::DecodeParams p;
  const CropBox face{10, 20, 40, 90};  // S = sqrt(40 * 90) = 60
  // crop_w = 0: the box centre-cropped to the aspect (0.5: 40 x 80 centred).
  CropBox c = anet_crop_of(face, p, 0.5f);
  CHECK(c.x == Approx(10));
  CHECK(c.y == Approx(25));
  CHECK(c.w == Approx(40));
  CHECK(c.h == Approx(80));
  // 1.2 S x 1.5 S = 72 x 90 centred at (30, 65 + 0.1 * 60 = 71), then centre-cropped to 0.5: 45 x 90.
  p.crop_w = 1.2f;
  p.crop_h = 1.5f;
  p.crop_dy = 0.1f;
  c = anet_crop_of(face, p, 0.5f);
  CHECK(c.w == Approx(45));
  CHECK(c.h == Approx(90));
  CHECK(c.x + 0.5f * c.w == Approx(30));
  CHECK(c.y + 0.5f * c.h == Approx(71));
  // Wider than the aspect: the height stays.
  c = anet_crop_of(face, p, 1.0f);
  CHECK(c.w == Approx(72));
  CHECK(c.h == Approx(72));
  CHECK(c.y + 0.5f * c.h == Approx(71));

  // End to end: the session's ANet reads that crop, its face keeps LNet's box.
  const auto anet = tiny_anet();
  faceattr::test::TinyDenseLnetSpec spec;
  spec.metadata.insert(spec.metadata.end(), {{"lnet.crop_w", "1.2"}, {"lnet.crop_h", "1.5"}, {"lnet.crop_dy", "0.1"}});
  const auto lnet = faceattr::test::tiny_dense_lnet_bytes(spec);
  const Frame f = red_frame(128, 96, {{7 * 8, 5 * 8, 8, 8}});
  for (faceattr_backend b : kAllBackends) {
    if (!faceattr_backend_available(b)) continue;
    INFO("backend " << faceattr_backend_name(b));
    faceattr_session* s = make(anet, lnet, b);
    const Result r = predict(s, f.view());
    REQUIRE(r.faces.size() == 1);
    const std::vector<float> want = dense_box(spec, 5, 7, 8.0f, 128.0f, 2.0f);
    for (int k = 0; k < 4; ++k) CHECK(r.faces[0].box[k] == Approx(want[static_cast<size_t>(k)]).epsilon(1e-4));
    const float side = std::sqrt(r.faces[0].box[2] * r.faces[0].box[3]);
    const float crop[4] = {r.faces[0].box[0] + 0.5f * r.faces[0].box[2] - 0.6f * side,
                           r.faces[0].box[1] + 0.5f * r.faces[0].box[3] + 0.1f * side - 0.75f * side, 1.2f * side,
                           1.5f * side};
    const auto probs = anet_on_box(anet, f.view(), crop);
    const auto plain = anet_on_box(anet, f.view(), r.faces[0].box);
    bool differs = false;
    for (int a = 0; a < 6; ++a) {
      CHECK(r.probs[0][a] == Approx(probs[a]).margin(1e-5));
      differs = differs || std::fabs(plain[a] - probs[a]) > 1e-4f;
    }
    CHECK(differs);  // the framing changed what ANet saw
    faceattr_session_free(s);
  }
}

TEST_CASE("pipeline: localize = 0 with an LNet gives exactly the whole-image face", "[pipeline]") {
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  const Frame f = red_frame(128, 96, {{8, 8, 32, 32}, {72, 40, 48, 48}});
  faceattr_session* plain = make(anet, {});
  const Result want = predict(plain, f.view());
  REQUIRE(want.faces.size() == 1);
  faceattr_session_free(plain);

  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.localize = 0;
  faceattr_session* s = nullptr;
  REQUIRE(create(anet, lnet, p, &s) == FACEATTR_OK);
  CHECK(faceattr_session_has_localizer(s) == 0);
  CHECK(std::string(faceattr_session_model_metadata(s, 1, "kind")) == "lnet");  // loaded all the same
  const Result r = predict(s, f.view());
  REQUIRE(r.faces.size() == 1);
  for (int k = 0; k < 4; ++k) CHECK(r.faces[0].box[k] == want.faces[0].box[k]);
  CHECK(r.faces[0].box[2] == 80.0f);  // 128x96 centre-cropped to ANet's 20:24
  CHECK(r.faces[0].box[3] == 96.0f);
  CHECK(r.faces[0].score == 1.0f);
  CHECK(r.probs == want.probs);
  faceattr_timings t{};
  REQUIRE(faceattr_session_last_timings(s, &t) == FACEATTR_OK);
  CHECK(t.lnet_ms == 0.0);
  faceattr_response_map map{};
  CHECK(faceattr_session_response_map(s, &map) == FACEATTR_ERR_UNSUPPORTED);
  CHECK(std::string(faceattr_last_error()).find("localize") != std::string::npos);
  faceattr_session_free(s);

  // The default localises: both faces.
  s = make(anet, lnet);
  CHECK(faceattr_session_has_localizer(s) == 1);
  CHECK(predict(s, f.view()).faces.size() == 2);
  faceattr_session_free(s);
}

TEST_CASE("pipeline: the default max_faces (32) holds a crowd of 24 faces", "[pipeline]") {
  // 24 red squares of 16 px, one map cell each (256x192 frame: LNet 64x48 at scale 1/4,
  // cells of 16 frame pixels), a free cell between neighbours: 24 separate faces.
  std::vector<RedBox> boxes;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) boxes.push_back({(2 * c + 1) * 16, (2 * r + 1) * 16, 16, 16});
  const Frame f = red_frame(256, 192, boxes);
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.min_face_size = 8;
  faceattr_session* s = nullptr;
  REQUIRE(create(anet, lnet, p, &s) == FACEATTR_OK);
  const Result r = predict(s, f.view());
  CHECK(r.faces.size() == 24);
  for (const RedBox& b : boxes) {
    int matched = 0;
    for (const auto& face : r.faces) matched += iou(face.box, b) > 0.5f ? 1 : 0;
    CHECK(matched == 1);
  }
  faceattr_session_free(s);
}
