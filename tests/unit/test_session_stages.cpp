// The C API's model description (faceattr_model_*) and staged pipeline
// (faceattr_session_lnet_input / _decode_faces / _whole_image_crop / _anet_input):
// the description matches the model as written, and the stages, with the networks
// run outside the session, reproduce faceattr_session_predict bit for bit.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "graph/network.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"
#include "unit/pipeline_fixtures.h"

namespace {

using faceattr::test::RedBox;

// The model file's op values (docs/model-format.md) and the names the C API gives them.
const char* const kOpNames[] = {"Conv2d", "FullyConnected", "MaxPool2d",  "AvgPool2d", "GlobalAvgPool", "Add",
                                "Concat", "Sigmoid",        "Activation", "Quantize",  "Dequantize"};
const char* const kActNames[] = {"none", "relu", "relu6", "leaky_relu"};

// A 20x24 ANet of 6 attributes (TinyModelSpec: input_w, input_h, n_attributes, channels, int8).
std::vector<uint8_t> tiny_anet(bool int8) {
  return faceattr::test::tiny_anet_bytes(faceattr::test::TinyModelSpec{20, 24, 6, 8, int8});
}

void check_description(const faceattr::modelfile::ModelDef& def, const faceattr_model* model) {
  faceattr_model_info m{};
  REQUIRE(faceattr_model_get_info(model, &m) == FACEATTR_OK);
  CHECK(m.kind == def.kind);
  CHECK(m.name == def.name);
  CHECK(m.description == def.description);
  CHECK(m.input_width == def.input_width);
  CHECK(m.input_height == def.input_height);
  for (int c = 0; c < 3; ++c) {
    CHECK(m.mean[c] == def.mean[static_cast<size_t>(c)]);
    CHECK(m.std[c] == def.std[static_cast<size_t>(c)]);
  }
  REQUIRE(m.n_attributes == static_cast<int32_t>(def.attribute_names.size()));
  for (int32_t a = 0; a < m.n_attributes; ++a) {
    CHECK(m.attribute_names[a] == def.attribute_names[static_cast<size_t>(a)]);
    CHECK(m.thresholds[a] == def.thresholds[static_cast<size_t>(a)]);
  }
  REQUIRE(m.n_metadata == static_cast<int32_t>(def.metadata.size()));
  for (int32_t i = 0; i < m.n_metadata; ++i) {
    CHECK(m.metadata_keys[i] == def.metadata[static_cast<size_t>(i)].first);
    CHECK(m.metadata_values[i] == def.metadata[static_cast<size_t>(i)].second);
  }
  REQUIRE(def.inputs.size() == 1);
  CHECK(m.input == def.inputs[0]);
  REQUIRE(m.n_outputs == static_cast<int32_t>(def.outputs.size()));
  for (int32_t i = 0; i < m.n_outputs; ++i) CHECK(m.outputs[i] == def.outputs[static_cast<size_t>(i)]);

  REQUIRE(m.n_tensors == static_cast<int32_t>(def.tensors.size()));
  for (int32_t i = 0; i < m.n_tensors; ++i) {
    const auto& want = def.tensors[static_cast<size_t>(i)];
    faceattr_tensor_info t{};
    REQUIRE(faceattr_model_get_tensor(model, i, &t) == FACEATTR_OK);
    INFO("tensor " << want.name);
    CHECK(t.name == want.name);
    CHECK(static_cast<int>(t.dtype) == static_cast<int>(want.dtype));
    CHECK(std::vector<int>(t.shape, t.shape + t.n_dims) == want.shape);
    CHECK(std::vector<float>(t.scales, t.scales + t.n_scales) == want.scales);
    CHECK(std::vector<int32_t>(t.zero_points, t.zero_points + t.n_scales) == want.zero_points);
    CHECK((t.constant != 0) == want.constant());
    if (want.constant()) {
      REQUIRE(t.data != nullptr);
      REQUIRE(t.data_size == want.data.size());
      CHECK(std::memcmp(t.data, want.data.data(), t.data_size) == 0);
      CHECK(reinterpret_cast<uintptr_t>(t.data) % 64 == 0);
    } else {
      CHECK(t.data == nullptr);
      CHECK(t.data_size == 0);
    }
  }
  REQUIRE(m.n_nodes == static_cast<int32_t>(def.nodes.size()));
  for (int32_t i = 0; i < m.n_nodes; ++i) {
    const auto& want = def.nodes[static_cast<size_t>(i)];
    faceattr_node_info n{};
    REQUIRE(faceattr_model_get_node(model, i, &n) == FACEATTR_OK);
    INFO("node " << want.name);
    CHECK(n.name == want.name);
    CHECK(std::string(n.op) == kOpNames[static_cast<int>(want.op)]);
    CHECK(std::vector<int>(n.inputs, n.inputs + n.n_inputs) == want.inputs);
    CHECK(n.output == want.output);
    CHECK(n.kernel_h == want.kernel_h);
    CHECK(n.kernel_w == want.kernel_w);
    CHECK(n.stride_h == want.stride_h);
    CHECK(n.stride_w == want.stride_w);
    CHECK(n.pad_top == want.pad_top);
    CHECK(n.pad_left == want.pad_left);
    CHECK(n.pad_bottom == want.pad_bottom);
    CHECK(n.pad_right == want.pad_right);
    CHECK(n.groups == want.groups);
    CHECK(std::string(n.activation) == kActNames[static_cast<int>(want.act)]);
    if (want.act == faceattr::modelfile::Act::LeakyRelu) CHECK(n.leaky_alpha == want.leaky_alpha);
  }
}

// A session's network run outside the session: the same model bytes and kernel family.
struct Net {
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  Net(const std::vector<uint8_t>& bytes, faceattr_backend b) {
    const auto family = b == FACEATTR_BACKEND_SIMD      ? faceattr::kernels::Family::Simd
                        : b == FACEATTR_BACKEND_XNNPACK ? faceattr::kernels::Family::Xnnpack
                                                        : faceattr::kernels::Family::Reference;
    REQUIRE(net.load(bytes.data(), bytes.size(), family, ctx).is_ok());
  }
  std::vector<float> run(const float* input) {
    std::memcpy(net.input_ptr(), input, net.input_elements() * sizeof(float));
    REQUIRE(net.run().is_ok());
    return std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements());
  }
};

