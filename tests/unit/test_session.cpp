// The C API end to end on tiny random models.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "graph/network.h"
#include "image/preprocess.h"
#include "support/tiny_models.h"

namespace {

struct Image {
  int w, h;
  faceattr_pixel_format format;
  std::vector<uint8_t> data;
  faceattr_image view() const {
    return {data.data(), w, h, w * faceattr::image::channels_of(format), format};
  }
};

Image random_image(int w, int h, faceattr_pixel_format f, uint32_t seed) {
  return {w, h, f,
          faceattr::test::random_bytes(static_cast<size_t>(w) * h * faceattr::image::channels_of(f), seed)};
}

faceattr_session* make_session(const std::vector<uint8_t>& model,
                               faceattr_backend backend = FACEATTR_BACKEND_REFERENCE, int threads = 1) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.n_threads = threads;
  faceattr_session* s = nullptr;
  const faceattr_status st = faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  REQUIRE(s != nullptr);
  return s;
}

// Probabilities from a direct Network run on the same centre crop.
std::vector<float> direct_run(const std::vector<uint8_t>& model, const faceattr_image& img,
                              faceattr::kernels::Family family) {
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  REQUIRE(net.load(model.data(), model.size(), family, ctx).is_ok());
  const auto& m = net.model();
  const auto box = faceattr::image::centre_crop_box(img.width, img.height,
                                                    static_cast<float>(m.input_width) / m.input_height);
  REQUIRE(faceattr::image::crop_resize_normalize(img, box, m.input_width, m.input_height, m.mean, m.std,
                                                 net.input_ptr())
              .is_ok());
  REQUIRE(net.run().is_ok());
  return std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements());
}

void check_valid_predict_works(faceattr_session* s, const Image& img) {
  const faceattr_image v = img.view();
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
  REQUIRE(n == 1);
  CHECK(std::string(faceattr_last_error()).empty());
}

const faceattr_backend kAllBackends[] = {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK,
                                         FACEATTR_BACKEND_SIMD};

}  // namespace

TEST_CASE("predict equals a direct network run", "[session]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    spec.input_w = 20;
    spec.input_h = 24;
    spec.n_attributes = 7;
    const auto model = faceattr::test::tiny_anet_bytes(spec);
    faceattr_session* s = make_session(model);
    CHECK(faceattr_session_backend(s) == FACEATTR_BACKEND_REFERENCE);
    REQUIRE(faceattr_session_n_attributes(s) == 7);
    CHECK(std::string(faceattr_session_attribute_name(s, 3)) == "attr_3");
    CHECK(faceattr_session_attribute_name(s, 7) == nullptr);
    CHECK(faceattr_session_attribute_name(s, -1) == nullptr);
    CHECK(faceattr_session_attribute_threshold(s, 1) == Approx(0.4f));
    CHECK(faceattr_session_attribute_threshold(s, 9) == -1.0f);
    CHECK(std::string(faceattr_session_model_metadata(s, 0, "license")) == "test-only");
    CHECK(std::string(faceattr_session_model_metadata(s, 0, "name")) ==
          "tiny-" + std::string(int8 ? "int8" : "f32") + "-1");
    CHECK(faceattr_session_model_metadata(s, 0, "missing") == nullptr);
    CHECK(faceattr_session_model_metadata(s, 1, "license") == nullptr);

    for (auto fmt : {FACEATTR_PIXEL_RGB, FACEATTR_PIXEL_BGRA}) {
      const Image img = random_image(64, 48, fmt, 17);
      const faceattr_image v = img.view();
      const faceattr_face* faces = nullptr;
      int32_t n = 0;
      REQUIRE(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
      REQUIRE(n == 1);
      const auto want = direct_run(model, v, faceattr::kernels::Family::Reference);
      for (int a = 0; a < 7; ++a) {
        CHECK(faces[0].probs[a] == want[a]);
        CHECK(faces[0].present[a] == (want[a] >= faceattr_session_attribute_threshold(s, a) ? 1 : 0));
      }
      // The box is the centre crop at the model's aspect (20:24) of the 64x48 image.
      CHECK(faces[0].box[3] == Approx(48.0f));
      CHECK(faces[0].box[2] == Approx(40.0f));
      CHECK(faces[0].box[0] == Approx(12.0f));
      CHECK(faces[0].box[1] == Approx(0.0f));
      CHECK(faces[0].score == 1.0f);

      std::vector<float> probs(7);
      REQUIRE(faceattr_session_predict_crop(s, &v, probs.data()) == FACEATTR_OK);
      for (int a = 0; a < 7; ++a) CHECK(probs[a] == want[a]);
      faceattr_timings t{};
      REQUIRE(faceattr_session_last_timings(s, &t) == FACEATTR_OK);
      CHECK(t.preprocess_ms >= 0.0);
      CHECK(t.anet_ms > 0.0);
      CHECK(t.lnet_ms == 0.0);
    }
    faceattr_session_free(s);
  }
}

