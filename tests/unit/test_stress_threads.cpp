// Threads through the C API, on the shipped int8 models:
//  - many sessions at once: 8 threads, each with its own localising session
//    created from one shared copy of the model bytes, predict and explain on
//    varied frames (sizes, pixel formats, strides, with and without faces);
//    every result equals a one-thread run bit for bit;
//  - the pipeline at 2, 3, 4 and 8 worker threads equals 1 thread bit for bit;
//  - one session from two threads: every call returns FACEATTR_OK or
//    FACEATTR_ERR_BUSY, a BUSY call changes nothing, OK results are right.
// Workers only record what they saw; the assertions run on the main thread.
//
// Predicts per stress thread: FACEATTR_STRESS_PREDICTS when set, else 1000, or 16
// where the code runs 5-50 times slower: under a sanitizer, or under an emulator
// (FACEATTR_TEST_EMULATED=1, which tests/CMakeLists.txt sets for a cross build's
// tests run under qemu-user). The two-thread hammer makes a quarter as many calls
// per thread (at least 16); the thread-count comparison then takes 2 of its 4 frames.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FACEATTR_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FACEATTR_TEST_SANITIZED 1
#endif
#endif

namespace {

std::vector<uint8_t> read_model(const char* name) {
  std::ifstream f(std::string(FACEATTR_SOURCE_DIR) + "/models/" + name, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Sanitized or emulated: the smaller sizes.
bool slow_build() {
#if defined(FACEATTR_TEST_SANITIZED)
  return true;
#else
  const char* e = std::getenv("FACEATTR_TEST_EMULATED");
  return e != nullptr && std::strcmp(e, "1") == 0;
#endif
}

int stress_predicts() {
  if (const char* e = std::getenv("FACEATTR_STRESS_PREDICTS")) {
    char* end = nullptr;
    const long n = std::strtol(e, &end, 10);
    if (end != e && *end == '\0' && n >= 1 && n <= 10000000) return static_cast<int>(n);
  }
  return slow_build() ? 16 : 1000;
}

// A frame in any pixel format, rows `stride` bytes apart (padding bytes set too).
struct Frame {
  int w = 0, h = 0, stride = 0;
  faceattr_pixel_format format = FACEATTR_PIXEL_RGB;
  std::vector<uint8_t> px;
  faceattr_image view() const { return {px.data(), w, h, stride, format}; }
};

int channels(faceattr_pixel_format f) { return f == FACEATTR_PIXEL_RGBA || f == FACEATTR_PIXEL_BGRA ? 4 : 3; }

void put(Frame* f, int x, int y, int r, int g, int b) {
  if (x < 0 || y < 0 || x >= f->w || y >= f->h) return;
  uint8_t* p = &f->px[static_cast<size_t>(y) * f->stride + static_cast<size_t>(x) * channels(f->format)];
  const bool bgr = f->format == FACEATTR_PIXEL_BGR || f->format == FACEATTR_PIXEL_BGRA;
  p[0] = static_cast<uint8_t>(bgr ? b : r);
  p[1] = static_cast<uint8_t>(g);
  p[2] = static_cast<uint8_t>(bgr ? r : b);
  if (channels(f->format) == 4) p[3] = 255;
}

// Fills the ellipse of centre (cx, cy) and radii (rx, ry) with a colour.
void ellipse(Frame* f, float cx, float cy, float rx, float ry, int r, int g, int b) {
  for (int y = static_cast<int>(cy - ry); y <= static_cast<int>(cy + ry) + 1; ++y)
    for (int x = static_cast<int>(cx - rx); x <= static_cast<int>(cx + rx) + 1; ++x) {
      const float dx = (x + 0.5f - cx) / rx, dy = (y + 0.5f - cy) / ry;
      if (dx * dx + dy * dy <= 1.0f) put(f, x, y, r, g, b);
    }
}

// A drawn face of height `s` centred at (cx, cy): hair, skin, eyes, brows, mouth.
void draw_face(Frame* f, float cx, float cy, float s, int tone) {
  ellipse(f, cx, cy - 0.08f * s, 0.42f * s, 0.55f * s, 40 + tone / 4, 28, 20);  // hair
  ellipse(f, cx, cy + 0.04f * s, 0.36f * s, 0.48f * s, 150 + tone, 105 + tone * 3 / 4, 85 + tone / 2);
  for (float side : {-1.0f, 1.0f}) {
    ellipse(f, cx + side * 0.15f * s, cy - 0.04f * s, 0.07f * s, 0.035f * s, 245, 245, 245);
    ellipse(f, cx + side * 0.15f * s, cy - 0.04f * s, 0.03f * s, 0.03f * s, 35, 25, 20);
    ellipse(f, cx + side * 0.15f * s, cy - 0.13f * s, 0.09f * s, 0.02f * s, 60, 40, 30);
  }
  ellipse(f, cx, cy + 0.08f * s, 0.04f * s, 0.09f * s, 130 + tone, 90 + tone / 2, 75);  // nose
  ellipse(f, cx, cy + 0.27f * s, 0.13f * s, 0.035f * s, 150, 55, 60);                   // mouth
}

// Frame k of the stress set: sizes from 33x41 to 320x240, the four pixel formats,
// tight and padded rows, a noisy background, 0-2 drawn faces.
Frame stress_frame(int k) {
  static const int sizes[][2] = {{160, 120}, {96, 128}, {200, 150}, {123, 77}, {64, 48},
                                 {320, 240}, {48, 160}, {40, 32},   {33, 41},  {240, 180}};
  static const faceattr_pixel_format formats[] = {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_RGBA, FACEATTR_PIXEL_BGR,
                                                  FACEATTR_PIXEL_BGRA};
  static const int pads[] = {0, 1, 13, 64, 3};
  Frame f;
  f.w = sizes[k % 10][0];
  f.h = sizes[k % 10][1];
  f.format = formats[k % 4];
  f.stride = f.w * channels(f.format) + pads[k % 5];
  f.px.resize(static_cast<size_t>(f.stride) * f.h);
  uint32_t rng = 2654435761u * static_cast<uint32_t>(k + 1);
  for (auto& b : f.px) {
    rng = rng * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(rng >> 24);  // padding bytes too: the SDK must not read them
  }
  for (int y = 0; y < f.h; ++y)
    for (int x = 0; x < f.w; ++x) {
      rng = rng * 1664525u + 1013904223u;
      const int n = static_cast<int>(rng >> 28);
      put(&f, x, y, 60 + (x * 90) / f.w + n, 80 + (y * 60) / f.h + n, 110 + n * 2);
    }
  const int faces = k % 3;  // 0, 1 or 2 drawn faces
  for (int i = 0; i < faces && f.w >= 40 && f.h >= 40; ++i) {
    const float s = std::min(f.w, f.h) * (faces == 1 ? 0.6f : 0.4f);
    const float cx = faces == 1 ? f.w * 0.5f : f.w * (i == 0 ? 0.27f : 0.73f);
    draw_face(&f, cx, f.h * 0.5f, s, (k * 13 + i * 29) % 60);
  }
  return f;
}

// Explained attributes of the last face of each predict.
const int32_t kExplained[] = {0, 20, 31, 39};

// Everything a predict (and an explain of its last face) returned, as bytes:
// equal vectors mean equal results bit for bit.
struct Outcome {
  faceattr_status status = FACEATTR_OK;
  std::vector<uint8_t> bytes;
  int faces = 0;
};

template <typename T>
void append(std::vector<uint8_t>* out, const T* p, size_t n) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n * sizeof(T));
}

Outcome run_once(faceattr_session* s, const faceattr_image& img) {
  Outcome o;
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  o.status = faceattr_session_predict(s, &img, &faces, &n);
  if (o.status != FACEATTR_OK) return o;
  o.faces = n;
  const int32_t na = faceattr_session_n_attributes(s);
  append(&o.bytes, &n, 1);
  for (int32_t i = 0; i < n; ++i) {
    append(&o.bytes, faces[i].box, 4);
    append(&o.bytes, &faces[i].score, 1);
    append(&o.bytes, faces[i].probs, static_cast<size_t>(na));
    append(&o.bytes, faces[i].present, static_cast<size_t>(na));
  }
  if (n > 0) {
    faceattr_explanation e[4];
    o.status = faceattr_session_explain(s, n - 1, kExplained, 4, e);
    if (o.status != FACEATTR_OK) return o;
    for (const faceattr_explanation& x : e) {
      append(&o.bytes, &x.probability, 1);
      append(&o.bytes, &x.logit, 1);
      append(&o.bytes, &x.bias, 1);
      append(&o.bytes, x.box, 4);
      append(&o.bytes, x.crop, 4);
      append(&o.bytes, x.peak, 2);
      append(&o.bytes, x.peak_cell, 2);
      append(&o.bytes, x.map, static_cast<size_t>(x.width) * static_cast<size_t>(x.height));
    }
  }
  return o;
}

faceattr_session* make_session(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                               int threads, int localize = 1) {
  faceattr_session_params p = faceattr_session_default_params();
  p.n_threads = threads;
  p.localize = localize;
  p.min_face_size = 16;
  faceattr_session* s = nullptr;
  const faceattr_status st = faceattr_session_create(
      anet.data(), anet.size(), lnet.empty() ? nullptr : lnet.data(), lnet.size(), &p, &s);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  return s;
}

// What one stress thread saw.
struct WorkerLog {
  int predicts = 0, faces = 0, failures = 0, mismatches = 0;
  std::string first_problem;
};

}  // namespace

