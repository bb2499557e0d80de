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

TEST_CASE("decoder: coarse pass finds a face the fine map misses; sizes from the responses",
          "[lnet_decode]") {
  // Fine map: nothing (a frame-filling face). Coarse map (frame at half size): a blob at
  // cell (3.5, 4.5), i.e. coarse pixel (36, 28) -> fine pixel (72, 56) at ratio 2.
  std::vector<float> fine(kH * kW, 0.02f), coarse(kH * kW, 0.02f);
  add_blob(coarse, 3.5f, 4.5f, 1.2f, 0.97f);
  DecodeParams p;
  p.threshold = 0.9f;
  FaceBox out[8];
  SECTION("without half_threshold the coarse map is ignored") {
    Decoder d(p, kH, kW, kCell, kCell, 8);
    CHECK(!d.wants_coarse_map());
    CHECK(d.decode(fine.data(), 0, out, coarse.data()) == 0);
  }
  p.half_threshold = 0.95f;
  p.size_bias = std::log(40.0f);
  p.size_w1 = 0.0f;
  p.size_w2 = 0.5f;
  Decoder d(p, kH, kW, kCell, kCell, 8);
  REQUIRE(d.wants_coarse_map());
  SECTION("a coarse candidate, centred at ratio x its map position, sized by the model") {
    REQUIRE(d.decode(fine.data(), 0, out, coarse.data()) == 1);
    CHECK(out[0].x + out[0].w / 2 == Approx(72.0f).margin(1.0f));
    CHECK(out[0].y + out[0].h / 2 == Approx(56.0f).margin(1.0f));
    CHECK(out[0].score == Approx(0.97f).margin(0.01f));
    // p2 = the coarse peak near the centre (0.97), p1 = 0.02: side = exp(bias + 0.5 logit(0.97)).
    const float p2 = coarse[3 * kW + 4];
    CHECK(out[0].w == Approx(40.0f * std::exp(0.5f * std::log(p2 / (1 - p2)))).epsilon(1e-3));
    CHECK(out[0].w == Approx(out[0].h));
    // Other ratios move the centre (a letterbox that does not halve exactly).
    REQUIRE(d.decode(fine.data(), 0, out, coarse.data(), 2.5f, 2.0f) == 1);
    CHECK(out[0].x + out[0].w / 2 == Approx(90.0f).margin(1.0f));
  }
  SECTION("no coarse map: the fine pass alone") { CHECK(d.decode(fine.data(), 0, out) == 0); }
  SECTION("a coarse peak below half_threshold is no face") {
    std::vector<float> weak(kH * kW, 0.02f);
    add_blob(weak, 3.5f, 4.5f, 1.2f, 0.9f);
    CHECK(d.decode(fine.data(), 0, out, weak.data()) == 0);
  }
  SECTION("coarse candidates whose centre falls off the fine input are dropped") {
    std::vector<float> far(kH * kW, 0.02f);
    add_blob(far, 12.5f, 16.5f, 1.2f, 0.99f);  // coarse pixel (132, 100) -> (264, 200): off 160x120
    CHECK(d.decode(fine.data(), 0, out, far.data()) == 0);
  }
  SECTION("a face in both maps gives one box (NMS), strongest score first") {
    add_blob(fine, 7.0f, 9.0f, 1.2f, 0.93f);    // fine pixel (72, 56): the same face
    add_blob(fine, 12.5f, 17.5f, 1.0f, 0.99f);  // another, small face only in the fine map
    REQUIRE(d.decode(fine.data(), 0, out, coarse.data()) == 2);
    CHECK(out[0].score == Approx(0.99f).margin(0.01f));
    CHECK(out[1].score == Approx(0.97f).margin(0.01f));
    // Sizes differ with the responses: p2 near the small face is 0.02 -> a small box.
    CHECK(out[0].w < 10.0f);
    CHECK(out[1].w > 40.0f);
  }
  SECTION("without the size model a coarse box is half_box_scale x sqrt(region area), fine pixels") {
    DecodeParams q = p;
    q.size_bias = 0.0f;
    q.box_scale = 1.0f;
    q.half_box_scale = 1.5f;
    Decoder area(q, kH, kW, kCell, kCell, 8);
    REQUIRE(area.decode(fine.data(), 0, out, coarse.data()) == 1);
    // The same region decoded as a fine map (box_scale 1) is half as wide: cells ratio 2 larger.
    DecodeParams f1;
    f1.threshold = 0.95f;
    f1.box_scale = 1.0f;
    Decoder as_fine(f1, kH, kW, kCell, kCell, 8);
    FaceBox ref[8];
    REQUIRE(as_fine.decode(coarse.data(), 0, ref) == 1);
    CHECK(out[0].w == Approx(1.5f * 2.0f * ref[0].w).epsilon(1e-4));
    q.half_box_scale = 0.0f;  // 0: box_scale
    Decoder same(q, kH, kW, kCell, kCell, 8);
    REQUIRE(same.decode(fine.data(), 0, out, coarse.data()) == 1);
    CHECK(out[0].w == Approx(2.0f * ref[0].w).epsilon(1e-4));
  }
  SECTION("the size model follows the fine response through size_w1") {
    DecodeParams q = p;
    q.half_threshold = 0.0f;
    q.size_w1 = 0.25f;
    q.size_w2 = 0.0f;
    std::vector<float> f2(kH * kW, 0.0f);
    add_blob(f2, 7.5f, 10.5f, 1.5f, 0.95f);
    Decoder one(q, kH, kW, kCell, kCell, 8);
    REQUIRE(one.decode(f2.data(), 0, out) == 1);
    const float v = f2[7 * kW + 10];
    CHECK(out[0].w == Approx(40.0f * std::exp(0.25f * std::log(v / (1 - v)))).epsilon(1e-3));
  }
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
                                                  {"lnet.half_threshold", "0.99"},
                                                  {"lnet.half_box_scale", "2.5"},
                                                  {"lnet.size_bias", "3.75"},
                                                  {"lnet.size_w1", "-0.1"},
                                                  {"lnet.size_w2", "0.125"},
                                                  {"licence", "whatever"}}),
                                       &p);
    REQUIRE(st.is_ok());
    CHECK(p.threshold == Approx(0.35f));
    CHECK(p.region_fraction == Approx(0.6f));
    CHECK(p.box_scale == Approx(1.75f));
    CHECK(p.box_aspect == Approx(0.8f));
    CHECK(p.nms_iou == Approx(0.2f));
    CHECK(p.half_threshold == Approx(0.99f));
    CHECK(p.half_box_scale == Approx(2.5f));
    CHECK(p.size_bias == Approx(3.75f));
    CHECK(p.size_w1 == Approx(-0.1f));
    CHECK(p.size_w2 == Approx(0.125f));
  }
  SECTION("old models (no coarse pass, no size model) keep one pass and box_scale") {
    REQUIRE(decode_params_from_model(lnet_with({{"lnet.box_scale", "2.3"}}), &p).is_ok());
    CHECK(p.half_threshold == 0.0f);
    CHECK(p.size_bias == 0.0f);
  }
  SECTION("garbage, NaN, inf and out-of-range values are refused") {
    const char* bad[][2] = {
        {"lnet.threshold", "nan"},        {"lnet.threshold", "0.5x"},        {"lnet.threshold", ""},
        {"lnet.threshold", "1.5"},        {"lnet.threshold", "0"},           {"lnet.box_scale", "inf"},
        {"lnet.box_scale", "-1"},         {"lnet.box_aspect", "0"},          {"lnet.nms_iou", "2"},
        {"lnet.region_fraction", " 0.5"}, {"lnet.region_fraction", "1e999"}, {"lnet.half_threshold", "-0.1"},
        {"lnet.half_threshold", "1.01"},  {"lnet.size_bias", "-1"},          {"lnet.size_bias", "25"},
        {"lnet.size_w1", "11"},           {"lnet.size_w2", "nan"},           {"lnet.half_box_scale", "-2"}};
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

namespace {

// Pyramid levels of one face: level l sees it at (ci, cj) / ratio^l cells, its blob centred on
// that cell's centre so that the cell holds exactly amps[l]; `levels` maps of kH x kW at 0.02
// elsewhere.
std::vector<std::vector<float>> pyramid_maps(int levels, float ratio, float ci, float cj,
                                             const std::vector<float>& amps) {
  std::vector<std::vector<float>> m(static_cast<size_t>(levels), std::vector<float>(kH * kW, 0.02f));
  for (int l = 0; l < levels; ++l) {
    const float r = std::pow(ratio, static_cast<float>(l));
    add_blob(m[static_cast<size_t>(l)], std::floor(ci / r) + 0.5f, std::floor(cj / r) + 0.5f, 0.8f,
             amps[static_cast<size_t>(l)]);
  }
  return m;
}

DecodeParams pyramid_params(int levels, float factor, float side) {
  DecodeParams p;
  p.threshold = 0.5f;
  p.region_fraction = 0.5f;
  p.pyramid_levels = static_cast<float>(levels);
  p.pyramid_factor = factor;
  p.pyramid_side = side;
  return p;
}

float logit_of(float p) { return std::log(p / (1 - p)); }

}  // namespace

TEST_CASE("pyramid decoder: the level that answers most sizes the box", "[lnet_decode]") {
  const float F = 1.5f;
  Decoder d(pyramid_params(4, F, 24.0f), kH, kW, kCell, kCell, 4);
  REQUIRE(d.pyramid());
  REQUIRE(d.passes() == 4);
  CHECK(d.pass_shrink(0) == 1.0f);
  CHECK(d.pass_shrink(2) == Approx(F * F));
  CHECK(!d.wants_coarse_map());
  const float rx[4] = {1, F, F * F, F * F * F}, ry[4] = {1, F, F * F, F * F * F};
  FaceBox out[4];
  // A face centred at cell (6.5, 9.5) of level 0 = pixel (76, 52).
  SECTION("symmetric responses around level 2: side = side x F^2, centred on the face") {
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.6f, 0.8f, 0.95f, 0.8f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 4, 0, out) == 1);
    CHECK(out[0].w == Approx(24.0f * F * F).epsilon(1e-4));
    CHECK(out[0].h == Approx(out[0].w));
    CHECK(out[0].score == Approx(0.95f).margin(1e-3));
    // The blob on level 2 sits at cell (2.89, 4.22): its 3x3 centroid, times F^2, lies within a
    // level-2 cell (8 x 2.25 px) of the true centre.
    CHECK(std::abs(out[0].x + out[0].w / 2 - 76.0f) < 8 * F * F);
    CHECK(std::abs(out[0].y + out[0].h / 2 - 52.0f) < 8 * F * F);
  }
  SECTION("asymmetric neighbours shift the level by the parabola through the logits") {
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.3f, 0.9f, 0.95f, 0.6f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 4, 0, out) == 1);
    // Neighbour responses are the maxima of the 3x3 cells around the centre on levels 1 and 3.
    auto near = [&](int l) {
      const float cx = out[0].x + out[0].w / 2, cy = out[0].y + out[0].h / 2;
      const int ci = static_cast<int>(cy / rx[l] / kCell), cj = static_cast<int>(cx / rx[l] / kCell);
      float b = 0;
      for (int i = ci - 1; i <= ci + 1; ++i)
        for (int j = cj - 1; j <= cj + 1; ++j)
          if (i >= 0 && i < kH && j >= 0 && j < kW) b = std::max(b, m[static_cast<size_t>(l)][i * kW + j]);
      return b;
    };
    const float zd = logit_of(near(1)), z = logit_of(0.95f), zu = logit_of(near(3));
    const float level = 2 + 0.5f * (zd - zu) / (zd - 2 * z + zu);
    CHECK(level < 2.0f);  // level 1 answers more than level 3: a smaller face
    CHECK(out[0].w == Approx(24.0f * std::pow(F, level)).epsilon(1e-3));
  }
  SECTION("a peak that another level beats at the same spot is no face of its own") {
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.9f, 0.97f, 0.7f, 0.02f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 4, 0, out) == 1);
    CHECK(out[0].score == Approx(0.97f).margin(1e-3));
    CHECK(out[0].w > 24.0f);
    CHECK(out[0].w < 24.0f * F * F);
  }
  SECTION("two faces at different sizes give two boxes, strongest first") {
    auto m = pyramid_maps(4, F, 3.5f, 3.5f, {0.97f, 0.6f, 0.02f, 0.02f});
    auto big = pyramid_maps(4, F, 9.5f, 14.5f, {0.02f, 0.5f, 0.7f, 0.9f});
    for (int l = 0; l < 4; ++l)
      for (int c = 0; c < kH * kW; ++c) m[l][c] = std::max(m[l][c], big[l][c]);
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 4, 0, out) == 2);
    CHECK(out[0].score > out[1].score);
    CHECK(out[0].w < 24.0f * F);      // the small face, answering at level 0
    CHECK(out[1].w > 24.0f * F * F);  // the large one, at level 3
    CHECK(out[1].x + out[1].w / 2 == Approx(9.5f * 8 * 0 + 14.5f * 8).margin(8 * F * F * F));
  }
  SECTION("the same face at another level is suppressed by the centre rule, below nms_iou") {
    // Two levels answer at the same spot with a gap level in between that answers less: two
    // local maxima across scales, boxes F^2 apart in side (IoU 1/F^4 < nms_iou).
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.9f, 0.6f, 0.8f, 0.02f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 4, 0, out) == 1);
    CHECK(out[0].score == Approx(0.9f).margin(1e-3));
  }
  SECTION("fewer maps than levels: the decoder uses what it has; none finds nothing") {
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.6f, 0.95f, 0.7f, 0.6f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    REQUIRE(d.decode_passes(maps, rx, ry, 2, 0, out) == 1);
    CHECK(out[0].w == Approx(24.0f * F).epsilon(1e-4));  // top level: no upper neighbour, no refinement
    CHECK(d.decode_passes(maps, rx, ry, 0, 0, out) == 0);
    const float* none[1] = {nullptr};
    CHECK(d.decode_passes(none, rx, ry, 1, 0, out) == 0);
  }
  SECTION("garbage maps and ratios find nothing and do not crash") {
    std::vector<float> nan(kH * kW, std::numeric_limits<float>::quiet_NaN());
    const float* maps[4] = {nan.data(), nan.data(), nan.data(), nan.data()};
    CHECK(d.decode_passes(maps, rx, ry, 4, 0, out) == 0);
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.6f, 0.95f, 0.7f, 0.6f});
    const float* good[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    const float bad[4] = {1, std::numeric_limits<float>::infinity(), -1, 0};
    // Level 1's ratio is unusable: only level 0 is decoded (its peak 0.6 is a maximum there).
    const int n = d.decode_passes(good, bad, bad, 4, 0, out);
    REQUIRE(n <= 1);
    if (n == 1) CHECK(out[0].w == Approx(24.0f));
  }
  SECTION("min_side drops small boxes") {
    auto m = pyramid_maps(4, F, 6.5f, 9.5f, {0.95f, 0.6f, 0.02f, 0.02f});
    const float* maps[4] = {m[0].data(), m[1].data(), m[2].data(), m[3].data()};
    CHECK(d.decode_passes(maps, rx, ry, 4, 30.0f, out) == 0);
    CHECK(d.decode_passes(maps, rx, ry, 4, 20.0f, out) == 1);
  }
}

