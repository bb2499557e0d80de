// LNet response-map decoder on synthetic maps: blobs -> boxes, NMS, borders,
// garbage in the map, and metadata parsing/rejection.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "model/model.h"
#include "pipeline/lnet_decode.h"

using faceattr::pipeline::DecodeParams;
using faceattr::pipeline::Decoder;
using faceattr::pipeline::FaceBox;

namespace {

constexpr int kH = 15, kW = 20;
constexpr float kCell = 8.0f;  // 160x120 input, stride 8

// Adds a Gaussian blob with peak `amp` centred at cell coordinates (ci, cj) (cell units, centres at +0.5).
void add_blob(std::vector<float>& m, float ci, float cj, float sigma, float amp) {
  for (int i = 0; i < kH; ++i)
    for (int j = 0; j < kW; ++j) {
      const float di = i + 0.5f - ci, dj = j + 0.5f - cj;
      m[i * kW + j] = std::max(m[i * kW + j], amp * std::exp(-(di * di + dj * dj) / (2 * sigma * sigma)));
    }
}

faceattr::model::Model lnet_with(std::vector<std::pair<std::string, std::string>> meta) {
  faceattr::model::Model m;
  m.kind = "lnet";
  m.metadata = std::move(meta);
  return m;
}

}  // namespace

TEST_CASE("decoder: one blob gives one box around it", "[lnet_decode]") {
  std::vector<float> map(kH * kW, 0.02f);
  add_blob(map, 7.5f, 10.5f, 1.5f, 0.9f);  // centre at pixel (84, 60)
  DecodeParams p;
  Decoder d(p, kH, kW, kCell, kCell, 8);
  FaceBox out[8];
  REQUIRE(d.decode(map.data(), 0, out) == 1);
  CHECK(out[0].score == Approx(map[7 * kW + 10]));
  CHECK(out[0].x + out[0].w / 2 == Approx(84.0f).margin(1.0f));
  CHECK(out[0].y + out[0].h / 2 == Approx(60.0f).margin(1.0f));
  CHECK(out[0].w == Approx(out[0].h));  // aspect 1
  // Region >= 0.5 * peak of a sigma-1.5 Gaussian: radius 1.77 cells, area ~9.8 cells -> side ~3.1 cells.
  CHECK(out[0].w > 2.0f * kCell);
  CHECK(out[0].w < 4.5f * kCell);

  SECTION("box_scale and box_aspect shape the box") {
    DecodeParams q;
    q.box_scale = 2.0f;
    q.box_aspect = 0.8f;
    Decoder d2(q, kH, kW, kCell, kCell, 8);
    FaceBox o2[8];
    REQUIRE(d2.decode(map.data(), 0, o2) == 1);
    CHECK(o2[0].w / o2[0].h == Approx(0.8f));
    CHECK(std::sqrt(o2[0].w * o2[0].h) == Approx(2.0f * out[0].w).epsilon(1e-4));
    CHECK(o2[0].x + o2[0].w / 2 == Approx(out[0].x + out[0].w / 2));
  }
  SECTION("min_side drops small boxes") {
    CHECK(d.decode(map.data(), out[0].w + 0.5f, out) == 0);
    CHECK(d.decode(map.data(), out[0].w - 0.5f, out) == 1);
  }
  SECTION("a peak below the threshold is no face") {
    DecodeParams q;
    q.threshold = 0.95f;
    Decoder d2(q, kH, kW, kCell, kCell, 8);
    CHECK(d2.decode(map.data(), 0, out) == 0);
  }
}

TEST_CASE("decoder: two blobs give two boxes, strongest first, capped by max_faces", "[lnet_decode]") {
  std::vector<float> map(kH * kW, 0.0f);
  add_blob(map, 4.5f, 4.5f, 1.2f, 0.7f);
  add_blob(map, 10.5f, 15.5f, 1.2f, 0.95f);
  Decoder d(DecodeParams{}, kH, kW, kCell, kCell, 4);
  FaceBox out[4];
  REQUIRE(d.decode(map.data(), 0, out) == 2);
  CHECK(out[0].score > out[1].score);
  CHECK(out[0].x + out[0].w / 2 == Approx(15.5f * kCell).margin(1.0f));
  CHECK(out[1].x + out[1].w / 2 == Approx(4.5f * kCell).margin(1.0f));
  Decoder one(DecodeParams{}, kH, kW, kCell, kCell, 1);
  REQUIRE(one.decode(map.data(), 0, out) == 1);
  CHECK(out[0].score == Approx(0.95f).margin(0.05f));
}

TEST_CASE("decoder: blobs joined above the region floor are one face; NMS removes overlapping boxes",
          "[lnet_decode]") {
  // Two peaks two cells apart on one ridge: the stronger peak's region (cells >= 0.5 * 0.9)
  // takes the weaker peak too, so one box covers both.
  std::vector<float> map(kH * kW, 0.0f);
  add_blob(map, 7.5f, 9.5f, 1.5f, 0.9f);
  add_blob(map, 7.5f, 11.5f, 1.5f, 0.85f);
  DecodeParams p;
  p.nms_iou = 1.0f;  // nothing suppressed
  Decoder d(p, kH, kW, kCell, kCell, 8);
  FaceBox out[8];
  REQUIRE(d.decode(map.data(), 0, out) == 1);
  CHECK(out[0].x + out[0].w / 2 == Approx(10.5f * kCell).margin(4.0f));
  // A high region fraction separates them; then NMS decides.
  p.region_fraction = 0.95f;
  Decoder sep(p, kH, kW, kCell, kCell, 8);
  REQUIRE(sep.decode(map.data(), 0, out) == 2);
  p.box_scale = 4.0f;  // big boxes that overlap a lot
  p.nms_iou = 0.3f;
  Decoder nms(p, kH, kW, kCell, kCell, 8);
  REQUIRE(nms.decode(map.data(), 0, out) == 1);
  CHECK(out[0].score == Approx(0.9f).margin(0.01f));
}