TEST_CASE("stress: 8 threads, one session each from one model buffer, equal to one thread bit for bit",
          "[threads][stress]") {
  // One copy of each model's bytes, read once and shared (read-only) by every session.
  const std::vector<uint8_t> anet = read_model("anet-int8.fam");
  const std::vector<uint8_t> lnet = read_model("lnet-int8.fam");
  constexpr int kFrames = 30;
  std::vector<Frame> frames;
  for (int k = 0; k < kFrames; ++k) frames.push_back(stress_frame(k));

  // The one-thread answers, from a session on this thread.
  std::vector<Outcome> want;
  {
    faceattr_session* s = make_session(anet, lnet, 1);
    for (const Frame& f : frames) {
      want.push_back(run_once(s, f.view()));
      INFO(faceattr_last_error());
      REQUIRE(want.back().status == FACEATTR_OK);
    }
    faceattr_session_free(s);
  }
  int frames_with_faces = 0, frames_without = 0;
  for (const Outcome& o : want) (o.faces > 0 ? frames_with_faces : frames_without) += 1;
  INFO(frames_with_faces << " frames with faces, " << frames_without << " without");
  // The set must hold both kinds, or the stress would not cover the ANet and explain paths.
  REQUIRE(frames_with_faces >= 5);
  REQUIRE(frames_without >= 5);

  constexpr int kThreads = 8;
  const int predicts = stress_predicts();
  std::vector<WorkerLog> logs(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      WorkerLog& log = logs[static_cast<size_t>(t)];
      // Each thread its own session, half of them with a second worker thread of their own.
      faceattr_session_params p = faceattr_session_default_params();
      p.n_threads = 1 + t % 2;
      p.min_face_size = 16;
      faceattr_session* s = nullptr;
      if (faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &s) !=
          FACEATTR_OK) {
        log.failures = 1;
        log.first_problem = std::string("create: ") + faceattr_last_error();
        ready.fetch_add(1);
        return;
      }
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();  // start together
      for (int i = 0; i < predicts; ++i) {
        const int k = (i * (2 * t + 1) + 7 * t) % kFrames;  // a different order per thread
        const Outcome o = run_once(s, frames[static_cast<size_t>(k)].view());
        ++log.predicts;
        log.faces += o.faces;
        if (o.status != FACEATTR_OK) {
          if (log.failures++ == 0)
            log.first_problem = "frame " + std::to_string(k) + ": " + faceattr_status_string(o.status) +
                                ": " + faceattr_last_error();
        } else if (o.bytes != want[static_cast<size_t>(k)].bytes) {
          if (log.mismatches++ == 0 && log.failures == 0)
            log.first_problem = "frame " + std::to_string(k) + " (predict " + std::to_string(i) +
                                ") differs from the one-thread run";
        }
      }
      faceattr_session_free(s);
    });
  }
  for (auto& w : workers) w.join();

  long total = 0, faces = 0;
  for (int t = 0; t < kThreads; ++t) {
    const WorkerLog& log = logs[static_cast<size_t>(t)];
    INFO("thread " << t << ": " << log.first_problem);
    CHECK(log.failures == 0);
    CHECK(log.mismatches == 0);
    CHECK(log.predicts == predicts);
    total += log.predicts;
    faces += log.faces;
  }
  CHECK(total == static_cast<long>(kThreads) * predicts);
  CHECK(faces > 0);
}

