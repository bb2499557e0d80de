// "Predictions allocate no memory": counts global operator new calls made on
// this thread during predict, explain and the staged pipeline's calls, for every
// available backend. (Allocations that
// bypass operator new, e.g. malloc inside XNNPACK, are not seen here.)
// AddressSanitizer supplies its own operator new/delete, which this file cannot
// replace consistently, so the test is built only without it (release preset).
#if !defined(__SANITIZE_ADDRESS__)
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <vector>

#include "api/session.h"
#include "faceattr/faceattr.h"
#include "image/preprocess.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"

namespace {
thread_local bool t_counting = false;
thread_local long t_news = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (t_counting) ++t_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (t_counting) ++t_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("predict allocates nothing after create", "[session]") {
  // The counter itself works.
  t_news = 0;
  t_counting = true;
  void* probe = ::operator new(16);
  t_counting = false;
  ::operator delete(probe);
  REQUIRE(t_news == 1);

  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    const auto model = faceattr::test::tiny_anet_bytes(spec);
    const auto pixels = faceattr::test::random_bytes(50 * 40 * 4, 9);
    const faceattr_image img{pixels.data(), 50, 40, 200, FACEATTR_PIXEL_BGRA};
    for (faceattr_backend b : {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK, FACEATTR_BACKEND_SIMD}) {
      if (!faceattr_backend_available(b)) continue;
      for (int threads : {1, 2}) {
        faceattr_session_params p = faceattr_session_default_params();
        p.backend = b;
        p.n_threads = threads;
        faceattr_session* s = nullptr;
        REQUIRE(faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s) == FACEATTR_OK);
        std::vector<float> probs(static_cast<size_t>(faceattr_session_n_attributes(s)));
        const faceattr_face* faces = nullptr;
        int32_t n = 0;
        const int32_t attrs[3] = {0, 2, 4};
        faceattr_explanation e[3];
        REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);  // warm-up
        t_news = 0;
        t_counting = true;
        bool ok = true;
        for (int i = 0; i < 5; ++i) {
          ok = ok && faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK;
          ok = ok && faceattr_session_explain(s, 0, attrs, 3, e) == FACEATTR_OK;
          ok = ok && faceattr_session_predict_crop(s, &img, probs.data()) == FACEATTR_OK;
        }
        t_counting = false;
        INFO("backend " << faceattr_backend_name(b) << ", " << threads << " threads, int8 " << int8);
        CHECK(ok);
        CHECK(t_news == 0);
        faceattr_session_free(s);
      }
    }
  }
}
TEST_CASE("predict with LNet allocates nothing after create", "[session][pipeline]") {
  // Two faces, one cut by the border (its ANet crop replicates edge pixels), then a face-free frame.
  const auto two = faceattr::test::red_boxes_frame(131, 77, {{10, 10, 30, 30}, {100, 40, 40, 40}});
  const auto none = faceattr::test::red_boxes_frame(131, 77, {});
  const faceattr_image img{two.data(), 131, 77, 131 * 3, FACEATTR_PIXEL_RGB};
  const faceattr_image empty{none.data(), 131, 77, 131 * 3, FACEATTR_PIXEL_RGB};
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec aspec;
    aspec.int8 = int8;
    const auto anet = faceattr::test::tiny_anet_bytes(aspec);
    for (int mode : {0, 1, 2}) {  // one pass; + the coarse pass and the size model; image pyramid
      const bool coarse = mode == 1;
      faceattr::test::TinyLnetSpec lspec;
      lspec.int8 = int8;
      if (coarse)
        lspec.metadata.insert(lspec.metadata.end(), {{"lnet.half_threshold", "0.9"},
                                                     {"lnet.size_bias", "2.8"},
                                                     {"lnet.size_w1", "0.05"},
                                                     {"lnet.size_w2", "-0.05"}});
      if (mode == 2)
        lspec.metadata.insert(
            lspec.metadata.end(),
            {{"lnet.pyramid_levels", "3"}, {"lnet.pyramid_factor", "1.5"}, {"lnet.pyramid_side", "24"}});
      const auto lnet = faceattr::test::tiny_lnet_bytes(lspec);
      for (faceattr_backend b :
           {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK, FACEATTR_BACKEND_SIMD}) {
        if (!faceattr_backend_available(b)) continue;
        for (int run = 0; run < 4; ++run) {
          const int threads = 1 + run % 2, views = 1 + run / 2;  // anet_views 2: a second ANet run per face
          faceattr_session_params p = faceattr_session_default_params();
          p.backend = b;
          p.n_threads = threads;
          p.min_face_size = 8;
          p.anet_views = views;
          faceattr_session* s = nullptr;
          REQUIRE(faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &s) ==
                  FACEATTR_OK);
          const faceattr_face* faces = nullptr;
          int32_t n = 0;
          REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);  // warm-up
          REQUIRE(n == 2);
          REQUIRE(s->pipeline.lnet_wants_coarse_pass() == coarse);
          REQUIRE(s->pipeline.lnet_passes() == (mode == 0 ? 1 : mode == 1 ? 2 : 3));
          faceattr_response_map map{};
          faceattr_timings t{};
          // The staged pipeline's buffers (caller-owned, sized here) and LNet maps with a face:
          // a 3x3 block of strong cells around a peak in every pass.
          faceattr_stage_info si{};
          REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
          faceattr_model_info lm{}, am{};
          REQUIRE(faceattr_model_get_info(faceattr_session_model(s, 1), &lm) == FACEATTR_OK);
          REQUIRE(faceattr_model_get_info(faceattr_session_model(s, 0), &am) == FACEATTR_OK);
          std::vector<float> lnet_in(static_cast<size_t>(lm.input_width) * lm.input_height * 3);
          std::vector<float> anet_in(static_cast<size_t>(am.input_width) * am.input_height * 3);
          std::vector<float> lnet_out(static_cast<size_t>(si.map_width) * si.map_height * si.map_channels,
                                      0.0f);
          for (int i = 2; i < 5; ++i)
            for (int j = 2; j < 5; ++j)
              lnet_out[(static_cast<size_t>(i) * si.map_width + j) * si.map_channels] =
                  i == 3 && j == 3 ? 0.99f : 0.8f;
          const float* maps[FACEATTR_MAX_LNET_PASSES];
          faceattr_letterbox lb[FACEATTR_MAX_LNET_PASSES];
          for (int k = 0; k < si.lnet_passes; ++k) maps[k] = lnet_out.data();
          std::vector<faceattr_face_crop> crops(static_cast<size_t>(si.face_slots));
          int faces_decoded = 0;
          const int32_t attrs[3] = {0, 2, 4};
          faceattr_explanation ex[3];
          t_news = 0;
          t_counting = true;
          bool ok = true;
          for (int i = 0; i < 5; ++i) {
            ok = ok && faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK && n == 2;
            for (int32_t f = 0; f < 2; ++f)
              ok = ok && faceattr_session_explain(s, f, attrs, 3, ex) == FACEATTR_OK;
            ok = ok && faceattr_session_response_map(s, &map) == FACEATTR_OK;
            ok = ok && faceattr_session_predict(s, &empty, &faces, &n) == FACEATTR_OK && n == 0;
            ok = ok && faceattr_session_last_timings(s, &t) == FACEATTR_OK;
            for (int k = 0; k < si.lnet_passes; ++k)
              ok = ok && faceattr_session_lnet_input(s, &img, k, lnet_in.data(), &lb[k]) == FACEATTR_OK;
            int32_t found = 0;
            ok = ok && faceattr_session_decode_faces(s, maps, lb, si.lnet_passes, crops.data(), &found) ==
                           FACEATTR_OK;
            faces_decoded += found;
            for (int32_t f = 0; f < found; ++f)
              ok = ok &&
                   faceattr_session_anet_input(s, &img, crops[static_cast<size_t>(f)].crop, anet_in.data()) ==
                       FACEATTR_OK &&
                   faceattr_session_anet_view_input(s, &img, crops[static_cast<size_t>(f)].crop, views - 1,
                                                    anet_in.data()) == FACEATTR_OK;
            ok = ok && faceattr_session_whole_image_crop(s, &img, &crops[0]) == FACEATTR_OK;
            faceattr_tensor_info ti{};
            faceattr_node_info ni{};
            ok = ok && faceattr_model_get_info(faceattr_session_model(s, 0), &am) == FACEATTR_OK;
            ok = ok && faceattr_model_get_tensor(faceattr_session_model(s, 0), 0, &ti) == FACEATTR_OK;
            ok = ok && faceattr_model_get_node(faceattr_session_model(s, 1), 0, &ni) == FACEATTR_OK;
          }
          t_counting = false;
          INFO("backend " << faceattr_backend_name(b) << ", " << threads << " threads, " << views
                          << " views, int8 " << int8 << ", coarse pass " << coarse << ", pyramid "
                          << (mode == 2));
          CHECK(ok);
          CHECK(t_news == 0);
          if (mode == 0) CHECK(faces_decoded == 5);
          faceattr_session_free(s);
        }
      }
    }
  }
}
TEST_CASE("tracking allocates nothing after the tracker's create", "[session][tracker]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec aspec;
    aspec.int8 = int8;
    const auto anet = faceattr::test::tiny_anet_bytes(aspec);
    faceattr::test::TinyLnetSpec lspec;
    lspec.int8 = int8;
    const auto lnet = faceattr::test::tiny_lnet_bytes(lspec);
    for (faceattr_backend b : {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK, FACEATTR_BACKEND_SIMD}) {
      if (!faceattr_backend_available(b)) continue;
      faceattr_session_params p = faceattr_session_default_params();
      p.backend = b;
      p.min_face_size = 8;
      faceattr_session* s = nullptr;
      REQUIRE(faceattr_session_create(anet.data(), anet.size(), lnet.data(), lnet.size(), &p, &s) ==
              FACEATTR_OK);
      faceattr_tracker_params tp = faceattr_tracker_default_params();
      tp.detect_interval = 3;
      faceattr_tracker* t = nullptr;
      REQUIRE(faceattr_tracker_create(s, &tp, &t) == FACEATTR_OK);
      // Frames made before counting: two faces moving, then none.
      std::vector<std::vector<uint8_t>> frames;
      for (int f = 0; f < 12; ++f)
        frames.push_back(faceattr::test::red_boxes_frame(
            200, 150,
            f < 10 ? std::vector<faceattr::test::RedBox>{{20 + 2 * f, 20, 30, 30}, {120, 80 - f, 40, 40}}
                   : std::vector<faceattr::test::RedBox>{}));
      const faceattr_track* tracks = nullptr;
      int32_t n = 0;
      faceattr_face faces[2]{};
      const float probs[6] = {0.1f, 0.2f, 0.3f, 0.6f, 0.7f, 0.8f};
      faceattr_tracker_stats st{};
      t_news = 0;
      t_counting = true;
      bool ok = true;
      int seen = 0;
      for (int round = 0; round < 2; ++round) {
        for (const auto& px : frames) {
          const faceattr_image img{px.data(), 200, 150, 200 * 3, FACEATTR_PIXEL_RGB};
          ok = ok && faceattr_tracker_track(t, &img, -1, &tracks, &n) == FACEATTR_OK;
          seen += n;
        }
        ok = ok && faceattr_tracker_reset(t) == FACEATTR_OK;
      }
      for (int f = 0; f < 5; ++f) {
        for (int k = 0; k < 2; ++k) {
          faces[k].box[0] = 10.0f + 50.0f * k + f, faces[k].box[1] = 10,
          faces[k].box[2] = faces[k].box[3] = 30;
          faces[k].score = 0.9f;
          faces[k].probs = probs;
        }
        ok = ok && faceattr_tracker_update(t, faces, 2, nullptr, 0, 33.0 * f, &tracks, &n) == FACEATTR_OK &&
             n == 2;
      }
      ok = ok && faceattr_tracker_get_stats(t, &st) == FACEATTR_OK;
      t_counting = false;
      INFO("backend " << faceattr_backend_name(b) << ", int8 " << int8);
      CHECK(ok);
      CHECK(t_news == 0);
      CHECK(seen == 2 * 20);
      faceattr_tracker_free(t);
      faceattr_session_free(s);
    }
  }
}
#endif  // !__SANITIZE_ADDRESS__
