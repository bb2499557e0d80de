// Decision-threshold policies (faceattr_threshold_policy): the model file's optional
// balanced_thresholds through the writer, the tools' reader and the SDK loader, and what
// a session decides under each policy (present[], thresholds, tracker decisions).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/session.h"
#include "faceattr/faceattr.h"
#include "faceattr/faceattr.hpp"
#include "model/model.h"
#include "model_def.h"
#include "support/tiny_models.h"
#include "util/crc32.h"

namespace mf = faceattr::modelfile;

namespace {

constexpr int kAttrs = 8;

mf::ModelDef tiny_model() {
  faceattr::test::TinyModelSpec spec;
  spec.n_attributes = kAttrs;
  spec.seed = 5;
  return faceattr::test::make_tiny_anet(spec);
}

// Distinct values spanning [0, 1], both ends included.
std::vector<float> spread(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(i) / static_cast<float>(n - 1));
  return v;
}

faceattr_status sdk_load(const std::vector<uint8_t>& bytes, std::string* message) {
  faceattr::model::Model m;
  const faceattr::Status st = faceattr::model::load_model(bytes.data(), bytes.size(), &m);
  *message = st.message();
  return st.code();
}

// Recomputes the container's CRC after a deliberate edit (docs/model-format.md: at byte 48).
void reseal(std::vector<uint8_t>& b) {
  const uint32_t crc = faceattr::crc32_update(0, b.data() + 64, b.size() - 64);
  for (int i = 0; i < 4; ++i) b[48 + static_cast<size_t>(i)] = static_cast<uint8_t>(crc >> (8 * i));
}

faceattr_session_params params_with(faceattr_threshold_policy policy) {
  faceattr_session_params p = faceattr_session_default_params();
  p.backend = FACEATTR_BACKEND_REFERENCE;
  p.threshold_policy = policy;
  return p;
}

faceattr_session* make_session(const std::vector<uint8_t>& model,
                               faceattr_threshold_policy policy = FACEATTR_THRESHOLDS_ACCURACY) {
  const faceattr_session_params p = params_with(policy);
  faceattr_session* s = nullptr;
  const faceattr_status st = faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s);
  INFO(faceattr_last_error());
  REQUIRE(st == FACEATTR_OK);
  return s;
}

struct Photo {
  int w = 40, h = 36;
  std::vector<uint8_t> rgb = faceattr::test::random_bytes(40 * 36 * 3, 11);
  faceattr_image view() const { return {rgb.data(), w, h, w * 3, FACEATTR_PIXEL_RGB}; }
};

// One whole-image predict: probabilities and present flags of the one face.
void predict(faceattr_session* s, const Photo& photo, std::vector<float>* p, std::vector<uint8_t>* present) {
  const faceattr_image v = photo.view();
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
  REQUIRE(n == 1);
  p->assign(faces[0].probs, faces[0].probs + kAttrs);
  present->assign(faces[0].present, faces[0].present + kAttrs);
}

// The tiny model with thresholds placed around the probabilities `p` it gives the photo:
// attribute a's accuracy threshold below p when bit 0 of a is clear, above when set; its
// balanced one likewise by bit 1. So the two policies disagree on half the attributes.
mf::ModelDef model_around(const std::vector<float>& p) {
  mf::ModelDef m = tiny_model();
  m.balanced_thresholds.resize(kAttrs);
  for (int a = 0; a < kAttrs; ++a) {
    const float below = p[a] / 2, above = p[a] + (1.0f - p[a]) / 2;
    m.thresholds[a] = (a & 1) ? above : below;
    m.balanced_thresholds[a] = (a & 2) ? above : below;
  }
  return m;
}

// The probabilities of the tiny model on the photo, each strictly inside (0, 1).
std::vector<float> tiny_probs(const Photo& photo) {
  faceattr_session* s = make_session(mf::serialize(tiny_model()));
  std::vector<float> p;
  std::vector<uint8_t> present;
  predict(s, photo, &p, &present);
  faceattr_session_free(s);
  for (float x : p) REQUIRE((x > 0.0f && x < 1.0f));
  return p;
}

}  // namespace