TEST_CASE("bad arguments are refused with a message and leave the session usable", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  faceattr_session* s = make_session(model);
  const Image good = random_image(30, 30, FACEATTR_PIXEL_RGB, 1);
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  std::vector<float> probs(5);

  auto expect_invalid = [&](faceattr_status st) {
    CHECK(st == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(std::strlen(faceattr_last_error()) > 0);
    check_valid_predict_works(s, good);
  };
  const faceattr_image gv = good.view();
  expect_invalid(faceattr_session_predict(nullptr, &gv, &faces, &n));
  expect_invalid(faceattr_session_predict(s, nullptr, &faces, &n));
  expect_invalid(faceattr_session_predict(s, &gv, nullptr, &n));
  expect_invalid(faceattr_session_predict(s, &gv, &faces, nullptr));
  expect_invalid(faceattr_session_predict_crop(s, &gv, nullptr));
  expect_invalid(faceattr_session_predict_crop(nullptr, &gv, probs.data()));
  expect_invalid(faceattr_session_last_timings(s, nullptr));

  faceattr_image bad = gv;
  bad.width = 0, bad.height = 0;
  expect_invalid(faceattr_session_predict(s, &bad, &faces, &n));
  bad = gv, bad.data = nullptr;
  expect_invalid(faceattr_session_predict(s, &bad, &faces, &n));
  bad = gv, bad.stride_bytes = 30 * 3 - 1;
  expect_invalid(faceattr_session_predict(s, &bad, &faces, &n));
  bad = gv, bad.format = static_cast<faceattr_pixel_format>(42);
  expect_invalid(faceattr_session_predict_crop(s, &bad, probs.data()));
  // Huge: refused from the numbers before touching the 30x30 buffer.
  bad = gv, bad.width = 100000, bad.height = 100000, bad.stride_bytes = 300000;
  expect_invalid(faceattr_session_predict(s, &bad, &faces, &n));
  CHECK(std::string(faceattr_last_error()).empty());  // cleared by the valid predict
  faceattr_session_free(s);
}

TEST_CASE("max_image_pixels is honoured", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  faceattr_session_params p = faceattr_session_default_params();
  p.max_image_pixels = 900;
  faceattr_session* s = nullptr;
  REQUIRE(faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s) == FACEATTR_OK);
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  const Image ok = random_image(30, 30, FACEATTR_PIXEL_RGB, 2),
              big = random_image(31, 30, FACEATTR_PIXEL_RGB, 2);
  const faceattr_image okv = ok.view(), bigv = big.view();
  CHECK(faceattr_session_predict(s, &okv, &faces, &n) == FACEATTR_OK);
  CHECK(faceattr_session_predict(s, &bigv, &faces, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
  faceattr_session_free(s);
}

TEST_CASE("whole-image mode: an image too small to hold a face has none", "[session]") {
  static_assert(FACEATTR_MIN_WHOLE_IMAGE_SIDE == 12);
  const auto model = faceattr::test::tiny_anet_bytes({});
  faceattr_session* s = make_session(model);
  for (auto [w, h] : {std::pair{1, 1}, {1, 200}, {200, 1}, {7, 7}, {11, 40}, {40, 11}, {12, 12}, {12, 300}}) {
    INFO(w << "x" << h);
    const Image img = random_image(w, h, FACEATTR_PIXEL_RGBA, 3);
    const faceattr_image v = img.view();
    const faceattr_face* faces = nullptr;
    int32_t n = -1;
    REQUIRE(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
    CHECK(n == (std::min(w, h) >= FACEATTR_MIN_WHOLE_IMAGE_SIDE ? 1 : 0));
  }
  // predict_crop is told the image is a face crop and still answers.
  const Image one = random_image(1, 1, FACEATTR_PIXEL_RGB, 4);
  const faceattr_image ov = one.view();
  std::vector<float> probs(faceattr_session_n_attributes(s));
  CHECK(faceattr_session_predict_crop(s, &ov, probs.data()) == FACEATTR_OK);
  faceattr_session_free(s);
}

TEST_CASE("session creation errors", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  faceattr_session* s = reinterpret_cast<faceattr_session*>(&s);  // must be reset to null on failure
  auto create = [&](const std::vector<uint8_t>& anet, const faceattr_session_params* p,
                    const std::vector<uint8_t>* lnet = nullptr) {
    const faceattr_status st = faceattr_session_create(
        anet.data(), anet.size(), lnet ? lnet->data() : nullptr, lnet ? lnet->size() : 0, p, &s);
    if (st != FACEATTR_OK) {
      CHECK(s == nullptr);
      CHECK(std::strlen(faceattr_last_error()) > 0);
    }
    return st;
  };
  CHECK(faceattr_session_create(model.data(), model.size(), nullptr, 0, nullptr, nullptr) ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_create(nullptr, 0, nullptr, 0, nullptr, &s) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_create(model.data(), model.size(), model.data(), 0, nullptr, &s) ==
        FACEATTR_ERR_INVALID_ARGUMENT);

  auto corrupt = model;
  corrupt[corrupt.size() / 2] ^= 0x10;
  CHECK(create(corrupt, nullptr) == FACEATTR_ERR_MODEL_FORMAT);
  INFO(faceattr_last_error());
  CHECK(std::string(faceattr_last_error()).find("CRC") != std::string::npos);

  faceattr_session_params p = faceattr_session_default_params();
  p.n_threads = 0;
  CHECK(create(model, &p) == FACEATTR_ERR_INVALID_ARGUMENT);
  p = faceattr_session_default_params();
  p.backend = static_cast<faceattr_backend>(17);
  CHECK(create(model, &p) == FACEATTR_ERR_INVALID_ARGUMENT);
  p = faceattr_session_default_params();
  p.max_image_pixels = 0;
  CHECK(create(model, &p) == FACEATTR_ERR_INVALID_ARGUMENT);
  p = faceattr_session_default_params();
  CHECK(p.localize == 1);
  CHECK(p.max_faces == 32);
  p.localize = 2;
  CHECK(create(model, &p) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::string(faceattr_last_error()).find("localize") != std::string::npos);

  // LNet: a model of kind "lnet" whose output is not a response map is refused; an anet in the
  // lnet slot and an lnet in the anet slot are mistakes (tests/unit/test_pipeline_errors.cpp has
  // the rest).
  faceattr::test::TinyModelSpec lspec;
  lspec.kind = "lnet";
  const auto lnet = faceattr::test::tiny_anet_bytes(lspec);
  CHECK(create(model, nullptr, &lnet) == FACEATTR_ERR_MODEL_FORMAT);
  CHECK(std::string(faceattr_last_error()).find("LNet") != std::string::npos);
  CHECK(create(model, nullptr, &model) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(create(lnet, nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);

  for (faceattr_backend b : kAllBackends) {
    p = faceattr_session_default_params();
    p.backend = b;
    const faceattr_status st = create(model, &p);
    if (faceattr_backend_available(b)) {
      CHECK(st == FACEATTR_OK);
      CHECK(faceattr_session_backend(s) == b);
      faceattr_session_free(s);
    } else {
      CHECK(st == FACEATTR_ERR_UNSUPPORTED);
    }
  }
  p = faceattr_session_default_params();
  REQUIRE(create(model, &p) == FACEATTR_OK);
  // AUTO: the Highway kernels first (fastest on the shipped models, bench/RESULTS.md), then XNNPACK.
  const faceattr_backend expected = faceattr_backend_available(FACEATTR_BACKEND_SIMD) ? FACEATTR_BACKEND_SIMD
                                    : faceattr_backend_available(FACEATTR_BACKEND_XNNPACK)
                                        ? FACEATTR_BACKEND_XNNPACK
                                        : FACEATTR_BACKEND_REFERENCE;
  CHECK(faceattr_session_backend(s) == expected);
  faceattr_session_free(s);
}

TEST_CASE("every available backend and thread count gives close results", "[session]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    spec.input_w = 32;
    spec.input_h = 32;
    spec.channels = 16;
    spec.n_attributes = 9;
    spec.seed = 3;
    const auto model = faceattr::test::tiny_anet_bytes(spec);
    const Image img = random_image(80, 60, FACEATTR_PIXEL_RGBA, 5);
    const faceattr_image v = img.view();
    std::vector<float> ref(9), got(9);
    faceattr_session* r = make_session(model, FACEATTR_BACKEND_REFERENCE);
    REQUIRE(faceattr_session_predict_crop(r, &v, ref.data()) == FACEATTR_OK);
    faceattr_session_free(r);
    // fp32 families differ only by summation order; int8 families share the rounding rules
    // but may differ by one quantisation step in intermediate layers.
    const float tol = int8 ? 0.03f : 1e-4f;
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      for (int threads : {1, 2, 3, 4, 8}) {
        INFO("backend " << faceattr_backend_name(b) << ", " << threads << " threads, int8 " << int8);
        faceattr_session* s = make_session(model, b, threads);
        REQUIRE(faceattr_session_predict_crop(s, &v, got.data()) == FACEATTR_OK);
        for (int a = 0; a < 9; ++a) CHECK(got[a] == Approx(ref[a]).margin(tol));
        faceattr_session_free(s);
      }
    }
  }
}

TEST_CASE("abort callback cancels, and the session recovers", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  int abort_now = 0;
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.abort_callback = [](void* u) { return *static_cast<int*>(u); };
  p.abort_user_data = &abort_now;
  faceattr_session* s = nullptr;
  REQUIRE(faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s) == FACEATTR_OK);
  const Image img = random_image(30, 30, FACEATTR_PIXEL_RGB, 3);
  std::vector<float> probs(5), again(5);
  const faceattr_image v = img.view();
  REQUIRE(faceattr_session_predict_crop(s, &v, probs.data()) == FACEATTR_OK);
  abort_now = 1;
  CHECK(faceattr_session_predict_crop(s, &v, again.data()) == FACEATTR_ERR_CANCELLED);
  CHECK(std::strlen(faceattr_last_error()) > 0);
  abort_now = 0;
  REQUIRE(faceattr_session_predict_crop(s, &v, again.data()) == FACEATTR_OK);
  CHECK(again == probs);
  faceattr_session_free(s);
}

TEST_CASE("log callback receives messages at or above the level", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  std::vector<std::pair<faceattr_log_level, std::string>> lines;
  faceattr_session_params p = faceattr_session_default_params();
  p.log_level = FACEATTR_LOG_INFO;
  p.log_callback = [](faceattr_log_level l, const char* m, void* u) {
    static_cast<std::vector<std::pair<faceattr_log_level, std::string>>*>(u)->emplace_back(l, m);
  };
  p.log_user_data = &lines;
  faceattr_session* s = nullptr;
  REQUIRE(faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s) == FACEATTR_OK);
  faceattr_session_free(s);
  REQUIRE(!lines.empty());
  bool saw_backend = false;
  for (const auto& l : lines) {
    CHECK(l.first >= FACEATTR_LOG_INFO);
    if (l.second.find("backend") != std::string::npos) saw_backend = true;
  }
  CHECK(saw_backend);
}

TEST_CASE("C++ wrapper", "[session]") {
  const auto model = faceattr::test::tiny_anet_bytes({});
  faceattr::Session s = faceattr::Session::create(model.data(), model.size());
  REQUIRE(s);
  CHECK(s.n_attributes() == 5);
  CHECK(s.attribute_name(0) == "attr_0");
  const Image img = random_image(30, 30, FACEATTR_PIXEL_RGB, 3);
  const auto faces = s.predict(img.view());
  REQUIRE(faces.size() == 1);
  std::vector<float> probs = s.predict_crop(img.view());
  REQUIRE(probs.size() == 5);
  for (int a = 0; a < 5; ++a) CHECK(faces[0].probs[a] == probs[a]);
  faceattr::Session moved = std::move(s);
  CHECK(!s);
  CHECK(moved);
  std::vector<uint8_t> junk(100, 0);
  try {
    faceattr::Session::create(junk.data(), junk.size());
    FAIL("expected faceattr::Error");
  } catch (const faceattr::Error& e) {
    CHECK(e.status() == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(std::string(e.what()).find("magic") != std::string::npos);
  }
  faceattr_status st = FACEATTR_OK;
  faceattr::Session none = faceattr::Session::try_create(junk.data(), junk.size(), nullptr, &st);
  CHECK(!none);
  CHECK(st == FACEATTR_ERR_MODEL_FORMAT);
}
