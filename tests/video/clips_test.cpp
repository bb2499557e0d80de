// The clip generator keeps its promises (tests/video/clips.h): sizes, times,
// determinism, and each kind's motion and truth.
#include "clips.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

namespace clips = faceattr::clips;

namespace {

const std::vector<clips::Image>& faces() {
  static const std::vector<clips::Image> f = clips::load_faces(clips::default_data_dir(), 2);
  return f;
}

const clips::Image& background() {
  static const clips::Image bg = clips::load_background(clips::default_data_dir(), 5);
  return bg;
}

clips::Clip make(clips::Kind kind, uint32_t seed = 3, int n = 90) {
  return clips::make_clip(kind, faces(), background(), seed, n);
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / static_cast<double>(a.size());
}

double mean(const std::vector<uint8_t>& a) {
  double s = 0;
  for (uint8_t v : a) s += v;
  return s / static_cast<double>(a.size());
}

}  // namespace

TEST_CASE("clips: every kind has its frames, times and visible faces at a findable size") {
  for (clips::Kind kind : clips::all_kinds()) {
    INFO(clips::kind_name(kind));
    const clips::Clip c = make(kind);
    REQUIRE(c.frames.size() == 90);
    CHECK(c.width == 320);
    CHECK(c.height == 240);
    CHECK(c.name == std::string(clips::kind_name(kind)) + "-seed3");
    for (size_t i = 0; i < c.frames.size(); ++i) {
      const clips::Frame& f = c.frames[i];
      REQUIRE(f.rgb.size() == 320u * 240u * 3u);
      CHECK(f.time_ms == Approx(i * 1000.0 / 30.0));
      for (const clips::FaceTruth& t : f.faces) {
        CHECK(t.visible > 0.0f);
        CHECK(t.box[3] >= (kind == clips::Kind::Zoom ? 49.0f : 70.0f));
        CHECK(t.box[3] <= 131.0f);
      }
    }
    clips::Kind back;
    REQUIRE(clips::kind_from_name(clips::kind_name(kind), &back));
    CHECK(back == kind);
  }
}

TEST_CASE("clips: deterministic given the seed, different across seeds, noisy frame to frame") {
  const clips::Clip a = make(clips::Kind::Jitter, 7, 10), b = make(clips::Kind::Jitter, 7, 10);
  const clips::Clip c = make(clips::Kind::Jitter, 8, 10);
  for (size_t i = 0; i < a.frames.size(); ++i) CHECK(a.frames[i].rgb == b.frames[i].rgb);
  CHECK(a.frames[3].rgb != c.frames[3].rgb);
  const clips::Clip still = make(clips::Kind::Still, 1, 3);
  const double d = mean_abs_diff(still.frames[0].rgb, still.frames[1].rgb);
  CHECK(d > 0.5);  // sensor noise
  CHECK(d < 4.0);  // but slight
  const clips::Clip noise = make(clips::Kind::Noise, 1, 3);
  CHECK(mean_abs_diff(noise.frames[0].rgb, noise.frames[1].rgb) > 10.0);
}

TEST_CASE("clips: still, jitter, pan and zoom move the face as described") {
  const clips::Clip still = make(clips::Kind::Still);
  for (const clips::Frame& f : still.frames) {
    REQUIRE(f.faces.size() == 1);
    CHECK(f.faces[0].box[0] == still.frames[0].faces[0].box[0]);
    CHECK(f.faces[0].box[3] == Approx(240.0f / 3).margin(1));
  }
  const clips::Clip jitter = make(clips::Kind::Jitter);
  std::set<float> xs;
  for (const clips::Frame& f : jitter.frames) {
    CHECK(std::abs(f.faces[0].box[0] - still.frames[0].faces[0].box[0]) <= 3.0f);
    xs.insert(f.faces[0].box[0]);
  }
  CHECK(xs.size() >= 5);
  const clips::Clip pan = make(clips::Kind::Pan);
  CHECK(pan.frames.back().faces[0].box[0] - pan.frames.front().faces[0].box[0] > 200.0f);
  const clips::Clip zoom = make(clips::Kind::Zoom);
  float lo = 1e9f, hi = 0;
  for (const clips::Frame& f : zoom.frames) {
    lo = std::min(lo, f.faces[0].box[3]);
    hi = std::max(hi, f.faces[0].box[3]);
  }
  CHECK(lo == Approx(50).margin(1));
  CHECK(hi == Approx(130).margin(1));
}