TEST_CASE("balanced thresholds round-trip through the writer, the tools' reader and the SDK",
          "[model_file][thresholds]") {
  // Appended to the Model table: old files and old readers keep their field ids.
  using FbModel = faceattr::fb::Model;
  CHECK(FbModel::VT_BALANCED_THRESHOLDS > FbModel::VT_METADATA);
  CHECK(FbModel::VT_BALANCED_THRESHOLDS > FbModel::VT_NETWORK);

  mf::ModelDef a = tiny_model();
  a.balanced_thresholds = spread(kAttrs);
  const std::vector<uint8_t> bytes = mf::serialize(a);
  const mf::ModelDef b = mf::parse(bytes.data(), bytes.size());
  CHECK(b.balanced_thresholds == a.balanced_thresholds);
  CHECK(b.thresholds == a.thresholds);

  faceattr::model::Model m;
  REQUIRE(faceattr::model::load_model(bytes.data(), bytes.size(), &m).is_ok());
  CHECK(m.balanced_thresholds == a.balanced_thresholds);
  CHECK(m.thresholds == a.thresholds);

  faceattr::Model loaded = faceattr::Model::load(bytes.data(), bytes.size());
  faceattr_model_info info = loaded.info();
  REQUIRE(info.n_attributes == kAttrs);
  REQUIRE(info.balanced_thresholds != nullptr);
  CHECK(std::vector<float>(info.balanced_thresholds, info.balanced_thresholds + kAttrs) ==
        a.balanced_thresholds);
  CHECK(std::vector<float>(info.thresholds, info.thresholds + kAttrs) == a.thresholds);

  // Without the field: nothing written, nothing read back, no balanced policy.
  const mf::ModelDef plain = tiny_model();
  const std::vector<uint8_t> plain_bytes = mf::serialize(plain);
  auto meta_size = [](const std::vector<uint8_t>& b) {  // the FlatBuffer's bytes (header field at 24)
    uint64_t n = 0;
    std::memcpy(&n, b.data() + 24, sizeof n);
    return n;
  };
  CHECK(meta_size(plain_bytes) < meta_size(bytes));
  CHECK(mf::parse(plain_bytes.data(), plain_bytes.size()).balanced_thresholds.empty());
  faceattr::Model plain_loaded = faceattr::Model::load(plain_bytes.data(), plain_bytes.size());
  info = plain_loaded.info();
  CHECK(info.balanced_thresholds == nullptr);
  CHECK(info.thresholds != nullptr);
}