TEST_CASE("pipeline at 2, 3, 4 and 8 threads equals 1 thread bit for bit", "[threads][pipeline]") {
  // Localising predict with explain, whole-image predict (localize = 0 and no LNet)
  // and predict_crop, on the shipped int8 and fp32 models, every thread count.
  for (const char* dtype : {"int8", "fp32"}) {
    const std::vector<uint8_t> anet = read_model((std::string("anet-") + dtype + ".fam").c_str());
    const std::vector<uint8_t> lnet = read_model((std::string("lnet-") + dtype + ".fam").c_str());
    std::vector<Frame> frames = {stress_frame(1), stress_frame(2)};  // one face, two faces
    if (!slow_build()) {
      frames.push_back(stress_frame(13));
      frames.push_back(stress_frame(15));
    }
    struct Want {
      std::vector<Outcome> localised, whole, no_lnet;
      std::vector<std::vector<float>> crops;
    };
    auto run_all = [&](int threads) {
      Want w;
      faceattr_session* loc = make_session(anet, lnet, threads);
      faceattr_session* whole = make_session(anet, lnet, threads, 0);
      faceattr_session* plain = make_session(anet, {}, threads);
      for (const Frame& f : frames) {
        const faceattr_image v = f.view();
        w.localised.push_back(run_once(loc, v));
        w.whole.push_back(run_once(whole, v));
        w.no_lnet.push_back(run_once(plain, v));
        std::vector<float> probs(static_cast<size_t>(faceattr_session_n_attributes(plain)));
        CHECK(faceattr_session_predict_crop(plain, &v, probs.data()) == FACEATTR_OK);
        w.crops.push_back(probs);
      }
      faceattr_session_free(loc);
      faceattr_session_free(whole);
      faceattr_session_free(plain);
      return w;
    };
    const Want one = run_all(1);
    int with_faces = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      REQUIRE(one.localised[i].status == FACEATTR_OK);
      REQUIRE(one.whole[i].status == FACEATTR_OK);
      REQUIRE(one.no_lnet[i].status == FACEATTR_OK);
      REQUIRE(one.whole[i].faces == 1);
      with_faces += one.localised[i].faces > 0;
    }
    CHECK(with_faces >= 2);
    for (int threads : {2, 3, 4, 8}) {
      INFO(dtype << " models, " << threads << " threads");
      const Want got = run_all(threads);
      for (size_t i = 0; i < frames.size(); ++i) {
        INFO("frame " << i);
        CHECK(got.localised[i].status == FACEATTR_OK);
        CHECK(got.localised[i].bytes == one.localised[i].bytes);
        CHECK(got.whole[i].bytes == one.whole[i].bytes);
        CHECK(got.no_lnet[i].bytes == one.no_lnet[i].bytes);
        CHECK(std::memcmp(got.crops[i].data(), one.crops[i].data(), got.crops[i].size() * sizeof(float)) ==
              0);
      }
    }
  }
}

