// faceattr_session_explain: class-activation maps of the last predict. The map's
// mean plus the bias is the logit (exactly for f32, within the output's
// quantisation step for int8), on the shipped ANets and random tiny ones, for
// every face of a localising predict; the maps sit on each face's own crop.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "graph/network.h"
#include "pipeline/face_pipeline.h"
#include "support/tiny_lnet.h"
#include "support/tiny_models.h"
#include "unit/pipeline_fixtures.h"

namespace {

using faceattr::test::RedBox;

std::vector<uint8_t> read_model(const char* name) {
  std::ifstream f(std::string(FACEATTR_SOURCE_DIR) + "/models/" + name, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Noisy grey frame with noisy red rectangles: the tiny LNet's faces, each a different ANet input.
std::vector<uint8_t> noisy_red_frame(int w, int h, const std::vector<RedBox>& boxes, uint32_t seed) {
  const auto noise = faceattr::test::random_bytes(static_cast<size_t>(w) * h * 3, seed);
  std::vector<uint8_t> px(noise.size());
  for (size_t i = 0; i < px.size(); i += 3) {
    px[i] = static_cast<uint8_t>(118 + noise[i] % 20);
    px[i + 1] = static_cast<uint8_t>(118 + noise[i + 1] % 20);
    px[i + 2] = noise[i + 2];
  }
  for (const RedBox& b : boxes)
    for (int y = b.y; y < b.y + b.h; ++y)
      for (int x = b.x; x < b.x + b.w; ++x) {
        const size_t i = (static_cast<size_t>(y) * w + x) * 3;
        px[i] = static_cast<uint8_t>(200 + noise[i] % 56);
        px[i + 1] = static_cast<uint8_t>(noise[i + 1] % 40);
      }
  return px;
}

faceattr_session* make(const std::vector<uint8_t>& anet, const std::vector<uint8_t>& lnet,
                       faceattr_backend backend = FACEATTR_BACKEND_AUTO) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = backend;
  p.max_faces = 4;
  p.min_face_size = 8;
  return faceattr::test::pipeline::make_with(anet, lnet, p);
}

// The quantisation step of the FC output (0 for f32).
float logit_step(const faceattr_session* s) {
  const faceattr::Model m = faceattr::Model::view(faceattr_session_model(s, 0));
  for (int32_t i = 0; i < m.info().n_nodes; ++i) {
    const faceattr_node_info n = m.node(i);
    if (std::strcmp(n.op, "FullyConnected") != 0) continue;
    const faceattr_tensor_info t = m.tensor(n.output);
    return t.n_scales > 0 ? t.scales[0] : 0.0f;
  }
  return 0.0f;
}

// Checks every attribute of face `f`: mean(map) + bias against the logit, the
// probability, the peak and the geometry. Returns the explanations.
std::vector<faceattr_explanation> check_face(faceattr_session* s, const faceattr_face& face, int32_t f) {
  const int32_t na = faceattr_session_n_attributes(s);
  std::vector<int32_t> attrs(static_cast<size_t>(na));
  for (int32_t a = 0; a < na; ++a) attrs[static_cast<size_t>(a)] = a;
  std::vector<faceattr_explanation> e(attrs.size());
  const faceattr_status st = faceattr_session_explain(s, f, attrs.data(), na, e.data());
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  const float step = logit_step(s);
  for (int32_t a = 0; a < na; ++a) {
    const faceattr_explanation& x = e[static_cast<size_t>(a)];
    INFO("face " << f << ", attribute " << a << ", step " << step);
    CHECK(x.attribute == a);
    REQUIRE(x.width > 0);
    REQUIRE(x.height > 0);
    double sum = 0;
    for (int32_t i = 0; i < x.width * x.height; ++i) sum += x.map[i];
    const double pre = sum / (x.width * x.height) + x.bias;
    if (step == 0.0f) {
      CHECK(std::fabs(pre - x.logit) <= 1e-5);
    } else {
      // Half a step of requantisation; a saturated output may be further off, only outward.
      const bool saturated = std::fabs(x.logit) > 10.0f;
      if (!saturated) CHECK(std::fabs(pre - x.logit) <= 0.5 * step + 1e-5);
    }
    CHECK(x.probability == face.probs[a]);
    CHECK(std::fabs(1.0 / (1.0 + std::exp(-static_cast<double>(x.logit))) - x.probability) < 1e-5);
    // Peak: inside the map's box, at the arg-max cell (within half a cell of its centre).
    CHECK(x.peak[0] >= x.box[0]);
    CHECK(x.peak[0] <= x.box[0] + x.box[2]);
    CHECK(x.peak[1] >= x.box[1]);
    CHECK(x.peak[1] <= x.box[1] + x.box[3]);
    const float cx = x.box[0] + (x.peak_cell[0] + 0.5f) * x.cell_width;
    const float cy = x.box[1] + (x.peak_cell[1] + 0.5f) * x.cell_height;
    CHECK(std::fabs(x.peak[0] - cx) <= 0.5f * x.cell_width + 1e-3f);
    CHECK(std::fabs(x.peak[1] - cy) <= 0.5f * x.cell_height + 1e-3f);
    // The arg-max of contrast * (map - average_map) (the shipped ANets have average maps
    // with and without each attribute: contrast -1 exactly for the attributes judged
    // absent), else of map.
    if (x.average_map) {
      CHECK((x.contrast == 1 || x.contrast == -1));
      if (x.contrast == -1) CHECK(face.present[a] == 0);
    } else {
      CHECK(x.contrast == 0);
    }
    const int cells = x.width * x.height, at = x.peak_cell[1] * x.width + x.peak_cell[0];
    const auto rel = [&](int i) {
      return x.average_map ? static_cast<float>(x.contrast) * (x.map[i] - x.average_map[i]) : x.map[i];
    };
    for (int i = 0; i < cells; ++i) CHECK(rel(i) <= rel(at));
    CHECK(x.map[at] == x.peak_value);
    CHECK(x.box[2] == Approx(x.cell_width * x.width));
    CHECK(x.box[3] == Approx(x.cell_height * x.height));
    // Concept terms when the model has concept heads (the shipped ANets: tested below).
    CHECK(x.n_concepts >= 0);
    CHECK((x.n_concepts == 0) == (x.concepts == nullptr));
  }
  return e;
}

}  // namespace

TEST_CASE("explain: mean(map) + bias is the logit on the shipped ANets, every face", "[explain]") {
  const auto lnet = faceattr::test::tiny_lnet_bytes({});
  const RedBox a{8, 8, 40, 40}, b{84, 36, 40, 40};
  for (const char* name : {"anet-fp32.fam", "anet-int8.fam"}) {
    const auto anet = read_model(name);
    faceattr_session* s = make(anet, lnet);
    for (uint32_t seed : {1u, 2u, 3u}) {
      const auto px = noisy_red_frame(128, 96, {a, b}, seed);
      const faceattr_image img{px.data(), 128, 96, 128 * 3, FACEATTR_PIXEL_RGB};
      const faceattr_face* faces = nullptr;
      int32_t n = 0;
      REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
      REQUIRE(n == 2);
      INFO(name << ", seed " << seed);
      const auto e0 = check_face(s, faces[0], 0);
      const auto e1 = check_face(s, faces[1], 1);
      // Each face's map lies on its own crop: the ANet crop of its box (the tiny LNet has no
      // lnet.crop_* keys: the box centre-cropped to ANet's aspect), shifted by the receptive
      // field offset of the shipped ANet (4 stride-2 3x3 convs, padding 1: 7.5 input pixels).
      for (int f = 0; f < 2; ++f) {
        const faceattr_explanation& x = (f == 0 ? e0 : e1)[31];
        const faceattr::image::CropBox box{faces[f].box[0], faces[f].box[1], faces[f].box[2],
                                           faces[f].box[3]};
        const faceattr::image::CropBox crop = faceattr::pipeline::centre_crop_of(box, 64.0f / 80.0f);
        CHECK(x.crop[0] == Approx(crop.x));
        CHECK(x.crop[1] == Approx(crop.y));
        CHECK(x.crop[2] == Approx(crop.w));
        CHECK(x.crop[3] == Approx(crop.h));
        CHECK(x.width == 4);
        CHECK(x.height == 5);
        CHECK(x.box[0] == Approx(crop.x - 7.5f * crop.w / 64.0f));
        CHECK(x.box[1] == Approx(crop.y - 7.5f * crop.h / 80.0f));
        CHECK(x.box[2] == Approx(crop.w));
        CHECK(x.box[3] == Approx(crop.h));
      }
      CHECK(std::memcmp(e0[31].map, e1[31].map, 20 * sizeof(float)) != 0);
      int differ = 0;
      for (size_t k = 0; k < e0.size(); ++k) differ += e0[k].logit != e1[k].logit ? 1 : 0;
      CHECK(differ > 0);
    }
    faceattr_session_free(s);
  }
}

TEST_CASE("explain: random tiny ANets, f32 and int8, every backend, whole-image mode", "[explain]") {
  const faceattr_backend backends[] = {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK,
                                       FACEATTR_BACKEND_SIMD};
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    spec.n_attributes = 7;
    const auto anet = faceattr::test::tiny_anet_bytes(spec);
    for (faceattr_backend be : backends) {
      if (!faceattr_backend_available(be)) continue;
      faceattr_session* s = make(anet, {}, be);
      for (uint32_t seed : {4u, 5u}) {
        const auto px = faceattr::test::random_bytes(37 * 41 * 3, seed);
        const faceattr_image img{px.data(), 37, 41, 37 * 3, FACEATTR_PIXEL_RGB};
        const faceattr_face* faces = nullptr;
        int32_t n = 0;
        REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
        REQUIRE(n == 1);
        INFO("int8 " << int8 << ", backend " << faceattr_backend_name(be) << ", seed " << seed);
        const auto e = check_face(s, faces[0], 0);
        // Whole-image mode: the crop is the centre crop of the image.
        CHECK(e[0].crop[0] == Approx(faces[0].box[0]));
        CHECK(e[0].crop[2] == Approx(faces[0].box[2]));
      }
      faceattr_session_free(s);
    }
  }
}

