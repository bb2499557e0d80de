// image/preprocess with a thread pool: the SIMD resampler splits the output rows
// over the pool's threads (the session passes its pool, so LNet's letterbox and
// ANet's crops use every thread). Rows are independent, so the values must be
// exactly those of one thread: letterbox (shrink 1, 2, 3.5) and crops (inside,
// across the edges, enlarging) of webcam-sized and odd frames in all pixel
// formats, with 2- and 3-thread pools, compared bit for bit; the letterbox
// padding and the rows past the output stay as one thread leaves them. Also built
// into the wasm kernel tests (tests/wasm.cmake; a wasm build without threads
// runs the pools' work inline, so there it checks the row-range entry points).
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "image/preprocess.h"
#include "util/thread_pool.h"

namespace fi = faceattr::image;

namespace {

const float kMean[3] = {0.485f, 0.456f, 0.406f};
const float kStd[3] = {0.229f, 0.224f, 0.225f};
constexpr float kGuard = -12345.0f;

struct Frame {
  std::vector<uint8_t> bytes;
  faceattr_image img;
};

Frame make_frame(int w, int h, faceattr_pixel_format f, int pad, uint32_t seed) {
  const int ch = fi::channels_of(f);
  Frame fr;
  fr.bytes.assign(static_cast<size_t>(w * ch + pad) * h, 0xEE);
  std::mt19937 rng(seed);
  for (int y = 0; y < h; ++y)
    for (int i = 0; i < w * ch; ++i) fr.bytes[static_cast<size_t>(y) * (w * ch + pad) + i] = rng() & 0xFF;
  fr.img = {fr.bytes.data(), w, h, w * ch + pad, f};
  return fr;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const struct {
  int w, h;
  faceattr_pixel_format f;
  int pad;
} kFrames[] = {{640, 480, FACEATTR_PIXEL_RGBA, 0}, {1280, 720, FACEATTR_PIXEL_BGRA, 8},
               {160, 120, FACEATTR_PIXEL_RGB, 0},  {97, 131, FACEATTR_PIXEL_BGR, 3},
               {333, 250, FACEATTR_PIXEL_RGB, 1},  {40, 30, FACEATTR_PIXEL_RGBA, 0}};

}  // namespace

TEST_CASE("letterbox rows split over a thread pool: the same floats as one thread", "[preprocess][threads]") {
  faceattr::ThreadPool pool2(2), pool3(3);
  uint32_t seed = 1;
  for (const auto& fr : kFrames) {
    const Frame frame = make_frame(fr.w, fr.h, fr.f, fr.pad, seed++);
    for (float shrink : {1.0f, 2.0f, 3.5f}) {
      INFO(fr.w << "x" << fr.h << " format " << fr.f << " shrink " << shrink);
      const size_t n = 160 * 120 * 3;
      std::vector<float> one(n + 8, kGuard);
      fi::Letterbox g1;
      REQUIRE(fi::letterbox_normalize(frame.img, 160, 120, kMean, kStd, one.data(), &g1, shrink).is_ok());
      for (faceattr::ThreadPool* pool : {&pool2, &pool3}) {
        std::vector<float> many(n + 8, kGuard);
        fi::Letterbox g;
        REQUIRE(fi::letterbox_normalize(frame.img, 160, 120, kMean, kStd, many.data(), &g, shrink,
                                        fi::Resampler::Simd, pool)
                    .is_ok());
        CHECK(same_bits(one, many));  // content, letterbox zeros and the untouched guard past the end
        CHECK(g.content_w == g1.content_w);
        CHECK(g.content_h == g1.content_h);
      }
    }
  }
}

TEST_CASE("crop rows split over a thread pool: the same floats as one thread", "[preprocess][threads]") {
  faceattr::ThreadPool pool2(2), pool3(3);
  uint32_t seed = 11;
  for (const auto& fr : kFrames) {
    const Frame frame = make_frame(fr.w, fr.h, fr.f, fr.pad, seed++);
    const float w = static_cast<float>(fr.w), h = static_cast<float>(fr.h);
    // Inside, across the top-left and bottom-right edges, and a small box (enlarging).
    const fi::CropBox boxes[] = {{w * 0.2f + 0.5f, h * 0.1f + 0.25f, w * 0.5f, h * 0.7f},
                                 {-w * 0.1f, -h * 0.2f, w * 0.6f, h * 0.6f},
                                 {w * 0.7f, h * 0.6f, w * 0.5f, h * 0.5f},
                                 {w * 0.3f, h * 0.3f, 9.5f, 11.0f}};
    for (const fi::CropBox& box : boxes) {
      INFO(fr.w << "x" << fr.h << " format " << fr.f << " box " << box.x << "," << box.y << " " << box.w
                << "x" << box.h);
      const size_t n = 64 * 80 * 3;
      std::vector<float> one(n + 8, kGuard);
      REQUIRE(fi::crop_resize_normalize(frame.img, box, 64, 80, kMean, kStd, one.data()).is_ok());
      for (faceattr::ThreadPool* pool : {&pool2, &pool3}) {
        std::vector<float> many(n + 8, kGuard);
        REQUIRE(fi::crop_resize_normalize(frame.img, box, 64, 80, kMean, kStd, many.data(),
                                          fi::Resampler::Simd, pool)
                    .is_ok());
        CHECK(same_bits(one, many));
      }
    }
  }
}

TEST_CASE("a thread pool leaves small outputs and the reference resampler as they were",
          "[preprocess][threads]") {
  faceattr::ThreadPool pool2(2);
  const Frame frame = make_frame(200, 150, FACEATTR_PIXEL_RGB, 0, 5);
  // 7 rows (fewer than two threads' worth) and the reference resampler: one thread, same values.
  const fi::CropBox box{10.0f, 20.0f, 150.0f, 100.0f};
  for (fi::Resampler r : {fi::Resampler::Simd, fi::Resampler::Reference}) {
    for (int out_h : {1, 7, 16}) {
      std::vector<float> one(static_cast<size_t>(30) * out_h * 3 + 8, kGuard), many(one);
      REQUIRE(fi::crop_resize_normalize(frame.img, box, 30, out_h, kMean, kStd, one.data(), r).is_ok());
      REQUIRE(
          fi::crop_resize_normalize(frame.img, box, 30, out_h, kMean, kStd, many.data(), r, &pool2).is_ok());
      CHECK(same_bits(one, many));
    }
  }
  // Bad arguments are refused with a pool too.
  std::vector<float> dst(30 * 30 * 3);
  CHECK(fi::crop_resize_normalize(frame.img, {0, 0, 0, 10}, 30, 30, kMean, kStd, dst.data(),
                                  fi::Resampler::Simd, &pool2)
            .code() == FACEATTR_ERR_INVALID_ARGUMENT);
}
