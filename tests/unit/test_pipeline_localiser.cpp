// The pipeline's localiser stage through the C API: the letterbox LNet sees, image
// pyramids and coarse passes, the response map, a dense box-map LNet, and the same
// boxes on every backend (fixtures: pipeline_fixtures.h).
#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "pipeline_fixtures.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"

using namespace faceattr::test::pipeline;

namespace {

// The raw LNet output for `img` letterboxed into its input (reference kernels).
std::vector<float> lnet_output(const std::vector<uint8_t>& lnet, const faceattr_image& img) {
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  REQUIRE(net.load(lnet.data(), lnet.size(), faceattr::kernels::Family::Reference, ctx).is_ok());
  const auto& m = net.model();
  faceattr::image::Letterbox g;
  REQUIRE(faceattr::image::letterbox_normalize(img, m.input_width, m.input_height, m.mean, m.std,
                                               net.input_ptr(), &g)
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
  const RedBox truth{56, 40, 16, 16};  // LNet 64x48 (scale 0.5): 8x8 px, 2x2 cells
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
      INFO("backend " << faceattr_backend_name(b) << " int8 " << int8);
      check_one_face(s, f.view(), 20.0f, 64.0f, 48.0f);  // 10 LNet px / 0.5
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
      INFO("backend " << faceattr_backend_name(b) << " int8 " << int8);
      const Result r = check_one_face(s, f.view(), 80.0f, 64.0f, 48.0f);  // 40 LNet px / 0.5
      const faceattr_face& face = r.faces[0];
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

TEST_CASE("pipeline: a box longer than 4 frame sides is no face", "[pipeline]") {
  // The size model without weights gives every box exp(size_bias) LNet pixels; the 128x96
  // frame is at scale 0.5, so the box is 2 exp(size_bias) frame pixels against a limit of
  // 4 * 128 = 512. (A fuzzed LNet made 32,880 px boxes on a 32x24 frame, and resampling
  // such a crop took seconds.)
  const auto anet = tiny_anet();
  const Frame f = red_frame(128, 96, {RedBox{24, 8, 80, 80}});
  for (auto [side, found] : {std::pair{40.0, 1}, {250.0, 1}, {262.0, 0}, {5000.0, 0}, {1e6, 0}}) {
    INFO("box of " << side << " LNet px");
    TinyLnetSpec spec;
    spec.metadata = {{"license", "test-only"},
                     {"lnet.threshold", "0.99"},
                     {"lnet.size_bias", std::to_string(std::log(side))},
                     {"lnet.size_w1", "0"},
                     {"lnet.size_w2", "0"}};
    faceattr_session* s = make(anet, faceattr::test::tiny_lnet_bytes(spec));
    const Result r = predict(s, f.view());
    CHECK(static_cast<int>(r.faces.size()) == found);
    for (const auto& face : r.faces) CHECK(face.box[2] == Approx(2.0 * side).epsilon(1e-4));
    faceattr_session_free(s);
  }
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

TEST_CASE("pipeline: a dense box-map LNet (5 channels) on every backend: its face, box and score map",
          "[pipeline]") {
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
    for (int threads : {1, 2, 4, 8}) {
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
      for (int c = 0; c < 16 * 12; ++c)
        CHECK(map.data[c] == Approx(raw[static_cast<size_t>(c) * 5]).margin(1e-6));
      CHECK(map.data[ci * 16 + cj] > 0.99f);
      // A face-free frame: no face, a map of low scores.
      CHECK(predict(s, red_frame(128, 96, {}).view()).faces.empty());
      faceattr_session_free(s);
    }
  }
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
      for (int threads : {1, 2, 3, 4, 8}) {
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