struct StagedFace {
  faceattr_face_crop crop;
  std::vector<float> probs;
};

// The staged pipeline with both networks run by `anet` / `lnet` (null: not localising).
std::vector<StagedFace> run_stages(faceattr_session* s, const faceattr_image& img, Net& anet, Net* lnet) {
  faceattr_stage_info si{};
  REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
  REQUIRE(si.face_slots >= 1);
  CHECK((si.lnet_passes > 0) == (faceattr_session_has_localizer(s) != 0));
  std::vector<faceattr_face_crop> faces(static_cast<size_t>(si.face_slots));
  int32_t n = 0;
  if (si.lnet_passes > 0) {
    REQUIRE(lnet != nullptr);
    REQUIRE(si.lnet_passes <= FACEATTR_MAX_LNET_PASSES);
    faceattr_letterbox lb[FACEATTR_MAX_LNET_PASSES] = {};
    std::vector<std::vector<float>> maps;
    std::vector<float> input(lnet->net.input_elements());
    for (int32_t k = 0; k < si.lnet_passes; ++k) {
      REQUIRE(faceattr_session_lnet_input(s, &img, k, input.data(), &lb[k]) == FACEATTR_OK);
      maps.push_back(lnet->run(input.data()));
      REQUIRE(maps.back().size() == static_cast<size_t>(si.map_width) * si.map_height * si.map_channels);
    }
    std::vector<const float*> ptrs;
    for (const auto& m : maps) ptrs.push_back(m.data());
    REQUIRE(faceattr_session_decode_faces(s, ptrs.data(), lb, si.lnet_passes, faces.data(), &n) ==
            FACEATTR_OK);
  } else {
    REQUIRE(faceattr_session_whole_image_crop(s, &img, &faces[0]) == FACEATTR_OK);
    n = 1;
  }
  std::vector<StagedFace> out;
  std::vector<float> input(anet.net.input_elements());
  REQUIRE((si.anet_views == 1 || si.anet_views == 2));
  for (int32_t f = 0; f < n; ++f) {
    const float* crop = faces[static_cast<size_t>(f)].crop;
    REQUIRE(faceattr_session_anet_input(s, &img, crop, input.data()) == FACEATTR_OK);
    std::vector<float> probs = anet.run(input.data());
    if (si.anet_views == 2) {
      REQUIRE(faceattr_session_anet_view_input(s, &img, crop, 1, input.data()) == FACEATTR_OK);
      const std::vector<float> second = anet.run(input.data());
      REQUIRE(faceattr_combine_views(probs.data(), second.data(), static_cast<int32_t>(probs.size()),
                                     probs.data()) == FACEATTR_OK);
    }
    out.push_back({faces[static_cast<size_t>(f)], probs});
  }
  return out;
}

