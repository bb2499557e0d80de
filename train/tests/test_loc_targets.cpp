// The localiser's box convention and training targets (data/loc_data.h) against
// the SDK's dense decoder (pipeline/lnet_decode.h): a map written from the
// targets decodes back to the faces, so the trainer encodes what the SDK reads.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "data/loc_data.h"
#include "pipeline/lnet_decode.h"

namespace ft = faceattr::train;
namespace fp = faceattr::pipeline;

TEST_CASE("canonical face box of 5 landmarks", "[loc]") {
  // CelebA's aligned 89x109 mean landmarks: |M - E| = 20.5 > interocular 19.5.
  const float x[5] = {34.5f, 54.0f, 44.5f, 36.0f, 53.0f}, y[5] = {55.5f, 55.5f, 67.5f, 76.0f, 76.0f};
  const ft::FaceSquare b = ft::canonical_face_box(x, y);
  CHECK(b.side == Approx(2.8f * std::hypot(0.25f, 20.5f)).epsilon(1e-5));
  CHECK(b.cx == Approx(44.25f + 0.3f * 0.25f));
  CHECK(b.cy == Approx(55.5f + 0.3f * 20.5f));
  // A profile-like face whose eyes are further apart than eyes-to-mouth: the eye distance rules.
  const float x2[5] = {0, 40, 20, 10, 30}, y2[5] = {0, 0, 5, 10, 10};
  CHECK(ft::canonical_face_box(x2, y2).side == Approx(2.8f * 40));
}

TEST_CASE("targets decode back to the faces through the SDK decoder", "[loc]") {
  const int W = 256, H = 192, stride = 16, mh = H / stride, mw = W / stride;
  ft::LocSample s;
  s.width = W;
  s.height = H;
  s.faces = {{20, 30, 40, 40}, {150, 60, 90, 90}, {230, 170, 5, 5}};  // the last: too small to learn
  const float range = 2.0f, bmin = 6.0f, bmax = 384.0f;
  const ft::LocTargets t = ft::loc_targets(s, mh, mw, stride, range, bmin, bmax);
  const size_t cells = static_cast<size_t>(mh) * mw;
  REQUIRE(t.heat.size() == cells);
  // Centre cells carry heat 1 and full regression weight; the tiny face only masks negatives.
  CHECK(t.heat[(50 / stride) * mw + 40 / stride] == 1.0f);
  CHECK(t.reg_w[(50 / stride) * mw + 40 / stride] == 1.0f);
  CHECK(t.heat[(105 / stride) * mw + 195 / stride] == 1.0f);
  CHECK(t.neg_w[(172 / stride) * mw + 232 / stride] == 0.0f);
  int ones = 0;
  for (float h : t.heat) ones += h == 1.0f;
  CHECK(ones == 2);

  // Score = heat, box channels = the targets: what a perfect network outputs.
  std::vector<float> map(cells * 5);
  for (size_t c = 0; c < cells; ++c) {
    map[c * 5] = t.heat[c];
    for (int k = 0; k < 4; ++k) map[c * 5 + 1 + k] = t.reg[k * cells + c];
  }
  fp::DecodeParams p;
  p.dense = 1;
  p.threshold = 0.99f;
  p.offset_range = range;
  p.box_min = bmin;
  p.box_max = bmax;
  fp::Decoder dec(p, mh, mw, stride, stride, 8);
  fp::FaceBox out[8];
  REQUIRE(dec.decode(map.data(), 0, out) == 2);
  for (int k = 0; k < 2; ++k) {
    const ft::LocBox& f = s.faces[out[k].x < 100 ? 0 : 1];
    CHECK(out[k].x == Approx(f.x).margin(1e-3));
    CHECK(out[k].y == Approx(f.y).margin(1e-3));
    CHECK(out[k].w == Approx(f.w).epsilon(1e-4));
    CHECK(out[k].h == Approx(f.h).epsilon(1e-4));
  }
}
