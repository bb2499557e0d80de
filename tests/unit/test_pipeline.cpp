// The in-the-wild pipeline (frame -> LNet -> boxes -> crop -> ANet) through the
// C API, on a hand-weighted LNet (tests/support/tiny_lnet.h) whose faces are red
// squares, so every expected box is known without running the SDK: the faces
// found, their ANet crops and the C++ wrapper. The localiser's own geometry is in
// test_pipeline_localiser.cpp, refusals and the abort callback in
// test_pipeline_errors.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "image/preprocess.h"
#include "pipeline/face_pipeline.h"
#include "pipeline_fixtures.h"
#include "support/tiny_lnet.h"

using namespace faceattr::test::pipeline;

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
  spec.metadata.insert(spec.metadata.end(),
                       {{"lnet.crop_w", "1.2"}, {"lnet.crop_h", "1.5"}, {"lnet.crop_dy", "0.1"}});
  const auto lnet = faceattr::test::tiny_dense_lnet_bytes(spec);
  const Frame f = red_frame(128, 96, {{7 * 8, 5 * 8, 8, 8}});
  for (faceattr_backend b : kAllBackends) {
    if (!faceattr_backend_available(b)) continue;
    INFO("backend " << faceattr_backend_name(b));
    faceattr_session* s = make(anet, lnet, b);
    const Result r = predict(s, f.view());
    REQUIRE(r.faces.size() == 1);
    const std::vector<float> want = dense_box(spec, 5, 7, 8.0f, 128.0f, 2.0f);
    for (int k = 0; k < 4; ++k)
      CHECK(r.faces[0].box[k] == Approx(want[static_cast<size_t>(k)]).epsilon(1e-4));
    const float side = std::sqrt(r.faces[0].box[2] * r.faces[0].box[3]);
    const float crop[4] = {r.faces[0].box[0] + 0.5f * r.faces[0].box[2] - 0.6f * side,
                           r.faces[0].box[1] + 0.5f * r.faces[0].box[3] + 0.1f * side - 0.75f * side,
                           1.2f * side, 1.5f * side};
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