// predict and the staged pipeline on `img`: the same faces, boxes, scores and probabilities (exactly).
// `expected_faces` < 0: any number of faces but at least one.
void check_stages_equal_predict(faceattr_session* s, const faceattr_image& img, Net& anet, Net* lnet,
                                int expected_faces) {
  const std::vector<StagedFace> staged = run_stages(s, img, anet, lnet);
  const faceattr_face* faces = nullptr;
  int32_t n = -1;
  REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
  if (expected_faces >= 0) CHECK(n == expected_faces);
  CHECK(n >= (expected_faces < 0 ? 1 : 0));
  REQUIRE(staged.size() == static_cast<size_t>(n));
  const int32_t na = faceattr_session_n_attributes(s);
  for (int32_t f = 0; f < n; ++f) {
    const StagedFace& sf = staged[static_cast<size_t>(f)];
    for (int k = 0; k < 4; ++k) CHECK(sf.crop.box[k] == faces[f].box[k]);
    CHECK(sf.crop.score == faces[f].score);
    REQUIRE(sf.probs.size() == static_cast<size_t>(na));
    for (int32_t a = 0; a < na; ++a) {
      CHECK(sf.probs[static_cast<size_t>(a)] == faces[f].probs[a]);
      CHECK((sf.probs[static_cast<size_t>(a)] >= faceattr_session_attribute_threshold(s, a)) ==
            (faces[f].present[a] != 0));
    }
  }
}

faceattr_session* make(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet, faceattr_backend b,
                       int localize = 1, int views = 1) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = b;
  p.anet_views = views;
  p.max_faces = 8;
  p.min_face_size = 8;
  p.localize = localize;
  return faceattr::test::pipeline::make_with(anet, lnet, p);
}

const faceattr_backend kAllBackends[] = {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK,
                                         FACEATTR_BACKEND_SIMD};

}  // namespace