TEST_CASE("pyramid decoder: metadata", "[lnet_decode]") {
  DecodeParams p;
  SECTION("read and checked") {
    REQUIRE(decode_params_from_model(lnet_with({{"lnet.pyramid_levels", "5"},
                                                {"lnet.pyramid_factor", "1.41421"},
                                                {"lnet.pyramid_side", "28.4"}}),
                                     &p)
                .is_ok());
    CHECK(p.pyramid_levels == 5.0f);
    CHECK(p.pyramid_factor == Approx(1.41421f));
    CHECK(p.pyramid_side == Approx(28.4f));
    Decoder d(p, kH, kW, kCell, kCell, 4);
    CHECK(d.passes() == 5);
  }
  SECTION("old models: one pass") {
    REQUIRE(decode_params_from_model(lnet_with({}), &p).is_ok());
    Decoder d(p, kH, kW, kCell, kCell, 4);
    CHECK(!d.pyramid());
    CHECK(d.passes() == 1);
  }
  SECTION("bad values are refused") {
    const std::vector<std::vector<std::pair<std::string, std::string>>> bad = {
        {{"lnet.pyramid_levels", "2.5"}, {"lnet.pyramid_side", "20"}},
        {{"lnet.pyramid_levels", "9"}, {"lnet.pyramid_side", "20"}},
        {{"lnet.pyramid_levels", "3"}},  // no side
        {{"lnet.pyramid_levels", "3"}, {"lnet.pyramid_side", "0"}},
        {{"lnet.pyramid_levels", "3"}, {"lnet.pyramid_side", "20"}, {"lnet.pyramid_factor", "1"}},
        {{"lnet.pyramid_levels", "3"}, {"lnet.pyramid_side", "nan"}},
        {{"lnet.pyramid_factor", "5"}}};
    for (const auto& meta : bad) {
      INFO(meta[0].first << " = " << meta[0].second);
      CHECK(decode_params_from_model(lnet_with(meta), &p).code() == FACEATTR_ERR_MODEL_FORMAT);
    }
  }
}