TEST_CASE("explain: errors leave the session usable", "[explain]") {
  faceattr::test::TinyModelSpec spec;
  const auto anet = faceattr::test::tiny_anet_bytes(spec);
  faceattr_session* s = make(anet, {});
  const int32_t attrs[2] = {0, 4};
  faceattr_explanation e[2];
  // Before any predict; predict_crop does not count.
  CHECK(faceattr_session_explain(s, 0, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::string(faceattr_last_error()).find("no successful") != std::string::npos);
  const auto px = faceattr::test::random_bytes(30 * 30 * 3, 7);
  const faceattr_image img{px.data(), 30, 30, 90, FACEATTR_PIXEL_RGB};
  std::vector<float> probs(5);
  REQUIRE(faceattr_session_predict_crop(s, &img, probs.data()) == FACEATTR_OK);
  CHECK(faceattr_session_explain(s, 0, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
  CHECK(faceattr_session_explain(s, 1, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::string(faceattr_last_error()).find("face 1") != std::string::npos);
  CHECK(faceattr_session_explain(s, -1, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  const int32_t bad[2] = {0, 5};
  CHECK(faceattr_session_explain(s, 0, bad, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::string(faceattr_last_error()).find("attribute 5") != std::string::npos);
  const int32_t negative[1] = {-1};
  CHECK(faceattr_session_explain(s, 0, negative, 1, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_explain(s, 0, nullptr, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_explain(s, 0, attrs, 2, nullptr) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_explain(nullptr, 0, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_explain(s, 0, attrs, 0, nullptr) == FACEATTR_OK);
  REQUIRE(faceattr_session_explain(s, 0, attrs, 2, e) == FACEATTR_OK);
  CHECK(e[1].attribute == 4);
  faceattr_session_free(s);

  // A localising predict with no face: every index is out of range.
  s = make(anet, faceattr::test::tiny_lnet_bytes({}));
  const auto grey = faceattr::test::red_boxes_frame(64, 48, {});
  const faceattr_image gimg{grey.data(), 64, 48, 64 * 3, FACEATTR_PIXEL_RGB};
  REQUIRE(faceattr_session_predict(s, &gimg, &faces, &n) == FACEATTR_OK);
  REQUIRE(n == 0);
  CHECK(faceattr_session_explain(s, 0, attrs, 2, e) == FACEATTR_ERR_INVALID_ARGUMENT);
  faceattr_session_free(s);

  // C++ wrapper: explain throws faceattr::Error with the status.
  faceattr::Session cs = faceattr::Session::create(anet.data(), anet.size());
  CHECK_THROWS_AS(cs.explain(0, {0}), faceattr::Error);
  cs.predict(img);
  const auto ce = cs.explain(0, {2, 3});
  REQUIRE(ce.size() == 2);
  CHECK(ce[0].attribute == 2);
}

TEST_CASE("explain: a model without the feature map -> GAP -> FC tail is unsupported", "[explain]") {
  faceattr::test::TinyModelSpec spec;
  spec.with_avgpool = false;
  faceattr::modelfile::ModelDef m = faceattr::test::make_tiny_anet(spec);
  // The global average pool becomes a whole-map AvgPool2d: the same numbers, another op.
  for (auto& n : m.nodes) {
    if (n.name != "gap") continue;
    const auto& x = m.tensors[static_cast<size_t>(n.inputs[0])].shape;
    n.op = faceattr::modelfile::Op::AvgPool2d;
    n.kernel_h = x[1];
    n.kernel_w = x[2];
  }
  const auto bytes = faceattr::modelfile::serialize(m);
  faceattr_session* s = make(bytes, {});
  const auto px = faceattr::test::random_bytes(30 * 30 * 3, 7);
  const faceattr_image img{px.data(), 30, 30, 90, FACEATTR_PIXEL_RGB};
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
  const int32_t attr = 0;
  faceattr_explanation e;
  CHECK(faceattr_session_explain(s, 0, &attr, 1, &e) == FACEATTR_ERR_UNSUPPORTED);
  CHECK(std::string(faceattr_last_error()).find("GlobalAvgPool") != std::string::npos);
  faceattr_session_free(s);
}

namespace {

// A tiny f32 ANet (16 pooled units, attributes attr_0 .. attr_4) with concept heads.
faceattr::modelfile::ModelDef tiny_with_concepts(const std::string& units, const std::string& weights) {
  faceattr::test::TinyModelSpec spec;
  faceattr::modelfile::ModelDef m = faceattr::test::make_tiny_anet(spec);
  m.metadata.push_back({"concepts.names", R"(["first three","next two","the rest"])"});
  m.metadata.push_back({"concepts.units", units});
  m.metadata.push_back({"concepts.weights", weights});
  return m;
}

const char* kUnits =
    R"({"layer":"x","activation":"mean","unit_mean":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,1.1,1.2,1.3,1.4,1.5,1.6],)"
    R"("unit_scale":[1,2,1,2,1,2,1,2,1,2,1,2,1,2,1,2],"concepts":[[0,1,2],[3,4],[5,6,7,8,9,10,11,12,13,14,15]]})";
const char* kWeights =
    R"({"attr_0":{"bias":0.5,"threshold":0,"terms":[[0,0.25],[2,-3.0]]},"attr_3":{"bias":0,"threshold":0,"terms":[[1,2.0]]}})";

}  // namespace

TEST_CASE("explain: concept contributions from the model's concept heads", "[explain]") {
  const auto bytes = faceattr::modelfile::serialize(tiny_with_concepts(kUnits, kWeights));
  faceattr_session* s = make(bytes, {});
  const auto px = faceattr::test::random_bytes(40 * 30 * 3, 11);
  const faceattr_image img{px.data(), 40, 30, 120, FACEATTR_PIXEL_RGB};
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
  REQUIRE(n == 1);

  // The pooled vector, computed apart: ANet's input for the same crop, run up to the pool.
  faceattr_face_crop crop{};
  REQUIRE(faceattr_session_whole_image_crop(s, &img, &crop) == FACEATTR_OK);
  faceattr::kernels::ExecContext ctx;
  faceattr::Network net;
  REQUIRE(net.load(bytes.data(), bytes.size(), faceattr::kernels::Family::Reference, ctx).is_ok());
  REQUIRE(faceattr_session_anet_input(s, &img, crop.crop, net.input_ptr()) == FACEATTR_OK);
  size_t gap = 0;
  while (net.model().nodes[gap].op != faceattr::model::Op::GlobalAvgPool) ++gap;
  REQUIRE(net.run_nodes(0, gap + 1).is_ok());
  const float* g = static_cast<const float*>(net.tensor_data(net.model().nodes[gap].output));
  const float mean[16] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f,
                          0.9f, 1,    1.1f, 1.2f, 1.3f, 1.4f, 1.5f, 1.6f};
  const auto concept_of = [&](std::vector<int> units) {
    double c = 0;
    for (int u : units) c += (g[u] - mean[u]) / (u % 2 ? 2.0 : 1.0);
    return c / static_cast<double>(units.size());
  };
  const double c0 = concept_of({0, 1, 2}), c1 = concept_of({3, 4}),
               c2 = concept_of({5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});

  const int32_t attrs[3] = {0, 1, 3};
  faceattr_explanation e[3];
  REQUIRE(faceattr_session_explain(s, 0, attrs, 3, e) == FACEATTR_OK);
  REQUIRE(e[0].n_concepts == 2);
  // Largest |contribution| first.
  const double want0[2] = {0.25 * c0, -3.0 * c2};
  const bool c2_first = std::fabs(want0[1]) > std::fabs(want0[0]);
  CHECK(std::string(e[0].concepts[0].name) == (c2_first ? "the rest" : "first three"));
  CHECK(e[0].concepts[0].contribution == Approx(c2_first ? want0[1] : want0[0]).margin(1e-5));
  CHECK(e[0].concepts[1].contribution == Approx(c2_first ? want0[0] : want0[1]).margin(1e-5));
  CHECK(e[1].n_concepts == 0);  // attr_1 has no head
  CHECK(e[1].concepts == nullptr);
  REQUIRE(e[2].n_concepts == 1);
  CHECK(std::string(e[2].concepts[0].name) == "next two");
  CHECK(e[2].concepts[0].contribution == Approx(2.0 * c1).margin(1e-5));
  faceattr_session_free(s);
}

TEST_CASE("explain: malformed concept metadata is ignored with a warning, the model still serves",
          "[explain]") {
  struct Bad {
    std::string units, weights, message;
  };
  const std::string out_of_range =
      std::string(kUnits).replace(std::string(kUnits).find("[0,1,2]"), 7, "[0,1,99]");
  const Bad bad[] = {
      {R"({"unit_mean":[0],"unit_scale":[1],"concepts":[[0],[1],[2]]})", kWeights,
       "unit_mean and unit_scale"},
      {out_of_range, kWeights, "unit index"},
      {"not json", kWeights, "concepts.units"},
      {kUnits, R"({"Smiling":{"terms":[[0,1]]}})", "unknown attribute 'Smiling'"},
      {kUnits, R"({"attr_0":{"terms":[[7,1]]}})", "a term is not"},
      // Numbers beyond a float's range are malformed, not infinite weights.
      {std::string(kUnits).replace(std::string(kUnits).find("0.2,"), 4, "1e39,"), kWeights,
       "unit_mean and unit_scale"},
      {kUnits, R"({"attr_0":{"terms":[[0,-1e39]]}})", "a term is not"},
      {kUnits, R"({"attr_0":{"bias":1e39,"threshold":0,"terms":[[0,1]]}})", "bias is not a finite number"},
  };
  for (const Bad& b : bad) {
    INFO(b.message);
    const std::string& message = b.message;
    const auto bytes = faceattr::modelfile::serialize(tiny_with_concepts(b.units, b.weights));
    std::vector<std::string> logged;
    faceattr_session_params p = faceattr_session_default_params();
    p.log_callback = [](faceattr_log_level, const char* msg, void* user) {
      static_cast<std::vector<std::string>*>(user)->push_back(msg);
    };
    p.log_user_data = &logged;
    faceattr_session* s = faceattr::test::pipeline::make_with(bytes, {}, p);
    bool warned = false;
    for (const std::string& l : logged) warned = warned || l.find(message) != std::string::npos;
    CHECK(warned);
    const auto px = faceattr::test::random_bytes(40 * 30 * 3, 11);
    const faceattr_image img{px.data(), 40, 30, 120, FACEATTR_PIXEL_RGB};
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
    const int32_t attr = 0;
    faceattr_explanation e;
    REQUIRE(faceattr_session_explain(s, 0, &attr, 1, &e) == FACEATTR_OK);
    CHECK(e.n_concepts == 0);
    CHECK(e.concepts == nullptr);
    faceattr_session_free(s);
  }
}

TEST_CASE("explain: the shipped ANets name 5 concepts and have an average map per attribute", "[explain]") {
  for (const char* file : {"anet-int8.fam", "anet-fp32.fam"}) {
    INFO(file);
    std::ifstream in(std::string(FACEATTR_SOURCE_DIR) + "/models/" + file, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
    faceattr::Session s = faceattr::Session::create(bytes.data(), bytes.size());
    const auto px = faceattr::test::random_bytes(89 * 109 * 3, 3);
    const faceattr_image img{px.data(), 89, 109, 89 * 3, FACEATTR_PIXEL_RGB};
    const auto faces = s.predict(img);
    REQUIRE(faces.size() == 1);
    std::vector<int32_t> all(static_cast<size_t>(s.n_attributes()));
    for (int32_t a = 0; a < s.n_attributes(); ++a) all[static_cast<size_t>(a)] = a;
    for (const faceattr_explanation& e : s.explain(0, all)) {
      REQUIRE(e.n_concepts == 5);
      // explain.average_maps without and with every attribute: the one for the other kind.
      REQUIRE(e.average_map != nullptr);
      CHECK(e.contrast == (faces[0].present[e.attribute] ? 1 : -1));
      for (int k = 0; k < e.width * e.height; ++k) CHECK(std::isfinite(e.average_map[k]));
      for (int k = 0; k < e.n_concepts; ++k) {
        CHECK(std::strlen(e.concepts[k].name) > 0);
        CHECK(std::isfinite(e.concepts[k].contribution));
        if (k > 0) CHECK(std::fabs(e.concepts[k].contribution) <= std::fabs(e.concepts[k - 1].contribution));
      }
    }
  }
}

namespace {

// The tiny f32 ANet of tiny_with_concepts, with `average` as its explain.average_maps
// metadata ("" = none), run on a fixed random frame; its explanations of attrs.
struct AverageMapsRun {
  std::vector<std::string> logged;
  std::vector<faceattr_explanation> e;
  std::vector<uint8_t> present;  // the face's decisions, per attribute
  faceattr_session* s = nullptr;
  AverageMapsRun(const std::string& average, const std::vector<int32_t>& attrs) {
    faceattr::test::TinyModelSpec spec;
    faceattr::modelfile::ModelDef m = faceattr::test::make_tiny_anet(spec);
    if (!average.empty()) m.metadata.push_back({"explain.average_maps", average});
    const auto bytes = faceattr::modelfile::serialize(m);
    faceattr_session_params p = faceattr_session_default_params();
    p.log_callback = [](faceattr_log_level, const char* msg, void* user) {
      static_cast<std::vector<std::string>*>(user)->push_back(msg);
    };
    p.log_user_data = &logged;
    s = faceattr::test::pipeline::make_with(bytes, {}, p);
    const auto px = faceattr::test::random_bytes(40 * 30 * 3, 11);
    const faceattr_image img{px.data(), 40, 30, 120, FACEATTR_PIXEL_RGB};
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    REQUIRE(faceattr_session_predict(s, &img, &faces, &n) == FACEATTR_OK);
    REQUIRE(n == 1);
    present.assign(faces[0].present, faces[0].present + faceattr_session_n_attributes(s));
    e.resize(attrs.size());
    REQUIRE(faceattr_session_explain(s, 0, attrs.data(), static_cast<int32_t>(attrs.size()), e.data()) ==
            FACEATTR_OK);
  }
  ~AverageMapsRun() { faceattr_session_free(s); }
  bool warned(const std::string& what) const {
    for (const std::string& l : logged)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
};

std::string json_floats(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

TEST_CASE("explain: the peak is where the map most exceeds the model's average map", "[explain]") {
  // The maps without average maps, to build metadata around.
  const AverageMapsRun plain("", {0, 1});
  const faceattr_explanation& e0 = plain.e[0];
  const int cells = e0.width * e0.height;
  REQUIRE(cells >= 4);
  CHECK(e0.average_map == nullptr);
  std::vector<float> map0(e0.map, e0.map + cells), map1(plain.e[1].map, plain.e[1].map + cells);
  const int raw_best = static_cast<int>(std::max_element(map0.begin(), map0.end()) - map0.begin());
  CHECK(e0.peak_cell[1] * e0.width + e0.peak_cell[0] == raw_best);
  // An average map equal to the map plus 1 everywhere but one other cell (not the raw
  // maximum, not on the border when there is an inner cell): that cell is the peak.
  int want = (raw_best + cells / 2) % cells;
  for (int i = 0; i < cells; ++i) {
    const int r = i / e0.width, c = i % e0.width;
    if (i != raw_best && r > 0 && r + 1 < e0.height && c > 0 && c + 1 < e0.width) want = i;
  }
  std::vector<double> average(static_cast<size_t>(cells));
  for (int i = 0; i < cells; ++i)
    average[static_cast<size_t>(i)] = map0[static_cast<size_t>(i)] + (i == want ? 0.0 : 1.0);
  const std::string meta = "{\"width\":" + std::to_string(e0.width) +
                           ",\"height\":" + std::to_string(e0.height) +
                           ",\"faces\":3,\"maps\":{\"attr_0\":" + json_floats(average) + "}}";
  const AverageMapsRun with(meta, {0, 1});
  CHECK(with.logged.empty());
  const faceattr_explanation& a = with.e[0];
  REQUIRE(a.average_map != nullptr);
  for (int i = 0; i < cells; ++i) {
    CHECK(a.map[i] == map0[static_cast<size_t>(i)]);  // the map itself is unchanged
    CHECK(a.average_map[i] == Approx(average[static_cast<size_t>(i)]).margin(1e-5));
  }
  CHECK(a.peak_cell[0] == want % a.width);
  CHECK(a.peak_cell[1] == want / a.width);
  CHECK(a.peak_value == map0[static_cast<size_t>(want)]);
  // map - average is -1 around the peak and ~0 there: the parabola stays on the cell's centre.
  CHECK(a.peak[0] ==
        Approx(a.box[0] + (static_cast<float>(want % a.width) + 0.5f) * a.cell_width).margin(1e-2));
  CHECK(a.peak[1] ==
        Approx(a.box[1] + (static_cast<float>(want / a.width) + 0.5f) * a.cell_height).margin(1e-2));
  // attr_1 has no average map: its own maximum, as before.
  const faceattr_explanation& b = with.e[1];
  CHECK(b.average_map == nullptr);
  CHECK(b.peak_cell[0] == plain.e[1].peak_cell[0]);
  CHECK(b.peak_cell[1] == plain.e[1].peak_cell[1]);
  CHECK(b.peak[0] == plain.e[1].peak[0]);
  CHECK(b.peak[1] == plain.e[1].peak[1]);
}

TEST_CASE("explain: an attribute judged absent peaks where its map falls furthest below the average with it",
          "[explain]") {
  const std::vector<int32_t> attrs = {0, 1, 2, 3, 4};
  const AverageMapsRun plain("", attrs);
  const int w = plain.e[0].width, h = plain.e[0].height, cells = w * h;
  REQUIRE(cells >= 4);
  int n_present = 0;
  for (uint8_t p : plain.present) n_present += p;
  // The fixed frame gives both decisions, so both rules are checked.
  REQUIRE(n_present > 0);
  REQUIRE(n_present < static_cast<int>(attrs.size()));
  // Per attribute: `maps` = map + 1 but at cell `over` (map - maps peaks there);
  // `maps_with` = map - 1 but at cell `under` (maps_with - map peaks there).
  const auto over = [&](int a) { return (a + 1) % cells; };
  const auto under = [&](int a) { return (a + 3) % cells; };
  std::string without = "{", with = "{";
  std::vector<std::vector<double>> avg_without, avg_with;
  for (int a : attrs) {
    const float* m = plain.e[static_cast<size_t>(a)].map;
    std::vector<double> o(static_cast<size_t>(cells)), u(static_cast<size_t>(cells));
    for (int i = 0; i < cells; ++i) {
      o[static_cast<size_t>(i)] = m[i] + (i == over(a) ? 0.0 : 1.0);
      u[static_cast<size_t>(i)] = m[i] - (i == under(a) ? 0.0 : 1.0);
    }
    const std::string name = "\"attr_" + std::to_string(a) + "\":";
    without += (a ? "," : "") + name + json_floats(o);
    // attr_4 has no average with it: judged absent, it is measured against `maps`.
    if (a < 4) with += (a ? "," : "") + name + json_floats(u);
    avg_without.push_back(o);
    avg_with.push_back(u);
  }
  const std::string meta = "{\"width\":" + std::to_string(w) + ",\"height\":" + std::to_string(h) +
                           ",\"faces\":3,\"maps\":" + without + "},\"maps_with\":" + with + "}}";
  const AverageMapsRun run(meta, attrs);
  CHECK(run.logged.empty());
  for (int a : attrs) {
    INFO("attribute " << a << " present " << int(plain.present[static_cast<size_t>(a)]));
    const faceattr_explanation& x = run.e[static_cast<size_t>(a)];
    REQUIRE(x.average_map != nullptr);
    const bool against_with = !plain.present[static_cast<size_t>(a)] && a < 4;
    CHECK(x.contrast == (against_with ? -1 : 1));
    const std::vector<double>& avg =
        against_with ? avg_with[static_cast<size_t>(a)] : avg_without[static_cast<size_t>(a)];
    for (int i = 0; i < cells; ++i)
      CHECK(x.average_map[i] == Approx(avg[static_cast<size_t>(i)]).margin(1e-5));
    const int want = against_with ? under(a) : over(a);
    CHECK(x.peak_cell[0] == want % w);
    CHECK(x.peak_cell[1] == want / w);
    CHECK(x.peak_value == plain.e[static_cast<size_t>(a)].map[want]);
  }
}

TEST_CASE("explain: malformed average maps are ignored with a warning", "[explain]") {
  const AverageMapsRun plain("", {0});
  const int w = plain.e[0].width, h = plain.e[0].height;
  const std::string grid = "\"width\":" + std::to_string(w) + ",\"height\":" + std::to_string(h);
  const std::string ok_map = json_floats(std::vector<double>(static_cast<size_t>(w * h), 0.5));
  const std::pair<std::string, std::string> bad[] = {
      {"not json", "not an object"},
      {"{\"width\":" + std::to_string(w + 1) + ",\"height\":" + std::to_string(h) +
           ",\"maps\":{\"attr_0\":" + ok_map + "}}",
       "its grid is not"},
      {"{" + grid + ",\"maps\":{\"Smiling\":" + ok_map + "}}", "unknown attribute 'Smiling'"},
      {"{" + grid + ",\"maps\":{\"attr_0\":[1,2]}}", "is not " + std::to_string(w * h) + " finite numbers"},
      {"{" + grid + ",\"maps\":{\"attr_0\":" +
           json_floats(std::vector<double>(static_cast<size_t>(w * h), 0.5)).replace(1, 8, "1e39") + "}}",
       "finite numbers"},
      {"{" + grid + ",\"maps\":{}}", "maps is empty"},
      {"{" + grid + ",\"maps\":{\"attr_0\":" + ok_map + "},\"maps_with\":3}", "maps_with is not an object"},
      {"{" + grid + ",\"maps\":{\"attr_0\":" + ok_map + "},\"maps_with\":{\"attr_0\":[1]}}",
       "maps_with['attr_0'] is not " + std::to_string(w * h) + " finite numbers"},
  };
  for (const auto& [meta, message] : bad) {
    INFO(meta);
    const AverageMapsRun run(meta, {0});
    CHECK(run.warned("explain.average_maps metadata ignored: "));
    CHECK(run.warned(message));
    CHECK(run.e[0].average_map == nullptr);
    CHECK(run.e[0].peak_cell[0] == plain.e[0].peak_cell[0]);
    CHECK(run.e[0].peak_cell[1] == plain.e[0].peak_cell[1]);
  }
}
