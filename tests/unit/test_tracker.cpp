// The face tracker (faceattr_tracker_*, pipeline::Tracker): matching, One Euro
// smoothing, averaged attributes with hysteresis, appearance, local search.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "api/session.h"
#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "model/model.h"
#include "pipeline/tracker.h"
#include "pipeline_fixtures.h"

namespace {

using faceattr::image::CropBox;
using faceattr::pipeline::Detection;
using faceattr::pipeline::Tracker;
using namespace faceattr::test::pipeline;

constexpr int kAttrs = 3;
const float kThresholds[kAttrs] = {0.5f, 0.5f, 0.3f};

Tracker make_core(faceattr_tracker_params p = faceattr_tracker_default_params(), int n_features = 0) {
  Tracker t;
  t.plan(p, 4, kAttrs, kThresholds, n_features);
  return t;
}

Detection det(float x, float y, float side, const float* probs, float score = 0.9f) {
  Detection d;
  d.box = CropBox{x, y, side, side};
  d.score = score;
  d.probs = probs;
  return d;
}

double stddev(const std::vector<float>& v) {
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= static_cast<double>(v.size());
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

}  // namespace

TEST_CASE("tracker core: a still face keeps one id, and its box jitters far less than the detections",
          "[tracker]") {
  Tracker t = make_core();
  const float probs[kAttrs] = {0.9f, 0.1f, 0.5f};
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  std::vector<float> raw_x, smooth_x;
  for (int f = 0; f < 120; ++f) {
    const float x = 100 + noise(rng);
    const Detection d = det(x, 50 + noise(rng), 80 + noise(rng), probs);
    t.update(&d, 1, t.frame_time(-1));
    REQUIRE(t.n_seen() == 1);
    CHECK(t.seen()[0].id == 1);
    CHECK(t.seen()[0].age == f);
    if (f >= 30) {
      raw_x.push_back(x);
      smooth_x.push_back(t.seen()[0].box[0]);
    }
  }
  INFO("raw x sd " << stddev(raw_x) << ", smoothed " << stddev(smooth_x));
  CHECK(stddev(smooth_x) < 0.4 * stddev(raw_x));
  CHECK(t.tracks_started() == 1);
}

TEST_CASE("tracker core: a fast face is followed within a few pixels", "[tracker]") {
  Tracker t = make_core();
  const float probs[kAttrs] = {0.9f, 0.1f, 0.5f};
  // 300 px/s (10 px a frame at 30 fps) for an 80 px face; frame times given in ms.
  float lag = 0;
  for (int f = 0; f < 30; ++f) {
    const Detection d = det(10.0f + 10.0f * f, 50, 80, probs);
    t.update(&d, 1, 1000.0 * f / 30.0);
    REQUIRE(t.n_seen() == 1);
    lag = std::fabs(t.seen()[0].box[0] - d.box.x);
  }
  INFO("lag " << lag << " px");
  CHECK(lag < 4.0f);  // 5% of the face side
}

TEST_CASE("tracker core: a probability near its threshold does not flip the decision", "[tracker]") {
  Tracker t = make_core();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.08f, 0.08f);
  int raw_flips = 0, flips = 0;
  int raw_prev = -1, prev = -1;
  for (int f = 0; f < 300; ++f) {
    const float p0 = 0.52f + u(rng);  // hovers around threshold 0.5
    const float probs[kAttrs] = {p0, 0.1f, 0.9f};
    const Detection d = det(100, 50, 80, probs);
    t.update(&d, 1, t.frame_time(-1));
    REQUIRE(t.n_seen() == 1);
    const int raw = p0 >= 0.5f ? 1 : 0, dec = t.seen()[0].present[0];
    if (raw_prev >= 0 && raw != raw_prev) ++raw_flips;
    if (prev >= 0 && dec != prev) ++flips;
    raw_prev = raw;
    prev = dec;
    CHECK(t.seen()[0].present[1] == 0);
    CHECK(t.seen()[0].present[2] == 1);
  }
  INFO("raw flips " << raw_flips << ", tracked " << flips);
  CHECK(raw_flips > 50);
  CHECK(flips == 0);

  // A real change passes through: the probability jumps from 0.1 to 0.9 and the decision
  // follows within a few frames.
  Tracker t2 = make_core();
  int followed = -1;
  for (int f = 0; f < 40; ++f) {
    const float p0 = f < 20 ? 0.1f : 0.9f;
    const float probs[kAttrs] = {p0, 0.1f, 0.9f};
    const Detection d = det(100, 50, 80, probs);
    t2.update(&d, 1, t2.frame_time(-1));
    if (f >= 20 && followed < 0 && t2.seen()[0].present[0]) followed = f - 20;
  }
  CHECK(followed >= 0);
  CHECK(followed <= 5);
}