TEST_CASE("malformed balanced thresholds are refused with FACEATTR_ERR_MODEL_FORMAT",
          "[model_file][thresholds]") {
  auto check_refused = [](const std::vector<uint8_t>& bytes) {
    std::string msg;
    CHECK(sdk_load(bytes, &msg) == FACEATTR_ERR_MODEL_FORMAT);
    INFO("message: " << msg);
    CHECK(msg.find("balanced_thresholds") != std::string::npos);
    // The same through the C API, for sessions and for model descriptions.
    faceattr_session* s = nullptr;
    const faceattr_session_params p = faceattr_session_default_params();
    CHECK(faceattr_session_create(bytes.data(), bytes.size(), nullptr, 0, &p, &s) ==
          FACEATTR_ERR_MODEL_FORMAT);
    CHECK(s == nullptr);
    CHECK(std::string(faceattr_last_error()).find("balanced_thresholds") != std::string::npos);
    faceattr_model* m = nullptr;
    CHECK(faceattr_model_load(bytes.data(), bytes.size(), &m) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(m == nullptr);
  };

  SECTION("a value that is not a probability: NaN, infinite, above 1, below 0") {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      1.0001f, 1.5f, -0.25f}) {
      INFO("value " << bad);
      mf::ModelDef m = tiny_model();
      m.balanced_thresholds = spread(kAttrs);
      m.balanced_thresholds[3] = bad;
      check_refused(mf::serialize(m));  // the writer checks the count, the SDK the values
    }
  }
  SECTION("a count other than the attributes'") {
    mf::ModelDef m = tiny_model();
    m.balanced_thresholds = spread(kAttrs - 1);
    CHECK_THROWS_AS(mf::serialize(m), std::invalid_argument);  // the writer refuses to write it
    // A file that has it anyway: the vector's length edited down by one.
    m.balanced_thresholds = spread(kAttrs);
    std::vector<uint8_t> bytes = mf::serialize(m);
    std::vector<uint8_t> pattern(4 + 4 * kAttrs);
    const uint32_t n = kAttrs;
    std::memcpy(pattern.data(), &n, 4);  // FlatBuffers vectors: little-endian count, then the values
    std::memcpy(pattern.data() + 4, m.balanced_thresholds.data(), 4 * kAttrs);
    const auto at = std::search(bytes.begin() + 64, bytes.end(), pattern.begin(), pattern.end());
    REQUIRE(at != bytes.end());
    for (uint32_t count : {uint32_t{kAttrs - 1}, uint32_t{1}}) {
      INFO("count " << count);
      std::vector<uint8_t> edited = bytes;
      std::memcpy(&edited[static_cast<size_t>(at - bytes.begin())], &count, 4);
      reseal(edited);
      check_refused(edited);
      CHECK_THROWS_AS(mf::parse(edited.data(), edited.size()), std::runtime_error);
    }
    // An empty vector is no balanced policy, as an absent one.
    std::vector<uint8_t> empty = bytes;
    const uint32_t zero = 0;
    std::memcpy(&empty[static_cast<size_t>(at - bytes.begin())], &zero, 4);
    reseal(empty);
    faceattr_session* s = make_session(empty);
    CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == 0);
    faceattr_session_free(s);
  }
}

TEST_CASE("switching the policy changes present[] exactly where p lies between the two thresholds",
          "[session][thresholds]") {
  const Photo photo;
  const std::vector<float> p = tiny_probs(photo);
  const mf::ModelDef def = model_around(p);
  const std::vector<uint8_t> model = mf::serialize(def);

  faceattr_session* s = make_session(model);
  CHECK(faceattr_session_threshold_policy(s) == FACEATTR_THRESHOLDS_ACCURACY);
  CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == 1);
  CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == 1);
  std::vector<float> p_acc, p_bal;
  std::vector<uint8_t> acc, bal;
  predict(s, photo, &p_acc, &acc);
  for (int a = 0; a < kAttrs; ++a) CHECK(faceattr_session_attribute_threshold(s, a) == def.thresholds[a]);

  const faceattr_image v = photo.view();
  const faceattr_face* faces = nullptr;
  int32_t n = 0;
  REQUIRE(faceattr_session_predict(s, &v, &faces, &n) == FACEATTR_OK);
  REQUIRE(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == FACEATTR_OK);
  // The faces already returned keep their flags; later calls use the new thresholds.
  CHECK(std::vector<uint8_t>(faces[0].present, faces[0].present + kAttrs) == acc);
  CHECK(faceattr_session_threshold_policy(s) == FACEATTR_THRESHOLDS_BALANCED);
  for (int a = 0; a < kAttrs; ++a)
    CHECK(faceattr_session_attribute_threshold(s, a) == def.balanced_thresholds[a]);
  predict(s, photo, &p_bal, &bal);

  CHECK(p_acc == p);  // the same network on the same photo: only the decisions move
  CHECK(p_bal == p);
  int differ = 0;
  for (int a = 0; a < kAttrs; ++a) {
    INFO("attribute " << a << ": p " << p[a] << ", accuracy " << def.thresholds[a] << ", balanced "
                      << def.balanced_thresholds[a]);
    const float lo = std::min(def.thresholds[a], def.balanced_thresholds[a]);
    const float hi = std::max(def.thresholds[a], def.balanced_thresholds[a]);
    CHECK(acc[a] == (p[a] >= def.thresholds[a] ? 1 : 0));
    CHECK(bal[a] == (p[a] >= def.balanced_thresholds[a] ? 1 : 0));
    CHECK((acc[a] != bal[a]) == (lo <= p[a] && p[a] < hi));
    differ += acc[a] != bal[a] ? 1 : 0;
  }
  CHECK(differ == kAttrs / 2);

  // Back to accuracy: the first decisions again.
  REQUIRE(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == FACEATTR_OK);
  std::vector<float> p_again;
  std::vector<uint8_t> again;
  predict(s, photo, &p_again, &again);
  CHECK(again == acc);
  faceattr_session_free(s);

  // The policy chosen at create, and the C++ wrapper.
  faceattr_session* sb = make_session(model, FACEATTR_THRESHOLDS_BALANCED);
  CHECK(faceattr_session_threshold_policy(sb) == FACEATTR_THRESHOLDS_BALANCED);
  predict(sb, photo, &p_again, &again);
  CHECK(again == bal);
  faceattr_session_free(sb);

  faceattr::Session cs = faceattr::Session::create(model.data(), model.size());
  CHECK(cs.threshold_policy() == FACEATTR_THRESHOLDS_ACCURACY);
  CHECK(cs.has_threshold_policy(FACEATTR_THRESHOLDS_BALANCED));
  cs.set_threshold_policy(FACEATTR_THRESHOLDS_BALANCED);
  CHECK(cs.attribute_threshold(2) == def.balanced_thresholds[2]);
  const faceattr::Faces cf = cs.predict(photo.view());
  REQUIRE(cf.size() == 1);
  CHECK(std::vector<uint8_t>(cf[0].present, cf[0].present + kAttrs) == bal);
}