// ---- Dense box maps (lnet.dense = 1): 5 channels per cell ----
namespace {

constexpr int kDH = 12, kDW = 16;
constexpr float kDCell = 16.0f;  // 256x192 input, stride 16

DecodeParams dense_params() {
  DecodeParams p;
  p.dense = 1.0f;
  p.threshold = 0.5f;
  p.offset_range = 2.0f;
  p.box_min = 6.0f;
  p.box_max = 384.0f;
  p.nms_iou = 0.3f;
  return p;
}

// Writes a face proposal at cell (i, j): score p, centre (cx, cy) and size (w, h) in input
// pixels, encoded by the inverse of the decode rule.
void put_face(std::vector<float>& m, const DecodeParams& d, int i, int j, float p, float cx, float cy,
              float w, float h) {
  float* c = &m[(static_cast<size_t>(i) * kDW + j) * 5];
  c[0] = p;
  c[1] = 0.5f + (cx / kDCell - (j + 0.5f)) / (2 * d.offset_range);
  c[2] = 0.5f + (cy / kDCell - (i + 0.5f)) / (2 * d.offset_range);
  const float lr = std::log(d.box_max / d.box_min);
  c[3] = std::log(w / d.box_min) / lr;
  c[4] = std::log(h / d.box_min) / lr;
}

}  // namespace