TEST_CASE("tracker core: crossing faces keep their ids; a face that leaves returns as a new track",
          "[tracker]") {
  faceattr_tracker_params p = faceattr_tracker_default_params();
  p.max_missed = 5;
  Tracker t = make_core(p);
  const float a[kAttrs] = {0.9f, 0.1f, 0.5f}, b[kAttrs] = {0.1f, 0.9f, 0.5f};
  // Face A moves right on the upper row, face B left on the lower row (apart by 25% of a width).
  for (int f = 0; f <= 40; ++f) {
    Detection d[2] = {det(20.0f + 6.0f * f, 20, 60, a), det(260.0f - 6.0f * f, 95, 60, b)};
    if (f % 2) std::swap(d[0], d[1]);  // the localiser's order says nothing
    t.update(d, 2, t.frame_time(-1));
    REQUIRE(t.n_seen() == 2);
    for (int i = 0; i < 2; ++i) {
      const faceattr_track& tr = t.seen()[i];
      CHECK(tr.id == i + 1);
      CHECK(tr.probs[0] == Approx(i == 0 ? 0.9f : 0.1f));  // never mixed
    }
  }
  // Both leave for 6 frames (more than max_missed), then A comes back.
  for (int f = 0; f < 6; ++f) {
    t.update(nullptr, 0, t.frame_time(-1));
    CHECK(t.n_seen() == 0);
  }
  CHECK(t.n_live() == 0);
  const Detection d = det(20, 20, 60, a);
  t.update(&d, 1, t.frame_time(-1));
  REQUIRE(t.n_seen() == 1);
  CHECK(t.seen()[0].id == 3);
}

TEST_CASE("tracker core: a face missed for a few frames keeps its track", "[tracker]") {
  Tracker t = make_core();
  const float a[kAttrs] = {0.9f, 0.1f, 0.5f};
  for (int f = 0; f < 20; ++f) {
    const Detection d = det(100, 50, 80, a);
    const bool missed = f >= 8 && f < 11;
    t.update(&d, missed ? 0 : 1, t.frame_time(-1));
    CHECK(t.n_seen() == (missed ? 0 : 1));
    if (!missed) CHECK(t.seen()[0].id == 1);
  }
}

TEST_CASE("tracker core: a face swapped in place starts a new track by appearance", "[tracker]") {
  const int nf = 8;
  Tracker t = make_core(faceattr_tracker_default_params(), nf);
  std::vector<float> fa(nf, 0.0f), fb(nf, 0.0f);
  for (int i = 0; i < nf; ++i) {
    fa[static_cast<size_t>(i)] = i < 4 ? 1.0f : 0.1f;
    fb[static_cast<size_t>(i)] = i < 4 ? 0.1f : 1.0f;
  }
  const float pa[kAttrs] = {0.9f, 0.1f, 0.5f}, pb[kAttrs] = {0.1f, 0.9f, 0.5f};
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (int f = 0; f < 30; ++f) {
    std::vector<float> feat = f < 15 ? fa : fb;
    for (float& v : feat) v += noise(rng);
    Detection d = det(100, 50, 80, f < 15 ? pa : pb);
    d.feature = feat.data();
    t.update(&d, 1, t.frame_time(-1));
    REQUIRE(t.n_seen() == 1);
    CHECK(t.seen()[0].id == (f < 15 ? 1 : 2));
    if (f == 15) {  // the new face's own decisions at once
      CHECK(t.seen()[0].present[0] == 0);
      CHECK(t.seen()[0].present[1] == 1);
    }
  }
  // Without the appearance test the same stream is one track.
  faceattr_tracker_params p = faceattr_tracker_default_params();
  p.appearance_min = 0.0f;
  Tracker t2 = make_core(p, nf);
  for (int f = 0; f < 30; ++f) {
    Detection d = det(100, 50, 80, f < 15 ? pa : pb);
    d.feature = f < 15 ? fa.data() : fb.data();
    t2.update(&d, 1, t2.frame_time(-1));
    CHECK(t2.seen()[0].id == 1);
  }
}