TEST_CASE("a model without balanced thresholds refuses the balanced policy", "[session][thresholds]") {
  const std::vector<uint8_t> model = mf::serialize(tiny_model());
  const Photo photo;
  faceattr_session* s = make_session(model);
  CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == 1);
  CHECK(faceattr_session_has_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == 0);
  CHECK(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == FACEATTR_ERR_UNSUPPORTED);
  const std::string why = faceattr_last_error();
  INFO(why);
  CHECK(why.find("no balanced thresholds") != std::string::npos);
  CHECK(faceattr_session_threshold_policy(s) == FACEATTR_THRESHOLDS_ACCURACY);
  // Accuracy is always there; an unknown value is an invalid argument.
  CHECK(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == FACEATTR_OK);
  const auto unknown = static_cast<faceattr_threshold_policy>(7);
  CHECK(faceattr_session_set_threshold_policy(s, unknown) == FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(std::string(faceattr_last_error()).find("unknown threshold policy 7") != std::string::npos);
  CHECK(faceattr_session_has_threshold_policy(s, unknown) == 0);
  CHECK(faceattr_session_threshold_policy(s) == FACEATTR_THRESHOLDS_ACCURACY);
  // The session's one-call-at-a-time rule: refused while another call holds it.
  s->busy.store(true);
  CHECK(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == FACEATTR_ERR_BUSY);
  s->busy.store(false);
  std::vector<float> p;
  std::vector<uint8_t> present;
  predict(s, photo, &p, &present);  // still usable
  faceattr_session_free(s);

  // At create: the session is not made.
  faceattr_session_params params = params_with(FACEATTR_THRESHOLDS_BALANCED);
  faceattr_session* none = nullptr;
  CHECK(faceattr_session_create(model.data(), model.size(), nullptr, 0, &params, &none) ==
        FACEATTR_ERR_UNSUPPORTED);
  CHECK(none == nullptr);
  CHECK(std::string(faceattr_last_error()).find("params.threshold_policy") != std::string::npos);
  params.threshold_policy = unknown;
  CHECK(faceattr_session_create(model.data(), model.size(), nullptr, 0, &params, &none) ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(none == nullptr);

  // Null sessions.
  CHECK(faceattr_session_set_threshold_policy(nullptr, FACEATTR_THRESHOLDS_ACCURACY) ==
        FACEATTR_ERR_INVALID_ARGUMENT);
  CHECK(faceattr_session_threshold_policy(nullptr) == FACEATTR_THRESHOLDS_ACCURACY);
  CHECK(faceattr_session_has_threshold_policy(nullptr, FACEATTR_THRESHOLDS_ACCURACY) == 0);

  // The C++ wrapper throws the status.
  faceattr::Session cs = faceattr::Session::create(model.data(), model.size());
  CHECK_FALSE(cs.has_threshold_policy(FACEATTR_THRESHOLDS_BALANCED));
  CHECK(cs.try_set_threshold_policy(FACEATTR_THRESHOLDS_BALANCED) == FACEATTR_ERR_UNSUPPORTED);
  try {
    cs.set_threshold_policy(FACEATTR_THRESHOLDS_BALANCED);
    FAIL("no exception");
  } catch (const faceattr::Error& e) {
    CHECK(e.status() == FACEATTR_ERR_UNSUPPORTED);
  }
}

TEST_CASE("the tracker decides with the session's policy and re-decides when it changes",
          "[tracker][thresholds]") {
  const Photo photo;
  const std::vector<float> p = tiny_probs(photo);
  const mf::ModelDef def = model_around(p);
  const std::vector<uint8_t> model = mf::serialize(def);
  const faceattr_image v = photo.view();

  faceattr_session* s = make_session(model);
  faceattr_tracker_params tp = faceattr_tracker_default_params();
  tp.window = 4;
  // A band wide enough that hysteresis alone would hold every decision after the switch.
  tp.hysteresis = 0.45f;
  faceattr_tracker* t = nullptr;
  REQUIRE(faceattr_tracker_create(s, &tp, &t) == FACEATTR_OK);
  const faceattr_track* tracks = nullptr;
  int32_t n = 0;
  auto decisions = [&] {
    REQUIRE(n == 1);
    for (int a = 0; a < kAttrs; ++a) CHECK(tracks[0].probs[a] == Approx(p[a]).epsilon(1e-6));
    return std::vector<uint8_t>(tracks[0].present, tracks[0].present + kAttrs);
  };
  auto expected = [&](const std::vector<float>& thr) {
    std::vector<uint8_t> d;
    for (int a = 0; a < kAttrs; ++a) d.push_back(p[a] >= thr[a] ? 1 : 0);
    return d;
  };
  for (int f = 0; f < 6; ++f) {
    REQUIRE(faceattr_tracker_track(t, &v, -1, &tracks, &n) == FACEATTR_OK);
    CHECK(decisions() == expected(def.thresholds));
  }
  REQUIRE(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == FACEATTR_OK);
  for (int f = 0; f < 6; ++f) {
    REQUIRE(faceattr_tracker_track(t, &v, -1, &tracks, &n) == FACEATTR_OK);
    CHECK(tracks[0].id == 1);  // the same track, decided afresh
    CHECK(decisions() == expected(def.balanced_thresholds));
  }
  // Faces found elsewhere (faceattr_tracker_update) are decided the same way.
  faceattr_face face{};
  face.box[2] = face.box[3] = 30;
  face.score = 1;
  face.probs = p.data();
  REQUIRE(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_ACCURACY) == FACEATTR_OK);
  REQUIRE(faceattr_tracker_reset(t) == FACEATTR_OK);
  REQUIRE(faceattr_tracker_update(t, &face, 1, nullptr, 0, -1, &tracks, &n) == FACEATTR_OK);
  CHECK(decisions() == expected(def.thresholds));
  REQUIRE(faceattr_session_set_threshold_policy(s, FACEATTR_THRESHOLDS_BALANCED) == FACEATTR_OK);
  REQUIRE(faceattr_tracker_update(t, &face, 1, nullptr, 0, -1, &tracks, &n) == FACEATTR_OK);
  CHECK(decisions() == expected(def.balanced_thresholds));
  faceattr_tracker_free(t);

  // A tracker made after the switch starts with the balanced thresholds.
  REQUIRE(faceattr_tracker_create(s, &tp, &t) == FACEATTR_OK);
  REQUIRE(faceattr_tracker_track(t, &v, -1, &tracks, &n) == FACEATTR_OK);
  CHECK(decisions() == expected(def.balanced_thresholds));
  faceattr_tracker_free(t);
  faceattr_session_free(s);
}