TEST_CASE("dense decoder: boxes from the regression channels", "[lnet_decode]") {
  const DecodeParams p = dense_params();
  REQUIRE(p.channels() == 5);
  std::vector<float> map(static_cast<size_t>(kDH) * kDW * 5, 0.5f);
  for (size_t c = 0; c < map.size(); c += 5) map[c] = 0.01f;
  put_face(map, p, 3, 4, 0.9f, 70.0f, 58.0f, 40.0f, 44.0f);       // centre inside its cell
  put_face(map, p, 8, 12, 0.7f, 190.0f, 150.0f, 150.0f, 150.0f);  // offset 0.6 cell to the left
  put_face(map, p, 8, 11, 0.6f, 185.0f, 150.0f, 150.0f, 150.0f);  // neighbour of a stronger cell: not a peak
  put_face(map, p, 0, 15, 0.4f, 250.0f, 8.0f, 30.0f, 30.0f);      // below the threshold
  Decoder d(p, kDH, kDW, kDCell, kDCell, 8);
  REQUIRE(d.passes() == 1);
  REQUIRE_FALSE(d.wants_coarse_map());
  FaceBox out[8];
  REQUIRE(d.decode(map.data(), 0, out) == 2);
  CHECK(out[0].score == Approx(0.9f));
  CHECK(out[0].x + out[0].w / 2 == Approx(70.0f).margin(1e-3));
  CHECK(out[0].y + out[0].h / 2 == Approx(58.0f).margin(1e-3));
  CHECK(out[0].w == Approx(40.0f).epsilon(1e-4));
  CHECK(out[0].h == Approx(44.0f).epsilon(1e-4));
  CHECK(out[1].score == Approx(0.7f));
  CHECK(out[1].x + out[1].w / 2 == Approx(190.0f).margin(1e-3));
  CHECK(out[1].w == Approx(150.0f).epsilon(1e-4));

  SECTION("min_side drops small boxes; max_faces caps the count") {
    REQUIRE(d.decode(map.data(), 45.0f, out) == 1);
    CHECK(out[0].w == Approx(150.0f).epsilon(1e-4));
    Decoder one(p, kDH, kDW, kDCell, kDCell, 1);
    REQUIRE(one.decode(map.data(), 0, out) == 1);
    CHECK(out[0].score == Approx(0.9f));
  }
  SECTION("overlapping proposals of one face are suppressed") {
    put_face(map, p, 3, 6, 0.8f, 74.0f, 60.0f, 40.0f, 44.0f);  // another peak, same face
    REQUIRE(d.decode(map.data(), 0, out) == 2);
    CHECK(out[0].score == Approx(0.9f));
    CHECK(out[1].score == Approx(0.7f));
  }
  SECTION("decode_passes reads the same single map") {
    const float* maps[1] = {map.data()};
    const float one = 1.0f;
    REQUIRE(d.decode_passes(maps, &one, &one, 1, 0, out) == 2);
  }
  SECTION("non-finite values propose nothing and never crash") {
    std::vector<float> bad = map;
    bad[(3 * kDW + 4) * 5] = std::numeric_limits<float>::quiet_NaN();
    bad[(8 * kDW + 12) * 5 + 3] = std::numeric_limits<float>::infinity();  // clamped size channel
    const int n = d.decode(bad.data(), 0, out);
    REQUIRE(n >= 1);
    for (int k = 0; k < n; ++k) {
      CHECK(std::isfinite(out[k].w));
      CHECK(out[k].w <= p.box_max);
    }
  }
}

