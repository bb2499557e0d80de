// The pipeline's failures through the C API: LNet models it refuses, and the abort
// callback stopping either network (fixtures: pipeline_fixtures.h).
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "pipeline_fixtures.h"
#include "support/tiny_lnet.h"

using namespace faceattr::test::pipeline;

TEST_CASE("pipeline: malformed or misplaced LNet models are refused with a message", "[pipeline]") {
  const auto anet = tiny_anet();
  const faceattr_session_params p = faceattr_session_default_params();
  auto refused = [&](const std::vector<uint8_t>& a, const std::vector<uint8_t>& l, faceattr_status want,
                     const char* needle) {
    faceattr_session* s = reinterpret_cast<faceattr_session*>(&s);
    const faceattr_status st = create(a, l, p, &s);
    INFO(faceattr_last_error());
    CHECK(st == want);
    CHECK(s == nullptr);
    CHECK(std::string(faceattr_last_error()).find(needle) != std::string::npos);
  };
  TinyLnetSpec spec;
  spec.out_channels = 2;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,1]");
  // Output channels must match the metadata: 5 for a dense box map (lnet.dense = 1), else 1.
  spec.out_channels = 5;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,1]");
  faceattr::test::TinyDenseLnetSpec dense;
  dense.channels = 1;
  refused(anet, faceattr::test::tiny_dense_lnet_bytes(dense), FACEATTR_ERR_MODEL_FORMAT, "[1,map_h,map_w,5]");
  dense.channels = 4;
  refused(anet, faceattr::test::tiny_dense_lnet_bytes(dense), FACEATTR_ERR_MODEL_FORMAT, "lnet.dense = 1");
  spec = {};
  spec.two_outputs = true;
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "exactly one output");
  spec = {};
  spec.input_w = 66;  // map 16 wide: 66 is not a multiple
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "not a multiple");
  spec = {};
  spec.metadata = {{"lnet.threshold", "abc"}};
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "lnet.threshold");
  spec.metadata = {{"lnet.nms_iou", "1.5"}};
  refused(anet, faceattr::test::tiny_lnet_bytes(spec), FACEATTR_ERR_MODEL_FORMAT, "lnet.nms_iou");
  auto corrupt = faceattr::test::tiny_lnet_bytes({});
  corrupt[corrupt.size() - 3] ^= 0x40;
  refused(anet, corrupt, FACEATTR_ERR_MODEL_FORMAT, "LNet model: ");
  auto truncated = faceattr::test::tiny_lnet_bytes({});
  truncated.resize(truncated.size() / 2);
  refused(anet, truncated, FACEATTR_ERR_MODEL_FORMAT, "LNet");
  // Wrong model in the wrong slot.
  refused(anet, anet, FACEATTR_ERR_INVALID_ARGUMENT, "LNet slot");
  refused(faceattr::test::tiny_lnet_bytes({}), faceattr::test::tiny_lnet_bytes({}),
          FACEATTR_ERR_INVALID_ARGUMENT, "ANet slot");
  // Decoder metadata in range is accepted.
  spec = {};
  spec.metadata = {{"lnet.threshold", "0.6"}, {"lnet.box_scale", "1.25"}, {"lnet.nms_iou", "0.4"}};
  faceattr_session* s = nullptr;
  CHECK(create(anet, faceattr::test::tiny_lnet_bytes(spec), p, &s) == FACEATTR_OK);
  faceattr_session_free(s);
}

TEST_CASE("pipeline: the abort callback stops either network and the session recovers", "[pipeline]") {
  struct Abort {
    int calls = 0;
    int abort_at = 0;  // 0: never
  } ab;
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.abort_callback = [](void* u) {
    auto* a = static_cast<Abort*>(u);
    return ++a->calls == a->abort_at ? 1 : 0;
  };
  p.abort_user_data = &ab;
  const auto anet = tiny_anet();
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  faceattr_session* s = nullptr;
  REQUIRE(create(anet, lnet, p, &s) == FACEATTR_OK);
  const Frame f = red_frame(128, 96, {{8, 8, 32, 32}, {72, 40, 48, 48}});
  const Result want = predict(s, f.view());
  REQUIRE(want.faces.size() == 2);
  const int polls = ab.calls;  // LNet's nodes, then ANet's per face
  REQUIRE(polls > 4);
  for (int k = 1; k <= polls; ++k) {
    INFO("abort at poll " << k << " of " << polls);
    ab.calls = 0;
    ab.abort_at = k;
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    const faceattr_image v = f.view();
    CHECK(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_ERR_CANCELLED);
    CHECK(n == 0);
    CHECK(std::strlen(faceattr_last_error()) > 0);
    ab.abort_at = 0;
    const Result again = predict(s, f.view());
    REQUIRE(again.faces.size() == 2);
    CHECK(again.probs == want.probs);
  }
  faceattr_session_free(s);
}