TEST_CASE("model description: header fields, tensors and nodes as written", "[session][api]") {
  for (bool int8 : {false, true}) {
    INFO("int8 " << int8);
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    const auto def = faceattr::test::make_tiny_anet(spec);
    const auto bytes = faceattr::modelfile::serialize(def);
    faceattr_model* m = nullptr;
    REQUIRE(faceattr_model_load(bytes.data(), bytes.size(), &m) == FACEATTR_OK);
    check_description(def, m);
    faceattr_model_free(m);

    // A session's own network describes the same.
    faceattr_session* s = make(bytes, {}, FACEATTR_BACKEND_REFERENCE);
    REQUIRE(faceattr_session_model(s, 0) != nullptr);
    check_description(def, faceattr_session_model(s, 0));
    CHECK(faceattr_session_model(s, 1) == nullptr);
    CHECK(faceattr_session_model(s, 2) == nullptr);
    faceattr_session_free(s);
  }
  SECTION("an LNet, loaded alone and as a session's") {
    faceattr::test::TinyLnetSpec spec;
    spec.int8 = true;
    spec.metadata.push_back({"lnet.threshold", "0.6"});
    const auto def = faceattr::test::make_tiny_lnet(spec);
    const auto bytes = faceattr::modelfile::serialize(def);
    faceattr::Model m = faceattr::Model::load(bytes.data(), bytes.size());
    check_description(def, m.get());
    const auto anet = tiny_anet(false);
    faceattr::Session s =
        faceattr::Session::create(anet.data(), anet.size(), nullptr, bytes.data(), bytes.size());
    check_description(def, s.model(1).get());
    CHECK(std::string(s.model(1).info().kind) == "lnet");
  }
  SECTION("errors: not a model, null arguments, indices out of range") {
    static const unsigned char junk[100] = {'n', 'o', 't'};
    faceattr_model* m = reinterpret_cast<faceattr_model*>(&m);
    CHECK(faceattr_model_load(junk, sizeof junk, &m) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(m == nullptr);
    CHECK(std::string(faceattr_last_error()).size() > 0);
    CHECK(faceattr_model_load(nullptr, 0, &m) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_model_load(junk, sizeof junk, nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK_THROWS_AS(faceattr::Model::load(junk, sizeof junk), faceattr::Error);

    const auto bytes = tiny_anet(false);
    REQUIRE(faceattr_model_load(bytes.data(), bytes.size(), &m) == FACEATTR_OK);
    faceattr_model_info info{};
    REQUIRE(faceattr_model_get_info(m, &info) == FACEATTR_OK);
    faceattr_tensor_info t{};
    faceattr_node_info n{};
    CHECK(faceattr_model_get_tensor(m, info.n_tensors, &t) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_model_get_tensor(m, -1, &t) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_model_get_node(m, info.n_nodes, &n) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(std::string(faceattr_last_error()).find("out of range") != std::string::npos);
    CHECK(faceattr_model_get_info(nullptr, &info) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_model_get_info(m, nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);
    faceattr_model_free(m);
    faceattr_model_free(nullptr);
    CHECK(faceattr_session_model(nullptr, 0) == nullptr);
  }
}

TEST_CASE("staged pipeline: the stages plus the networks reproduce predict exactly", "[session][pipeline]") {
  // 128x96 frames (LNet 64x48: scale 0.5): two red squares, none, and the same
  // two as BGRA rows with padding.
  const int w = 128, h = 96;
  const std::vector<uint8_t> two =
      faceattr::test::red_boxes_frame(w, h, {{16, 16, 24, 24}, {80, 40, 32, 32}});
  const std::vector<uint8_t> none = faceattr::test::red_boxes_frame(w, h, {});
  const int stride = w * 4 + 12;
  std::vector<uint8_t> bgra(static_cast<size_t>(stride) * h, 7);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = &two[(static_cast<size_t>(y) * w + x) * 3];
      uint8_t* q = &bgra[static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4];
      q[0] = p[2], q[1] = p[1], q[2] = p[0], q[3] = 255;
    }
  const faceattr_image img_two{two.data(), w, h, w * 3, FACEATTR_PIXEL_RGB};
  const faceattr_image img_none{none.data(), w, h, w * 3, FACEATTR_PIXEL_RGB};
  const faceattr_image img_bgra{bgra.data(), w, h, stride, FACEATTR_PIXEL_BGRA};

  struct Lnet {
    const char* what;
    std::vector<uint8_t> bytes;
    int passes;
    int faces;  // on the frame of two squares; -1: some (the pyramid also reports parts of a square)
  };
  std::vector<Lnet> lnets;
  for (bool int8 : {false, true}) {
    faceattr::test::TinyLnetSpec spec;
    spec.int8 = int8;
    lnets.push_back({int8 ? "one pass, int8" : "one pass, f32", faceattr::test::tiny_lnet_bytes(spec), 1, 2});
  }
  {
    faceattr::test::TinyLnetSpec spec;
    spec.metadata = {{"lnet.half_threshold", "0.6"}};
    lnets.push_back({"coarse pass", faceattr::test::tiny_lnet_bytes(spec), 2, 2});
    spec.metadata = {{"lnet.threshold", "0.99"},
                     {"lnet.pyramid_levels", "3"},
                     {"lnet.pyramid_factor", "2"},
                     {"lnet.pyramid_side", "10"}};
    lnets.push_back({"image pyramid", faceattr::test::tiny_lnet_bytes(spec), 3, -1});
  }
  lnets.push_back(
      {"dense box map", faceattr::test::tiny_dense_lnet_bytes(faceattr::test::TinyDenseLnetSpec{}), 1, -1});

  for (bool int8 : {false, true}) {
    const auto anet_bytes = tiny_anet(int8);
    for (faceattr_backend b : kAllBackends) {
      if (!faceattr_backend_available(b)) continue;
      Net anet(anet_bytes, b);
      for (const Lnet& l : lnets) {
        INFO("ANet int8 " << int8 << ", backend " << faceattr_backend_name(b) << ", LNet " << l.what);
        faceattr_session* s = make(anet_bytes, l.bytes, b);
        faceattr_stage_info si{};
        REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
        CHECK(si.lnet_passes == l.passes);
        CHECK(si.face_slots == 8);
        Net lnet(l.bytes, b);
        check_stages_equal_predict(s, img_two, anet, &lnet, l.faces);
        check_stages_equal_predict(s, img_none, anet, &lnet, 0);
        check_stages_equal_predict(s, img_bgra, anet, &lnet, l.faces);
        faceattr_session_free(s);

        // Two ANet views per face.
        s = make(anet_bytes, l.bytes, b, 1, 2);
        REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
        CHECK(si.anet_views == 2);
        check_stages_equal_predict(s, img_two, anet, &lnet, l.faces);
        check_stages_equal_predict(s, img_bgra, anet, &lnet, l.faces);
        faceattr_session_free(s);

        // localize = 0 with the LNet: whole-image mode, no LNet stages.
        s = make(anet_bytes, l.bytes, b, 0);
        REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
        CHECK(si.lnet_passes == 0);
        CHECK(si.face_slots == 1);
        check_stages_equal_predict(s, img_two, anet, nullptr, 1);
        faceattr_session_free(s);
      }
      // No LNet at all.
      faceattr_session* s = make(anet_bytes, {}, b);
      check_stages_equal_predict(s, img_bgra, anet, nullptr, 1);
      faceattr_session_free(s);
      s = make(anet_bytes, {}, b, 1, 2);
      check_stages_equal_predict(s, img_bgra, anet, nullptr, 1);
      faceattr_session_free(s);
    }
  }
}

TEST_CASE("staged pipeline: geometry, whole-image crop and errors", "[session][pipeline]") {
  const auto anet = tiny_anet(false);
  const auto lnet = faceattr::test::tiny_lnet_bytes(faceattr::test::TinyLnetSpec{});  // 64x48, cells of 4
  const std::vector<uint8_t> px = faceattr::test::red_boxes_frame(128, 96, {{16, 16, 24, 24}});
  const faceattr_image img{px.data(), 128, 96, 128 * 3, FACEATTR_PIXEL_RGB};
  faceattr_session* s = make(anet, lnet, FACEATTR_BACKEND_REFERENCE);

  faceattr_stage_info si{};
  REQUIRE(faceattr_session_stage_info(s, &si) == FACEATTR_OK);
  CHECK(si.lnet_passes == 1);
  CHECK(si.map_width == 16);
  CHECK(si.map_height == 12);
  CHECK(si.map_channels == 1);
  CHECK(si.cell_width == 4.0f);
  CHECK(si.cell_height == 4.0f);

  std::vector<float> lin(64 * 48 * 3), ain(20 * 24 * 3);
  faceattr_letterbox lb{};
  REQUIRE(faceattr_session_lnet_input(s, &img, 0, lin.data(), &lb) == FACEATTR_OK);
  CHECK(lb.content_width == 64);
  CHECK(lb.content_height == 48);
  CHECK(lb.scale_x == 0.5f);
  CHECK(lb.scale_y == 0.5f);
  // The response map of predict reports a cell as cell_width / scale_x frame pixels.
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
  faceattr_response_map map{};
  REQUIRE(faceattr_session_response_map(s, &map) == FACEATTR_OK);
  CHECK(map.cell_width == si.cell_width / lb.scale_x);
  CHECK(map.cell_height == si.cell_height / lb.scale_y);

  faceattr_face_crop whole{};
  REQUIRE(faceattr_session_whole_image_crop(s, &img, &whole) == FACEATTR_OK);
  // ANet is 20x24 (aspect 5:6): the 128x96 frame's centre crop is 80x96.
  CHECK(whole.box[0] == 24.0f);
  CHECK(whole.box[1] == 0.0f);
  CHECK(whole.box[2] == 80.0f);
  CHECK(whole.box[3] == 96.0f);
  CHECK(whole.score == 1.0f);
  CHECK(std::memcmp(whole.box, whole.crop, sizeof whole.box) == 0);

  SECTION("bad arguments") {
    faceattr_face_crop out[8];
    CHECK(faceattr_session_lnet_input(s, &img, 1, lin.data(), &lb) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_lnet_input(s, &img, -1, lin.data(), &lb) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_lnet_input(s, nullptr, 0, lin.data(), &lb) == FACEATTR_ERR_INVALID_ARGUMENT);
    const faceattr_image bad{px.data(), 0, 96, 0, FACEATTR_PIXEL_RGB};
    CHECK(faceattr_session_lnet_input(s, &bad, 0, lin.data(), &lb) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_anet_input(s, &bad, whole.crop, ain.data()) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_whole_image_crop(s, &bad, &whole) == FACEATTR_ERR_INVALID_ARGUMENT);
    const float empty_crop[4] = {0, 0, 0, 10};
    CHECK(faceattr_session_anet_input(s, &img, empty_crop, ain.data()) == FACEATTR_ERR_INVALID_ARGUMENT);

    const std::vector<float> map_data(16 * 12, 0.0f);
    const float* maps[1] = {map_data.data()};
    int32_t count = -1;
    CHECK(faceattr_session_decode_faces(s, maps, &lb, 2, out, &count) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK(faceattr_session_decode_faces(s, maps, &lb, 0, out, &count) == FACEATTR_ERR_INVALID_ARGUMENT);
    const faceattr_letterbox zero{};
    CHECK(faceattr_session_decode_faces(s, maps, &zero, 1, out, &count) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(std::string(faceattr_last_error()).find("letterbox") != std::string::npos);
    REQUIRE(faceattr_session_decode_faces(s, maps, &lb, 1, out, &count) == FACEATTR_OK);
    CHECK(count == 0);  // an all-zero map: no face
    CHECK(faceattr_session_stage_info(nullptr, &si) == FACEATTR_ERR_INVALID_ARGUMENT);
  }
  SECTION("a session that does not localise refuses the LNet stages") {
    for (int variant = 0; variant < 2; ++variant) {
      faceattr_session* w = variant == 0 ? make(anet, {}, FACEATTR_BACKEND_REFERENCE)
                                         : make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 0);
      CHECK(faceattr_session_lnet_input(w, &img, 0, lin.data(), &lb) == FACEATTR_ERR_UNSUPPORTED);
      CHECK(std::string(faceattr_last_error()).find(variant == 0 ? "no LNet" : "localize = 0") !=
            std::string::npos);
      const float* maps[1] = {lin.data()};
      int32_t count = -1;
      CHECK(faceattr_session_decode_faces(w, maps, &lb, 1, nullptr, &count) == FACEATTR_ERR_UNSUPPORTED);
      CHECK(faceattr_session_whole_image_crop(w, &img, &whole) == FACEATTR_OK);
      CHECK(faceattr_session_anet_input(w, &img, whole.crop, ain.data()) == FACEATTR_OK);
      faceattr_session_free(w);
    }
  }
  SECTION("the C++ wrapper") {
    faceattr::Session cs(s);
    s = nullptr;
    faceattr_stage_info info{};
    REQUIRE(cs.try_stage_info(&info) == FACEATTR_OK);
    CHECK(info.lnet_passes == 1);
    REQUIRE(cs.try_lnet_input(img, 0, lin.data(), &lb) == FACEATTR_OK);
    Net net(lnet, FACEATTR_BACKEND_REFERENCE);
    const std::vector<float> response = net.run(lin.data());
    const float* maps[1] = {response.data()};
    faceattr_face_crop out[8];
    int32_t count = 0;
    REQUIRE(cs.try_decode_faces(maps, &lb, 1, out, &count) == FACEATTR_OK);
    REQUIRE(count == 1);
    CHECK(out[0].box[0] == Approx(16.0f).margin(1.0f));
    REQUIRE(cs.try_anet_input(img, out[0].crop, ain.data()) == FACEATTR_OK);
    REQUIRE(cs.try_whole_image_crop(img, &whole) == FACEATTR_OK);
    CHECK(whole.box[2] == 80.0f);
    CHECK(std::string(cs.model(0).info().kind) == "anet");
    CHECK(std::string(cs.model(1).info().kind) == "lnet");
    CHECK(!cs.model(2));
  }
  faceattr_session_free(s);
}

TEST_CASE("two ANet views: the second is the shrunk crop mirrored, combined in log-odds",
          "[session][pipeline]") {
  const auto anet = tiny_anet(false);
  const auto lnet = faceattr::test::tiny_lnet_bytes(faceattr::test::TinyLnetSpec{});
  // A frame that is not left-right symmetric: a red square and a gradient.
  const int w = 128, h = 96;
  std::vector<uint8_t> px = faceattr::test::red_boxes_frame(w, h, {{16, 16, 24, 24}});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) px[(static_cast<size_t>(y) * w + x) * 3 + 1] = static_cast<uint8_t>(2 * x);
  const faceattr_image img{px.data(), w, h, w * 3, FACEATTR_PIXEL_RGB};

  SECTION("params.anet_views other than 1 or 2 is refused") {
    for (int bad : {0, 3, -1}) {
      faceattr_session_params p = faceattr_session_default_params();
      p.anet_views = bad;
      faceattr_session* s = nullptr;
      CHECK(faceattr_session_create(anet.data(), anet.size(), nullptr, 0, &p, &s) ==
            FACEATTR_ERR_INVALID_ARGUMENT);
      CHECK(s == nullptr);
      CHECK(std::string(faceattr_last_error()).find("anet_views") != std::string::npos);
    }
  }

  faceattr_session* one = make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 1, 1);
  faceattr_session* two = make(anet, lnet, FACEATTR_BACKEND_REFERENCE, 1, 2);
  const float crop[4] = {10.5f, 6.0f, 40.0f, 48.0f};
  const size_t elems = 20 * 24 * 3;
  std::vector<float> v0(elems), v1(elems), want(elems);

  SECTION("view 1 is anet_input of the crop shrunk about its centre, mirrored") {
    REQUIRE(faceattr_session_anet_view_input(two, &img, crop, 0, v0.data()) == FACEATTR_OK);
    REQUIRE(faceattr_session_anet_input(two, &img, crop, want.data()) == FACEATTR_OK);
    CHECK(v0 == want);
    REQUIRE(faceattr_session_anet_view_input(two, &img, crop, 1, v1.data()) == FACEATTR_OK);
    const float k = FACEATTR_SECOND_VIEW_SCALE;
    const float inner[4] = {crop[0] + crop[2] * (1 - k) / 2, crop[1] + crop[3] * (1 - k) / 2, crop[2] * k,
                            crop[3] * k};
    REQUIRE(faceattr_session_anet_input(two, &img, inner, want.data()) == FACEATTR_OK);
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 20; ++x)
        for (int c = 0; c < 3; ++c) {
          INFO("y " << y << " x " << x << " c " << c);
          REQUIRE(v1[static_cast<size_t>((y * 20 + x) * 3 + c)] ==
                  want[static_cast<size_t>((y * 20 + 19 - x) * 3 + c)]);
        }
    CHECK(v1 != v0);
  }
  SECTION("a view outside [0, anet_views) is refused") {
    CHECK(faceattr_session_anet_view_input(one, &img, crop, 1, v1.data()) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(std::string(faceattr_last_error()).find("anet_views") != std::string::npos);
    CHECK(faceattr_session_anet_view_input(two, &img, crop, 2, v1.data()) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_anet_view_input(two, &img, crop, -1, v1.data()) == FACEATTR_ERR_INVALID_ARGUMENT);
    CHECK(faceattr_session_anet_view_input(two, nullptr, crop, 0, v1.data()) ==
          FACEATTR_ERR_INVALID_ARGUMENT);
    REQUIRE(faceattr_session_anet_view_input(one, &img, crop, 0, v0.data()) == FACEATTR_OK);
  }
  SECTION("faceattr_combine_views is the sigmoid of the mean log-odds") {
    const float a[5] = {0.9f, 0.1f, 0.5f, 0.0f, 1.0f}, b[5] = {0.6f, 0.3f, 0.5f, 0.0f, 0.0f};
    float out[5];
    REQUIRE(faceattr_combine_views(a, b, 5, out) == FACEATTR_OK);
    for (int i = 0; i < 3; ++i) {
      const double la = std::log(a[i] / (1.0 - a[i])), lb = std::log(b[i] / (1.0 - b[i]));
      CHECK(out[i] == Approx(1.0 / (1.0 + std::exp(-(la + lb) / 2))).margin(1e-6));
    }
    CHECK(out[3] == Approx(std::ldexp(1.0, -20)).margin(1e-9));  // clamped, never NaN
    CHECK(out[4] == 0.5f);                                       // certain and certainly not: undecided
    // out may alias an input.
    float c[5] = {0.9f, 0.1f, 0.5f, 0.0f, 1.0f};
    REQUIRE(faceattr_combine_views(c, b, 5, c) == FACEATTR_OK);
    for (int i = 0; i < 5; ++i) CHECK(c[i] == out[i]);
    CHECK(faceattr_combine_views(a, b, -1, out) == FACEATTR_ERR_INVALID_ARGUMENT);
  }
  SECTION("predict and predict_crop report the combined views; explain describes the first") {
    Net net(anet, FACEATTR_BACKEND_REFERENCE);
    faceattr_face_crop whole{};
    REQUIRE(faceattr_session_whole_image_crop(two, &img, &whole) == FACEATTR_OK);
    REQUIRE(faceattr_session_anet_view_input(two, &img, whole.crop, 0, v0.data()) == FACEATTR_OK);
    REQUIRE(faceattr_session_anet_view_input(two, &img, whole.crop, 1, v1.data()) == FACEATTR_OK);
    const std::vector<float> p0 = net.run(v0.data()), p1 = net.run(v1.data());
    std::vector<float> both(p0.size());
    REQUIRE(faceattr_combine_views(p0.data(), p1.data(), static_cast<int32_t>(p0.size()), both.data()) ==
            FACEATTR_OK);
    CHECK(both != p0);
    std::vector<float> got(p0.size()), got_one(p0.size());
    REQUIRE(faceattr_session_predict_crop(two, &img, got.data()) == FACEATTR_OK);
    CHECK(got == both);
    REQUIRE(faceattr_session_predict_crop(one, &img, got_one.data()) == FACEATTR_OK);
    CHECK(got_one == p0);

    faceattr_session* whole_two = make(anet, {}, FACEATTR_BACKEND_REFERENCE, 1, 2);
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    REQUIRE(faceattr_session_predict(whole_two, &img, &faces, &n) == FACEATTR_OK);
    REQUIRE(n == 1);
    for (size_t a = 0; a < both.size(); ++a) CHECK(faces[0].probs[a] == both[a]);
    const int32_t attrs[1] = {0};
    faceattr_explanation e{};
    REQUIRE(faceattr_session_explain(whole_two, 0, attrs, 1, &e) == FACEATTR_OK);
    CHECK(e.probability == both[0]);
    // The map, bias and logit are the first view's: its logit, not the combined one.
    CHECK(1.0 / (1.0 + std::exp(-static_cast<double>(e.logit))) == Approx(p0[0]).margin(1e-5));
    faceattr_session_free(whole_two);
  }
  SECTION("the C++ wrapper") {
    faceattr::Session cs(two);
    two = nullptr;
    REQUIRE(cs.try_anet_view_input(img, crop, 1, v1.data()) == FACEATTR_OK);
    REQUIRE(faceattr_session_anet_view_input(cs.get(), &img, crop, 1, v0.data()) == FACEATTR_OK);
    CHECK(v0 == v1);
  }
  faceattr_session_free(one);
  faceattr_session_free(two);
}