TEST_CASE("dense decoder metadata", "[lnet_decode]") {
  DecodeParams p;
  REQUIRE(faceattr::pipeline::decode_params_from_model(lnet_with({{"lnet.dense", "1"},
                                                                  {"lnet.box_min", "8"},
                                                                  {"lnet.box_max", "320"},
                                                                  {"lnet.offset_range", "1.5"},
                                                                  {"lnet.crop_w", "1.5"},
                                                                  {"lnet.crop_h", "1.9"},
                                                                  {"lnet.crop_dy", "-0.1"}}),
                                                       &p)
              .is_ok());
  CHECK(p.channels() == 5);
  CHECK(p.box_min == 8.0f);
  CHECK(p.crop_dy == Approx(-0.1f));
  CHECK(DecodeParams{}.channels() == 1);
  for (const auto& bad : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"lnet.dense", "0.5"}},
           {{"lnet.dense", "2"}},
           {{"lnet.dense", "1"}, {"lnet.box_min", "400"}, {"lnet.box_max", "300"}},
           {{"lnet.offset_range", "0"}},
           {{"lnet.crop_w", "1.5"}},
           {{"lnet.crop_dy", "5"}}}) {
    const auto st = faceattr::pipeline::decode_params_from_model(lnet_with(bad), &p);
    CHECK(st.code() == FACEATTR_ERR_MODEL_FORMAT);
  }
}