TEST_CASE("clips: brightness ramps then steps") {
  const clips::Clip c = make(clips::Kind::Brightness);
  const double first = mean(c.frames[0].rgb), mid = mean(c.frames[44].rgb);
  CHECK(mid > 2.0 * first);
  CHECK(mean(c.frames[60].rgb) > 1.4 * mean(c.frames[45].rgb));  // 0.7x -> 1.3x
}

TEST_CASE("clips: cross passes two persons whose boxes stay apart") {
  const clips::Clip c = make(clips::Kind::Cross);
  for (const clips::Frame& f : c.frames) {
    REQUIRE(f.faces.size() == 2);
    CHECK(f.faces[0].person != f.faces[1].person);
    const clips::FaceTruth& top = f.faces[0].box[1] < f.faces[1].box[1] ? f.faces[0] : f.faces[1];
    const clips::FaceTruth& low = &top == &f.faces[0] ? f.faces[1] : f.faces[0];
    const float gap = low.box[1] - (top.box[1] + top.box[3]);
    CHECK(gap >= 0.2f * std::max(top.box[2], low.box[2]));
  }
  // They pass: the order along x flips.
  const auto left_person = [](const clips::Frame& f) {
    return f.faces[0].box[0] < f.faces[1].box[0] ? f.faces[0].person : f.faces[1].person;
  };
  CHECK(left_person(c.frames.front()) != left_person(c.frames.back()));
}

TEST_CASE("clips: leave-return is wholly outside for 15 frames and comes back") {
  const clips::Clip c = make(clips::Kind::LeaveReturn);
  int empty = 0, first_empty = -1, last_empty = -1;
  for (size_t i = 0; i < c.frames.size(); ++i) {
    if (c.frames[i].faces.empty()) {
      ++empty;
      if (first_empty < 0) first_empty = static_cast<int>(i);
      last_empty = static_cast<int>(i);
    }
  }
  CHECK(empty >= 15);
  CHECK(empty <= 17);
  CHECK(last_empty - first_empty + 1 == empty);  // one stretch
  REQUIRE(!c.frames.front().faces.empty());
  REQUIRE(!c.frames.back().faces.empty());
  CHECK(c.frames.back().faces[0].box[0] == c.frames.front().faces[0].box[0]);
  CHECK(c.frames.back().faces[0].visible == 1.0f);
}

TEST_CASE("clips: swap changes the person in place at the middle frame") {
  const clips::Clip c = make(clips::Kind::Swap);
  for (size_t i = 0; i < c.frames.size(); ++i) {
    REQUIRE(c.frames[i].faces.size() == 1);
    CHECK(c.frames[i].faces[0].person == (i < 45 ? 0 : 1));
    for (int k = 0; k < 4; ++k) CHECK(c.frames[i].faces[0].box[k] == c.frames[0].faces[0].box[k]);
  }
  CHECK(mean_abs_diff(c.frames[44].rgb, c.frames[45].rgb) >
        mean_abs_diff(c.frames[43].rgb, c.frames[44].rgb));
}

TEST_CASE("clips: a textured background without a photo, and bad arguments refused") {
  const clips::Clip c = clips::make_clip(clips::Kind::Still, faces(), clips::Image{}, 1, 2);
  CHECK(mean(c.frames[0].rgb) > 60);
  CHECK(mean(c.frames[0].rgb) < 200);
  CHECK_THROWS_AS(clips::make_clip(clips::Kind::Cross, {faces()[0]}, clips::Image{}, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(clips::make_clip(clips::Kind::Still, faces(), clips::Image{}, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(clips::make_clip(clips::Kind::Still, {clips::Image{}}, clips::Image{}, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(clips::load_image("/nonexistent.jpg"), std::runtime_error);
}