namespace {

// The abort callback of the two-thread tests: polled by the call in progress
// between network layers. When `hold` is set, the first poll that claims it
// tells the other thread to go (`held`) and waits until it has made its calls
// (`released`), so those calls meet a session that is certainly in use.
struct Gate {
  std::atomic<bool> hold{false};
  std::atomic<bool> held{false};
  std::atomic<bool> released{false};
  // Calls made on the session from inside the callback (the same thread, re-entrant).
  faceattr_session* session = nullptr;
  const faceattr_image* image = nullptr;
  std::atomic<int> reentrant_status{-1};
};

int gate_abort(void* user) {
  Gate* g = static_cast<Gate*>(user);
  bool expected = true;
  if (!g->hold.compare_exchange_strong(expected, false)) return 0;
  if (g->session != nullptr) {
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    g->reentrant_status.store(faceattr_session_predict(g->session, g->image, &faces, &n));
  }
  g->held.store(true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!g->released.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  return 0;
}

bool wait_for(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("one session, two threads: the second call gets FACEATTR_ERR_BUSY and changes nothing",
          "[threads][busy]") {
  const std::vector<uint8_t> anet = read_model("anet-int8.fam");
  const std::vector<uint8_t> lnet = read_model("lnet-int8.fam");
  const Frame a = stress_frame(1), b = stress_frame(2);  // one face, two faces
  Outcome want_a, want_b;
  {
    faceattr_session* s = make_session(anet, lnet, 1);
    want_a = run_once(s, a.view());
    want_b = run_once(s, b.view());
    faceattr_session_free(s);
  }
  REQUIRE(want_a.status == FACEATTR_OK);
  REQUIRE(want_b.status == FACEATTR_OK);
  REQUIRE(want_a.faces > 0);
  REQUIRE(want_b.faces > 0);
  REQUIRE(want_a.bytes != want_b.bytes);

  for (int threads : {1, 2}) {
    INFO(threads << " worker threads in the session");
    Gate gate;
    faceattr_session_params p = faceattr_session_default_params();
    p.n_threads = threads;
    p.min_face_size = 16;
    p.abort_callback = gate_abort;
    p.abort_user_data = &gate;
    faceattr_session* s = nullptr;
    REQUIRE(faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &s) ==
            FACEATTR_OK);
    const faceattr_image va = a.view(), vb = b.view();

    // Frame b's result in the session; then a predict of frame a held mid-network.
    REQUIRE(run_once(s, vb).bytes == want_b.bytes);
    faceattr_stage_info si{};
    REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
    gate.session = s;
    gate.image = &vb;
    gate.hold.store(true);
    Outcome first;
    std::thread holder([&] { first = run_once(s, va); });

    // Every call that uses the session's state, from this thread while it is held.
    std::vector<std::pair<const char*, faceattr_status>> seen;
    std::vector<std::string> messages;
    bool outputs_untouched = true;
    const bool got_hold = wait_for(gate.held);
    if (got_hold) {
      auto note = [&](const char* what, faceattr_status st) {
        seen.emplace_back(what, st);
        messages.emplace_back(faceattr_last_error());
      };
      const faceattr_face dummy{};
      const faceattr_face* faces = &dummy;
      int32_t n = 77;
      note("predict", faceattr_session_predict(s, &vb, &faces, &n));
      outputs_untouched = faces == nullptr && n == 0;  // documented: cleared on every failure
      std::vector<float> probs(static_cast<size_t>(faceattr_session_n_attributes(s)), -1.0f);
      note("predict_crop", faceattr_session_predict_crop(s, &vb, probs.data()));
      outputs_untouched =
          outputs_untouched && std::all_of(probs.begin(), probs.end(), [](float v) { return v == -1.0f; });
      faceattr_explanation e[1];
      note("explain", faceattr_session_explain(s, 0, kExplained, 1, e));
      faceattr_response_map map{};
      note("response_map", faceattr_session_response_map(s, &map));
      faceattr_timings t{};
      note("last_timings", faceattr_session_last_timings(s, &t));
      const faceattr::Model anet_view = faceattr::Model::view(faceattr_session_model(s, 0));
      const faceattr::Model lnet_view = faceattr::Model::view(faceattr_session_model(s, 1));
      const faceattr_model_info li = lnet_view.info(), ai = anet_view.info();
      std::vector<float> lnet_in(static_cast<size_t>(li.input_width) * li.input_height * 3);
      faceattr_letterbox lb{};
      note("lnet_input", faceattr_session_lnet_input(s, &vb, 0, lnet_in.data(), &lb));
      std::vector<float> map_data(static_cast<size_t>(si.map_width) * si.map_height * si.map_channels);
      const float* maps[1] = {map_data.data()};
      faceattr_letterbox lbs[1] = {{li.input_width, li.input_height, 1.0f, 1.0f}};
      std::vector<faceattr_face_crop> crops(static_cast<size_t>(si.face_slots));
      int32_t n_crops = 0;
      note("decode_faces", faceattr_session_decode_faces(s, maps, lbs, 1, crops.data(), &n_crops));
      std::vector<float> anet_in(static_cast<size_t>(ai.input_width) * ai.input_height * 3);
      const float crop[4] = {0, 0, 40, 50};
      note("anet_input", faceattr_session_anet_input(s, &vb, crop, anet_in.data()));
      note("set_threshold_policy", faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY));
      // The calls that read only what create fixed are served during the other call.
      faceattr_face_crop whole{};
      note("whole_image_crop (not held)", faceattr_session_whole_image_crop(s, &vb, &whole));
      note("stage_info (not held)", faceattr_session_stage_info(s, &si));
      CHECK(faceattr_session_n_attributes(s) == 40);
      CHECK(faceattr_session_has_localizer(s) == 1);
      CHECK(faceattr_session_threshold_policy(s) == FACEATTR_THRESHOLDS_ACCURACY);
      CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == 1);
      CHECK(faceattr_session_attribute_threshold(s, 0) == ai.thresholds[0]);
    }
    gate.released.store(true);
    holder.join();

    REQUIRE(got_hold);
    REQUIRE(seen.size() == 11);
    for (size_t i = 0; i < seen.size(); ++i) {
      INFO(seen[i].first << ": " << faceattr_status_string(seen[i].second) << " " << messages[i]);
      const bool held = std::strstr(seen[i].first, "(not held)") == nullptr;
      CHECK(seen[i].second == (held ? FACEATTR_ERR_BUSY : FACEATTR_OK));
      if (held) CHECK(messages[i].find("another call on this session is in progress") != std::string::npos);
    }
    CHECK(outputs_untouched);
    // The abort callback's own call on the session (same thread, re-entrant) is refused too.
    CHECK(gate.reentrant_status.load() == FACEATTR_ERR_BUSY);
    // The held call finished undisturbed, with frame a's answer; the session then serves
    // frame b again exactly.
    CHECK(first.status == FACEATTR_OK);
    CHECK(first.bytes == want_a.bytes);
    CHECK(run_once(s, vb).bytes == want_b.bytes);
    CHECK(std::string(faceattr_status_string(FACEATTR_ERR_BUSY)) == "FACEATTR_ERR_BUSY");
    faceattr_session_free(s);
  }
}

