// Unit tests of the CLI's box matching (native/cli/eval_match.h) and the
// canonical face box (native/cli/face_box.h).
#include "eval_match.h"

#include <catch2/catch.hpp>
#include <vector>

#include "face_box.h"

using faceattr::cli::Box;

TEST_CASE("box_iou", "[cli][eval_match]") {
  using faceattr::cli::box_iou;
  CHECK(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}) == Approx(1.0));
  CHECK(box_iou({0, 0, 10, 10}, {5, 0, 10, 10}) == Approx(50.0 / 150.0));
  CHECK(box_iou({0, 0, 10, 10}, {10, 0, 10, 10}) == 0.0);  // touching edges
  CHECK(box_iou({0, 0, 10, 10}, {2, 2, 4, 4}) == Approx(16.0 / 100.0));
  CHECK(box_iou({0, 0, 0, 10}, {0, 0, 10, 10}) == 0.0);
}

TEST_CASE("lenient_match: centre inside, side within x2", "[cli][eval_match]") {
  using faceattr::cli::lenient_match;
  const Box truth{100, 100, 40, 40};
  CHECK(lenient_match({100, 100, 40, 40}, truth));
  CHECK(lenient_match({84, 84, 64, 64}, truth));        // centre (116, 116), side 1.6x
  CHECK(lenient_match({80, 80, 80, 80}, truth));        // exactly 2x
  CHECK_FALSE(lenient_match({70, 70, 81, 81}, truth));  // just over 2x
  CHECK(lenient_match({110, 110, 20, 20}, truth));      // exactly 0.5x
  CHECK_FALSE(lenient_match({110, 110, 19, 19}, truth));
  CHECK(lenient_match({120, 120, 40, 40}, truth));  // centre on the corner (140, 140): inside
  CHECK_FALSE(lenient_match({121, 100, 40, 40}, truth));
  // Side is the geometric mean: 20 x 80 has side 40.
  CHECK(lenient_match({110, 80, 20, 80}, truth));
}

TEST_CASE("match_by_iou: greedy by IoU, one-to-one", "[cli][eval_match]") {
  using faceattr::cli::match_by_iou;
  const std::vector<Box> truth = {{0, 0, 10, 10}, {4, 0, 10, 10}};
  // Prediction 0 fits truth 1 exactly (IoU 1; truth 0: 0.43), so truth 0 gets prediction 1 (IoU 0.82),
  // although prediction 1 also overlaps truth 1 by 0.54.
  const std::vector<Box> pred = {{4, 0, 10, 10}, {1, 0, 10, 10}};
  const std::vector<int> m = match_by_iou(truth, pred, 0.5);
  REQUIRE(m.size() == 2);
  CHECK(m[0] == 1);
  CHECK(m[1] == 0);
  // One prediction for two faces: only the better one is matched.
  const std::vector<int> one = match_by_iou(truth, {{4, 0, 10, 10}}, 0.5);
  CHECK(one == std::vector<int>{-1, 0});
  CHECK(match_by_iou(truth, {{50, 50, 10, 10}}, 0.5) == std::vector<int>{-1, -1});
  CHECK(match_by_iou({}, pred, 0.5).empty());
}

TEST_CASE("match_lenient: nearest centre first, one-to-one", "[cli][eval_match]") {
  using faceattr::cli::match_lenient;
  const std::vector<Box> truth = {{0, 0, 40, 40}, {30, 0, 40, 40}};
  // Prediction 0's centre (32, 20) lies in both boxes, prediction 1's (47, 20) only in truth 1;
  // the nearest pair (truth 1, prediction 1) goes first, so truth 0 gets prediction 0.
  const std::vector<Box> pred = {{12, 0, 40, 40}, {27, 0, 40, 40}};
  CHECK(match_lenient(truth, pred) == std::vector<int>{0, 1});
  CHECK(match_lenient(truth, {{27, 0, 40, 40}}) == std::vector<int>{-1, 0});
  CHECK(match_lenient(truth, {{-60, -60, 160, 160}}) ==
        std::vector<int>{-1, -1});  // centre in truth 0, 4x its side
}

TEST_CASE("canonical_face_box", "[cli][face_box]") {
  using faceattr::cli::canonical_face_box;
  // Eyes 20 apart at y = 40, mouth corners 30 below: s = max(30, 20) = 30, side 84,
  // centre E + 0.3 (M - E) = (50, 49).
  const float lx[5] = {40, 60, 50, 42, 58}, ly[5] = {40, 40, 55, 70, 70};
  const faceattr::cli::FaceBox b = canonical_face_box(lx, ly);
  CHECK(b.w == Approx(84.0));
  CHECK(b.h == Approx(84.0));
  CHECK(b.x == Approx(50.0 - 42.0));
  CHECK(b.y == Approx(49.0 - 42.0));
  // Eyes far apart (a wide face): the eye distance sets the side.
  const float wx[5] = {10, 70, 40, 30, 50}, wy[5] = {20, 20, 30, 40, 40};
  const faceattr::cli::FaceBox w = canonical_face_box(wx, wy);
  CHECK(w.w == Approx(2.8 * 60.0));
  CHECK(w.x + 0.5 * w.w == Approx(40.0));
  CHECK(w.y + 0.5 * w.h == Approx(20.0 + 0.3 * 20.0));
}