TEST_CASE("tracker params: out-of-range values are refused, naming the field", "[tracker]") {
  const auto anet = tiny_anet();
  faceattr_session* s = make(anet, {});
  struct Bad {
    const char* field;
    void (*set)(faceattr_tracker_params*);
  };
  const Bad bad[] = {
      {"fps", [](faceattr_tracker_params* p) { p->fps = 0; }},
      {"fps", [](faceattr_tracker_params* p) { p->fps = NAN; }},
      {"window", [](faceattr_tracker_params* p) { p->window = 0; }},
      {"window", [](faceattr_tracker_params* p) { p->window = 65; }},
      {"hysteresis", [](faceattr_tracker_params* p) { p->hysteresis = 0.5f; }},
      {"match_iou", [](faceattr_tracker_params* p) { p->match_iou = 0; }},
      {"appearance_min", [](faceattr_tracker_params* p) { p->appearance_min = -0.1f; }},
      {"max_missed", [](faceattr_tracker_params* p) { p->max_missed = -1; }},
      {"detect_interval", [](faceattr_tracker_params* p) { p->detect_interval = 0; }},
      {"min_cutoff", [](faceattr_tracker_params* p) { p->min_cutoff = 0; }},
      {"local_min_score", [](faceattr_tracker_params* p) { p->local_min_score = 2; }},
  };
  for (const Bad& b : bad) {
    faceattr_tracker_params p = faceattr_tracker_default_params();
    b.set(&p);
    faceattr_tracker* t = nullptr;
    CHECK(faceattr_tracker_create(s, &p, &t) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(t == nullptr);
    CHECK(std::string(faceattr_last_error()).find(b.field) != std::string::npos);
  }
  faceattr_tracker* t = nullptr;
  CHECK(faceattr_tracker_create(nullptr, nullptr, &t) == FACEATTR_ERR_INVALID_ARGUMENT);
  REQUIRE(faceattr_tracker_create(s, nullptr, &t) == FACEATTR_OK);
  const faceattr_track* tracks = nullptr;
  int32_t n = -1;
  CHECK(faceattr_tracker_track(t, nullptr, -1, &tracks, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
  faceattr_face bad_face{};
  bad_face.box[2] = -1;
  const float probs[6] = {};
  bad_face.probs = probs;
  CHECK(faceattr_tracker_update(t, &bad_face, 1, nullptr, 0, -1, &tracks, &n) ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  const float feat[3] = {};
  faceattr_face ok_face{};
  ok_face.box[2] = ok_face.box[3] = 10;
  ok_face.probs = probs;
  CHECK(faceattr_tracker_update(t, &ok_face, 1, feat, 3, -1, &tracks, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
  REQUIRE(faceattr_tracker_update(t, &ok_face, 1, nullptr, 0, -1, &tracks, &n) == FACEATTR_OK);
  CHECK(n == 1);
  CHECK(tracks[0].face_index == -1);
  // A tracker call while another call holds the session: busy, nothing done.
  s->busy.store(true);
  CHECK(faceattr_tracker_update(t, &ok_face, 1, nullptr, 0, -1, &tracks, &n) == FACEATTR_ERR_BUSY);
  s->busy.store(false);
  faceattr_tracker_free(t);
  faceattr_session_free(s);
}

TEST_CASE("tracker on a localising session: local searches between full passes, one id, explain",
          "[tracker][pipeline]") {
  for (bool int8 : {false, true}) {
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      INFO((int8 ? "int8 " : "f32 ") << faceattr_backend_name(b));
      const auto anet = tiny_anet(int8);
      faceattr::test::TinyLnetSpec lspec;  // 64x48 input, cells of 4
      lspec.int8 = int8;
      const auto lnet = faceattr::test::tiny_lnet_bytes(lspec);
      faceattr_session* s = make(anet, lnet, b, 1, 8, 8);
      faceattr_tracker_params p = faceattr_tracker_default_params();
      p.detect_interval = 5;
      faceattr_tracker* t = nullptr;
      REQUIRE(faceattr_tracker_create(s, &p, &t) == FACEATTR_OK);
      int local = 0;
      for (int f = 0; f < 30; ++f) {
        // A 32 px red square moving 2 px a frame on a 256x192 frame; a second one from frame 12.
        std::vector<RedBox> boxes = {{40 + 2 * f, 60, 32, 32}};
        if (f >= 12) boxes.push_back({180, 120, 40, 40});
        const Frame fr = red_frame(256, 192, boxes);
        const faceattr_image img = fr.view();
        const faceattr_track* tracks = nullptr;
        int32_t n = 0;
        faceattr_tracker_stats before{};
        REQUIRE(faceattr_tracker_get_stats(t, &before) == FACEATTR_OK);
        REQUIRE(faceattr_tracker_track(t, &img, -1, &tracks, &n) == FACEATTR_OK);
        faceattr_tracker_stats st{};
        REQUIRE(faceattr_tracker_get_stats(t, &st) == FACEATTR_OK);
        const bool was_local = st.local_passes > before.local_passes;
        local += was_local ? 1 : 0;
        // The second face is found by the next full pass: at most detect_interval frames late.
        const int want = f >= 12 + p.detect_interval - 1 ? 2 : (f >= 12 && !was_local ? 2 : 1);
        INFO("frame " << f);
        REQUIRE(n >= 1);
        CHECK(n == want);
        CHECK(tracks[0].id == 1);
        CHECK(iou(tracks[0].raw_box, boxes[0]) > 0.6f);
        if (n == 2) CHECK(tracks[1].id == 2);
        // The track's face is the session's face: explain reads it.
        faceattr_explanation e{};
        const int32_t attr = 0;
        REQUIRE(faceattr_session_explain(s, tracks[0].face_index, &attr, 1, &e) == FACEATTR_OK);
        CHECK(e.crop[2] > 0);
      }
      faceattr_tracker_stats st{};
      REQUIRE(faceattr_tracker_get_stats(t, &st) == FACEATTR_OK);
      CHECK(st.frames == 30);
      CHECK(st.full_passes + st.local_passes == 30);
      CHECK(st.local_passes == local);
      // A full pass at least every detect_interval frames, local searches on most others.
      CHECK(st.full_passes >= 30 / p.detect_interval);
      CHECK(st.local_passes >= 18);
      CHECK(st.tracks_started == 2);
      // reset: a new stream, ids from 1.
      REQUIRE(faceattr_tracker_reset(t) == FACEATTR_OK);
      const Frame fr = red_frame(256, 192, {{180, 120, 40, 40}});
      const faceattr_image img = fr.view();
      const faceattr_track* tracks = nullptr;
      int32_t n = 0;
      REQUIRE(faceattr_tracker_track(t, &img, -1, &tracks, &n) == FACEATTR_OK);
      REQUIRE(n == 1);
      CHECK(tracks[0].id == 1);
      faceattr_tracker_free(t);
      faceattr_session_free(s);
    }
  }
}

TEST_CASE("reshape_input: a fully convolutional LNet planned at another size computes the same map",
          "[tracker][graph]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyLnetSpec spec;  // 64x48, conv1x1 then 4x4 average pooling
    spec.int8 = int8;
    const auto bytes = faceattr::test::tiny_lnet_bytes(spec);
    faceattr::model::Model m;
    REQUIRE(faceattr::model::load_model(bytes.data(), bytes.size(), &m).is_ok());
    REQUIRE(faceattr::model::reshape_input(&m, 32, 24).is_ok());
    CHECK(m.input_width == 32);
    CHECK(m.tensors[static_cast<size_t>(m.outputs[0])].shape == std::vector<int>{1, 6, 8, 1});
    CHECK(m.tensors[static_cast<size_t>(m.outputs[0])].elements == 48u);
    // The small network on the top-left 32x24 pixels of an input = the top-left 8x6 cells of the map.
    faceattr::kernels::ExecContext ctx;
    faceattr::Network full, small;
    REQUIRE(full.load(bytes.data(), bytes.size(), faceattr::kernels::Family::Reference, ctx).is_ok());
    REQUIRE(small.load(std::move(m), faceattr::kernels::Family::Reference, ctx).is_ok());
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (size_t i = 0; i < full.input_elements(); ++i) full.input_ptr()[i] = u(rng);
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 32 * 3; ++x) small.input_ptr()[y * 96 + x] = full.input_ptr()[y * 64 * 3 + x];
    REQUIRE(full.run().is_ok());
    REQUIRE(small.run().is_ok());
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 8; ++j) CHECK(small.output_ptr()[i * 8 + j] == full.output_ptr()[i * 16 + j]);

    // No output at 3x3 (a 4x4 pool): refused.
    faceattr::model::Model tiny;
    REQUIRE(faceattr::model::load_model(bytes.data(), bytes.size(), &tiny).is_ok());
    CHECK(faceattr::model::reshape_input(&tiny, 3, 3).code() == FACEATTR_ERR_MODEL_FORMAT);
    const auto anet = tiny_anet(int8);
    faceattr::model::Model a;
    REQUIRE(faceattr::model::load_model(anet.data(), anet.size(), &a).is_ok());
    // The tiny ANet pools globally before its fully connected layer: any size plans.
    CHECK(faceattr::model::reshape_input(&a, 40, 48).is_ok());
    CHECK(a.tensors[static_cast<size_t>(a.outputs[0])].shape == std::vector<int>{1, 6});
  }
}