TEST_CASE("one session hammered from two threads: only OK or BUSY, OK results right", "[threads][busy]") {
  const std::vector<uint8_t> anet = read_model("anet-int8.fam");
  const std::vector<uint8_t> lnet = read_model("lnet-int8.fam");
  const Frame frames[2] = {stress_frame(1), stress_frame(2)};
  std::vector<float> want_crop[2];
  int32_t want_faces[2] = {0, 0};
  faceattr_session* s = make_session(anet, lnet, 2);
  const size_t na = static_cast<size_t>(faceattr_session_n_attributes(s));
  for (int k = 0; k < 2; ++k) {
    const faceattr_image v = frames[k].view();
    want_crop[k].resize(na);
    REQUIRE(faceattr_session_predict_crop(s, &v, want_crop[k].data()) == FACEATTR_OK);
    const faceattr_face* faces = nullptr;
    REQUIRE(faceattr_session_predict(s, &v, &faces, &want_faces[k]) == FACEATTR_OK);
  }
  REQUIRE(want_crop[0] != want_crop[1]);

  // Both threads alternate predict (its face count, which the caller owns) and
  // predict_crop (probabilities into the caller's buffer); the faces themselves live
  // in the session and another thread's next predict may replace them, so they are
  // not read here (the stress test checks them, one session per thread). A call that
  // gets BUSY is retried until it is served, so both threads make `calls` calls.
  const int calls = std::max(16, stress_predicts() / 4);
  struct Log {
    long ok = 0, busy = 0, other = 0, wrong = 0;
    std::string first_problem;
  } logs[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Log& log = logs[t];
      std::vector<float> probs(na);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
      for (int i = 0; i < calls && log.other == 0 && std::chrono::steady_clock::now() < deadline;) {
        const int k = (i + t) % 2;
        const faceattr_image v = frames[k].view();
        faceattr_status st;
        bool right = true;
        if (i % 2 == 0) {
          const faceattr_face* faces = nullptr;
          int32_t n = -1;
          st = faceattr_session_predict(s, &v, &faces, &n);
          right = st != FACEATTR_OK || n == want_faces[k];
        } else {
          std::fill(probs.begin(), probs.end(), -1.0f);
          st = faceattr_session_predict_crop(s, &v, probs.data());
          right = st == FACEATTR_OK
                      ? std::memcmp(probs.data(), want_crop[k].data(), na * sizeof(float)) == 0
                      : std::all_of(probs.begin(), probs.end(), [](float p) { return p == -1.0f; });
        }
        if (st == FACEATTR_OK) {
          ++log.ok;
          ++i;
        } else if (st == FACEATTR_ERR_BUSY) {
          ++log.busy;
          std::this_thread::yield();
        } else if (log.other++ == 0) {
          log.first_problem = std::string(faceattr_status_string(st)) + ": " + faceattr_last_error();
        }
        if (!right && log.wrong++ == 0)
          log.first_problem = "call " + std::to_string(i) + " gave a wrong answer";
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 2; ++t) {
    INFO("thread " << t << ": " << logs[t].ok << " OK, " << logs[t].busy << " BUSY; "
                   << logs[t].first_problem);
    CHECK(logs[t].other == 0);
    CHECK(logs[t].wrong == 0);
    CHECK(logs[t].ok == calls);
  }
  // After the threads: the session serves both frames exactly.
  std::vector<float> probs(na);
  for (int k = 0; k < 2; ++k) {
    const faceattr_image v = frames[k].view();
    REQUIRE(faceattr_session_predict_crop(s, &v, probs.data()) == FACEATTR_OK);
    CHECK(probs == want_crop[k]);
  }
  faceattr_session_free(s);
}