TEST_CASE("decoder: empty, flat and garbage maps find nothing", "[lnet_decode]") {
  Decoder d(DecodeParams{}, kH, kW, kCell, kCell, 8);
  FaceBox out[8];
  std::vector<float> map(kH * kW, 0.1f);
  CHECK(d.decode(map.data(), 0, out) == 0);
  std::fill(map.begin(), map.end(), std::numeric_limits<float>::quiet_NaN());
  CHECK(d.decode(map.data(), 0, out) == 0);
  std::fill(map.begin(), map.end(), -std::numeric_limits<float>::infinity());
  CHECK(d.decode(map.data(), 0, out) == 0);
  CHECK(d.decode(nullptr, 0, out) == 0);
  CHECK(d.decode(map.data(), 0, nullptr) == 0);
  // NaN next to a real blob: the blob is still found, the NaN cells never join it.
  std::fill(map.begin(), map.end(), 0.0f);
  add_blob(map, 7.5f, 10.5f, 1.0f, 0.9f);
  map[7 * kW + 11] = std::numeric_limits<float>::quiet_NaN();
  map[0] = std::numeric_limits<float>::infinity();
  REQUIRE(d.decode(map.data(), 0, out) == 1);
  CHECK(out[0].score == Approx(0.9f));
  // Degenerate geometry: a decoder that finds nothing instead of crashing.
  Decoder bad(DecodeParams{}, 0, -3, kCell, kCell, 8);
  CHECK(bad.decode(map.data(), 0, out) == 0);
  Decoder nocell(DecodeParams{}, kH, kW, std::numeric_limits<float>::quiet_NaN(), kCell, 8);
  CHECK(nocell.decode(map.data(), 0, out) == 0);
}

TEST_CASE("decoder: a blob at the border gives a box clipped to no cell outside the map", "[lnet_decode]") {
  std::vector<float> map(kH * kW, 0.0f);
  add_blob(map, 0.5f, 0.5f, 1.5f, 0.8f);  // corner cell
  Decoder d(DecodeParams{}, kH, kW, kCell, kCell, 8);
  FaceBox out[8];
  REQUIRE(d.decode(map.data(), 0, out) == 1);
  CHECK(out[0].score == Approx(0.8f));
  // Only the in-map quarter of the blob counts: a smaller box than a centred blob's,
  // centred inside the map, near the corner.
  CHECK(out[0].x + out[0].w / 2 > 0);
  CHECK(out[0].x + out[0].w / 2 < 2 * kCell);
  CHECK(out[0].y + out[0].h / 2 < 2 * kCell);
  std::vector<float> mid(kH * kW, 0.0f);
  add_blob(mid, 7.5f, 10.5f, 1.5f, 0.8f);
  FaceBox o2[8];
  REQUIRE(d.decode(mid.data(), 0, o2) == 1);
  CHECK(out[0].w < o2[0].w);
}

TEST_CASE("decode params from LNet metadata", "[lnet_decode]") {
  DecodeParams p;
  SECTION("absent keys keep the defaults") {
    REQUIRE(decode_params_from_model(lnet_with({}), &p).is_ok());
    CHECK(p.threshold == DecodeParams{}.threshold);
    CHECK(p.nms_iou == DecodeParams{}.nms_iou);
  }
  SECTION("valid values are read") {
    auto st = decode_params_from_model(lnet_with({{"lnet.threshold", "0.35"},
                                                  {"lnet.region_fraction", "0.6"},
                                                  {"lnet.box_scale", "1.75"},
                                                  {"lnet.box_aspect", "0.8"},
                                                  {"lnet.nms_iou", "0.2"},
                                                  {"licence", "whatever"}}),
                                       &p);
    REQUIRE(st.is_ok());
    CHECK(p.threshold == Approx(0.35f));
    CHECK(p.region_fraction == Approx(0.6f));
    CHECK(p.box_scale == Approx(1.75f));
    CHECK(p.box_aspect == Approx(0.8f));
    CHECK(p.nms_iou == Approx(0.2f));
  }
  SECTION("garbage, NaN, inf and out-of-range values are refused") {
    const char* bad[][2] = {
        {"lnet.threshold", "nan"},        {"lnet.threshold", "0.5x"},       {"lnet.threshold", ""},
        {"lnet.threshold", "1.5"},        {"lnet.threshold", "0"},          {"lnet.box_scale", "inf"},
        {"lnet.box_scale", "-1"},         {"lnet.box_aspect", "0"},         {"lnet.nms_iou", "2"},
        {"lnet.region_fraction", " 0.5"}, {"lnet.region_fraction", "1e999"}};
    for (auto& kv : bad) {
      p = DecodeParams{};
      p.threshold = 0.123f;
      auto st = decode_params_from_model(lnet_with({{kv[0], kv[1]}}), &p);
      INFO(kv[0] << " = '" << kv[1] << "'");
      CHECK(st.code() == FACEATTR_ERR_MODEL_FORMAT);
      CHECK(st.message().find(kv[0]) != std::string::npos);
      CHECK(p.threshold == 0.123f);  // output untouched on error
    }
  }
  SECTION("validate_decode_params checks ranges") {
    DecodeParams q;
    CHECK(faceattr::pipeline::validate_decode_params(q).is_ok());
    q.box_scale = std::numeric_limits<float>::quiet_NaN();
    CHECK(!faceattr::pipeline::validate_decode_params(q).is_ok());
  }
}
