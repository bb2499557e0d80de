// The .fam container: tools writer/reader round trip, SDK loader, and
// corruption (truncation, bit flips, bad headers, bad graphs) at both readers.
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "graph/network.h"
#include "model/model.h"
#include "model_def.h"
#include "support/tiny_models.h"
#include "util/crc32.h"

using faceattr::model::load_model;
using faceattr::model::Model;
using faceattr::modelfile::ModelDef;
namespace mf = faceattr::modelfile;

namespace {

faceattr_status sdk_load(const std::vector<uint8_t>& bytes, std::string* message = nullptr) {
  Model m;
  const faceattr::Status st = load_model(bytes.data(), bytes.size(), &m);
  if (message) *message = st.message();
  return st.code();
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
// Recomputes the header CRC after a deliberate edit, so that later checks are reached.
void reseal(std::vector<uint8_t>& b) {
  put_u32(b, 48, faceattr::crc32_update(0, b.data() + 64, b.size() - 64));
}

bool parse_throws(const std::vector<uint8_t>& b) {
  try {
    mf::parse(b.data(), b.size());
  } catch (const std::runtime_error& e) {
    return std::strlen(e.what()) > 0;
  }
  return false;
}

}  // namespace

TEST_CASE("crc32 matches zlib", "[model_file]") {
  const char* s = "123456789";
  CHECK(faceattr::crc32_update(0, reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u);
  for (size_t n : {0, 1, 3, 4, 5, 63, 64, 1000, 4097}) {
    const auto data = faceattr::test::random_bytes(n, static_cast<uint32_t>(n + 7));
    const uint32_t z = static_cast<uint32_t>(crc32(crc32(0, Z_NULL, 0), data.data(), static_cast<uInt>(n)));
    CHECK(faceattr::crc32_update(0, data.data(), n) == z);
    // Incremental use agrees with one pass.
    const size_t half = n / 2;
    CHECK(faceattr::crc32_update(faceattr::crc32_update(0, data.data(), half), data.data() + half,
                                 n - half) == z);
  }
}

TEST_CASE("serialize -> parse round trip", "[model_file]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    spec.seed = 42;
    const ModelDef a = faceattr::test::make_tiny_anet(spec);
    const std::vector<uint8_t> bytes = mf::serialize(a);
    REQUIRE(bytes.size() > 64);
    CHECK(std::memcmp(bytes.data(), "FACEATTR", 8) == 0);
    const ModelDef b = mf::parse(bytes.data(), bytes.size());
    CHECK(b.kind == a.kind);
    CHECK(b.name == a.name);
    CHECK(b.description == a.description);
    CHECK(b.input_width == a.input_width);
    CHECK(b.input_height == a.input_height);
    CHECK(b.mean == a.mean);
    CHECK(b.std == a.std);
    CHECK(b.attribute_names == a.attribute_names);
    CHECK(b.thresholds == a.thresholds);
    CHECK(b.inputs == a.inputs);
    CHECK(b.outputs == a.outputs);
    REQUIRE(b.tensors.size() == a.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      INFO("tensor " << a.tensors[i].name);
      CHECK(b.tensors[i].name == a.tensors[i].name);
      CHECK(b.tensors[i].dtype == a.tensors[i].dtype);
      CHECK(b.tensors[i].shape == a.tensors[i].shape);
      CHECK(b.tensors[i].scales == a.tensors[i].scales);
      CHECK(b.tensors[i].zero_points == a.tensors[i].zero_points);
      CHECK(b.tensors[i].data == a.tensors[i].data);
    }
    REQUIRE(b.nodes.size() == a.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); ++i) {
      const auto &x = a.nodes[i], &y = b.nodes[i];
      INFO("node " << x.name);
      CHECK(y.name == x.name);
      CHECK(y.op == x.op);
      CHECK(y.inputs == x.inputs);
      CHECK(y.output == x.output);
      CHECK(y.act == x.act);
      CHECK(y.leaky_alpha == x.leaky_alpha);
      if (x.op == mf::Op::Conv2d || x.op == mf::Op::MaxPool2d || x.op == mf::Op::AvgPool2d) {
        CHECK(y.kernel_h == x.kernel_h);
        CHECK(y.kernel_w == x.kernel_w);
        CHECK(y.stride_h == x.stride_h);
        CHECK(y.stride_w == x.stride_w);
        CHECK(y.pad_top == x.pad_top);
        CHECK(y.pad_left == x.pad_left);
        CHECK(y.pad_bottom == x.pad_bottom);
        CHECK(y.pad_right == x.pad_right);
      }
      if (x.op == mf::Op::Conv2d) CHECK(y.groups == x.groups);
    }
    REQUIRE(b.find_metadata("license") != nullptr);
    CHECK(*b.find_metadata("license") == "test-only");
    CHECK(b.find_metadata("nope") == nullptr);
    // Serialising the parsed model reproduces the same bytes.
    CHECK(mf::serialize(b) == bytes);
  }
}

TEST_CASE("container layout follows docs/model-format.md", "[model_file]") {
  const auto bytes = faceattr::test::tiny_anet_bytes({});
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(bytes[at + i]) << (8 * i);
    return v;
  };
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(bytes[at + i]) << (8 * i);
    return v;
  };
  CHECK(u32(8) == 1);
  CHECK(u32(12) == 64);
  CHECK(u64(16) == 64);
  CHECK(u64(32) % 64 == 0);
  CHECK(u64(32) >= 64 + u64(24));
  CHECK(u64(32) + u64(40) == bytes.size());
  CHECK(u64(56) == bytes.size());
  CHECK(u32(52) == 0);
  CHECK(u32(48) == static_cast<uint32_t>(
                       crc32(crc32(0, Z_NULL, 0), bytes.data() + 64, static_cast<uInt>(bytes.size() - 64))));
  CHECK(std::memcmp(bytes.data() + 64 + 4, "FAM1", 4) == 0);  // FlatBuffer file identifier
  for (size_t i = 64 + u64(24); i < u64(32); ++i) CHECK(bytes[i] == 0);
}

TEST_CASE("SDK loads what the writer writes and the network runs", "[model_file]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    const auto bytes = faceattr::test::tiny_anet_bytes(spec);
    Model m;
    const faceattr::Status st = load_model(bytes.data(), bytes.size(), &m);
    INFO(st.message());
    REQUIRE(st.is_ok());
    CHECK(m.kind == "anet");
    CHECK(m.input_width == spec.input_w);
    CHECK(m.input_height == spec.input_h);
    CHECK(m.attribute_names.size() == static_cast<size_t>(spec.n_attributes));
    CHECK(reinterpret_cast<uintptr_t>(m.tensors[1].data) % 64 == 0);
    CHECK(std::string(m.find_metadata("recipe")) == "random weights");

    faceattr::kernels::ExecContext ctx;
    faceattr::Network net;
    const faceattr::Status ls =
        net.load(bytes.data(), bytes.size(), faceattr::kernels::Family::Reference, ctx);
    INFO(ls.message());
    REQUIRE(ls.is_ok());
    REQUIRE(net.input_elements() == static_cast<size_t>(spec.input_w * spec.input_h * 3));
    REQUIRE(net.output_elements() == static_cast<size_t>(spec.n_attributes));
    const auto noise = faceattr::test::random_bytes(net.input_elements(), 5);
    for (size_t i = 0; i < noise.size(); ++i) net.input_ptr()[i] = (noise[i] - 128) / 64.0f;
    REQUIRE(net.run().is_ok());
    for (size_t i = 0; i < net.output_elements(); ++i) {
      CHECK(net.output_ptr()[i] > 0.0f);
      CHECK(net.output_ptr()[i] < 1.0f);
    }
  }
}

TEST_CASE("truncated files are refused by both readers", "[model_file]") {
  const auto bytes = faceattr::test::tiny_anet_bytes({});
  std::vector<size_t> cuts = {
      0, 1, 7, 8, 12, 63, 64, 65, 100, bytes.size() / 2, bytes.size() - 64, bytes.size() - 1};
  for (size_t c = 0; c < bytes.size(); c += 97) cuts.push_back(c);
  for (size_t cut : cuts) {
    INFO("cut at " << cut);
    std::vector<uint8_t> t(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    std::string msg;
    // data() of an empty vector may be null: the loader must still not crash.
    CHECK(sdk_load(t, &msg) != FACEATTR_OK);
    CHECK(!msg.empty());
    CHECK(parse_throws(t));
  }
  // A buffer padded past file_size is refused too.
  auto padded = bytes;
  padded.push_back(0);
  CHECK(sdk_load(padded) == FACEATTR_ERR_MODEL_FORMAT);
  CHECK(parse_throws(padded));
}

TEST_CASE("single bit flips are refused by both readers", "[model_file]") {
  const auto bytes = faceattr::test::tiny_anet_bytes({});
  std::vector<size_t> positions;
  for (size_t p = 0; p < 64; ++p) positions.push_back(p);
  for (size_t p = 64; p < bytes.size(); p += 13) positions.push_back(p);
  for (size_t pos : positions) {
    for (int bit : {0, 3, 7}) {
      auto b = bytes;
      b[pos] ^= static_cast<uint8_t>(1u << bit);
      std::string msg;
      const faceattr_status st = sdk_load(b, &msg);
      INFO("flip byte " << pos << " bit " << bit << ": " << msg);
      // The header is outside the CRC. A flip of meta_size that stays within the zero padding
      // after the FlatBuffer still describes the same model: accepted only if it parses identically.
      if (pos >= 24 && pos < 32 && st == FACEATTR_OK) {
        CHECK(mf::serialize(mf::parse(b.data(), b.size())) == bytes);
        continue;
      }
      if (pos >= 8 && pos < 12)
        CHECK(st == FACEATTR_ERR_MODEL_VERSION);
      else
        CHECK(st == FACEATTR_ERR_MODEL_FORMAT);
      CHECK(!msg.empty());
      CHECK(parse_throws(b));
    }
  }
}

TEST_CASE("bad headers give the documented status", "[model_file]") {
  const auto good = faceattr::test::tiny_anet_bytes({});
  std::string msg;
  SECTION("wrong magic") {
    auto b = good;
    std::memcpy(b.data(), "FACEATTX", 8);
    CHECK(sdk_load(b, &msg) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(msg.find("magic") != std::string::npos);
  }
  SECTION("future version") {
    auto b = good;
    put_u32(b, 8, 2);
    CHECK(sdk_load(b, &msg) == FACEATTR_ERR_MODEL_VERSION);
    CHECK(msg.find("version 2") != std::string::npos);
    CHECK(parse_throws(b));
  }
  SECTION("oversized sizes and offsets") {
    for (size_t field : {16u, 24u, 32u, 40u, 56u}) {
      for (uint64_t v : {uint64_t{1} << 62, ~uint64_t{0}, uint64_t{good.size()} + 64}) {
        auto b = good;
        put_u64(b, field, v);
        INFO("field " << field << " = " << v);
        CHECK(sdk_load(b, &msg) == FACEATTR_ERR_MODEL_FORMAT);
        CHECK(!msg.empty());
        CHECK(parse_throws(b));
      }
    }
    auto b = good;
    put_u32(b, 12, 1u << 31);
    CHECK(sdk_load(b) == FACEATTR_ERR_MODEL_FORMAT);
  }
  SECTION("zero length and null") {
    std::vector<uint8_t> empty;
    CHECK(sdk_load(empty, &msg) != FACEATTR_OK);
    Model m;
    CHECK(load_model(nullptr, 100, &m).code() == FACEATTR_ERR_INVALID_ARGUMENT);
    uint8_t one = 0;
    CHECK(load_model(&one, 0, &m).code() == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(parse_throws(empty));
  }
  SECTION("garbage FlatBuffer with a valid CRC") {
    auto b = good;
    for (size_t i = 64; i < 64 + 32; ++i) b[i] = 0xFF;
    reseal(b);
    CHECK(sdk_load(b, &msg) == FACEATTR_ERR_MODEL_FORMAT);
    CHECK(msg.find("FlatBuffer") != std::string::npos);
    CHECK(parse_throws(b));
  }
}

// Models that are well-formed files but invalid graphs: the SDK names the culprit.
TEST_CASE("graph validation names the offending node or tensor", "[model_file]") {
  auto check_refused = [](const ModelDef& m, const std::string& expect_in_message) {
    const auto bytes = mf::serialize(m);
    std::string msg;
    CHECK(sdk_load(bytes, &msg) == FACEATTR_ERR_MODEL_FORMAT);
    INFO("message: " << msg);
    CHECK(msg.find(expect_in_message) != std::string::npos);
  };
  const ModelDef base = faceattr::test::make_tiny_anet({});
  auto node_index = [&](const ModelDef& m, const std::string& name) {
    for (size_t i = 0; i < m.nodes.size(); ++i)
      if (m.nodes[i].name == name) return i;
    FAIL("no node " << name);
    return size_t{0};
  };
  SECTION("conv output shape does not match the arithmetic") {
    ModelDef m = base;
    m.tensors[m.nodes[node_index(m, "conv1")].output].shape[1] += 1;
    check_refused(m, "conv1");
  }
  SECTION("conv stride 0") {
    ModelDef m = base;
    m.nodes[node_index(m, "conv1")].stride_h = 0;
    check_refused(m, "conv1");
  }
  SECTION("groups that do not divide the channels") {
    ModelDef m = base;
    m.nodes[node_index(m, "dwconv")].groups = 3;
    check_refused(m, "dwconv");
  }
  SECTION("fully connected weight shape") {
    ModelDef m = base;
    const auto& n = m.nodes[node_index(m, "fc")];
    m.tensors[n.inputs[1]].shape = {static_cast<int>(m.attribute_names.size()) * 2, 8};  // same element count
    check_refused(m, "fc");
  }
  SECTION("pool padding not smaller than the kernel") {
    ModelDef m = base;
    auto& n = m.nodes[node_index(m, "avgpool")];
    n.pad_top = n.pad_bottom = n.pad_left = n.pad_right = 3;
    const auto& x = m.tensors[n.inputs[0]].shape;
    auto& y = m.tensors[n.output].shape;
    y[1] = (x[1] + 6 - 3) / 2 + 1;
    y[2] = (x[2] + 6 - 3) / 2 + 1;
    check_refused(m, "avgpool");
  }
  SECTION("tensor used before it is produced") {
    ModelDef m = base;
    std::swap(m.nodes[0], m.nodes[1]);
    check_refused(m, "before it is produced");
  }
  SECTION("input shape differs from input_width/height") {
    ModelDef m = base;
    m.input_width += 1;
    check_refused(m, "network input");
  }
  SECTION("output count differs from attribute names") {
    ModelDef m = base;
    m.attribute_names.push_back("extra");
    m.thresholds.push_back(0.5f);
    check_refused(m, "anet output");
  }
  SECTION("fused activation on an op without one") {
    ModelDef m = base;
    m.nodes[node_index(m, "maxpool")].act = mf::Act::Relu;
    check_refused(m, "maxpool");
  }
  SECTION("absurd activation size is refused before allocating") {
    ModelDef m = base;
    m.tensors[m.nodes[node_index(m, "conv1")].output].shape = {1, 100000, 100000, 8};
    check_refused(m, "conv1.out");
  }
  SECTION("activations over 1 GiB in total") {
    ModelDef m = base;
    // Many unused 256 MiB activation tensors: each passes the per-tensor limit.
    for (int i = 0; i < 5; ++i) m.add_activation("big" + std::to_string(i), {1, 8192, 8192, 1});
    check_refused(m, "1 GiB");
  }
  SECTION("int8 weights with a zero point") {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = true;
    ModelDef m = faceattr::test::make_tiny_anet(spec);
    const auto& n = m.nodes[node_index(m, "conv1")];
    for (auto& z : m.tensors[n.inputs[1]].zero_points) z = 1;
    check_refused(m, "conv1");
  }
  SECTION("NaN or infinite weights, biases, normalisation or thresholds") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (float bad : {nan, inf, -inf}) {
      INFO("value " << bad);
      {
        ModelDef m = base;  // one weight in the middle of the first conv's
        auto& w = m.tensors[m.nodes[node_index(m, "conv1")].inputs[1]].data;
        std::memcpy(w.data() + (w.size() / sizeof(float) / 2) * sizeof(float), &bad, sizeof(float));
        check_refused(m, "non-finite");
      }
      {
        ModelDef m = base;  // the last bias of the classifier
        auto& b = m.tensors[m.nodes[node_index(m, "fc")].inputs[2]].data;
        std::memcpy(b.data() + b.size() - sizeof(float), &bad, sizeof(float));
        check_refused(m, "non-finite");
      }
      {
        ModelDef m = base;  // the writer itself refuses a NaN or negative std
        m.mean[1] = bad;
        check_refused(m, "mean");
        if (bad > 0) {
          m = base;
          m.std[2] = bad;
          check_refused(m, "std");
        }
      }
      {
        ModelDef m = base;
        m.thresholds[3] = bad;
        check_refused(m, "threshold");
      }
    }
  }
  SECTION("int8 model with a NaN or infinite quantisation scale") {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = true;
    ModelDef m = faceattr::test::make_tiny_anet(spec);
    const auto bytes_ok = mf::serialize(m);
    // The writer refuses such a scale itself, so the bytes are edited after writing: find the
    // weight scale's float in the container and overwrite it, then reseal the CRC.
    const auto& n = m.nodes[node_index(m, "conv1")];
    const float s = m.tensors[n.inputs[1]].scales[0];
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      auto bytes = bytes_ok;
      size_t hits = 0;
      for (size_t i = 64; i + sizeof(float) <= bytes.size(); ++i)
        if (std::memcmp(bytes.data() + i, &s, sizeof(float)) == 0) {
          std::memcpy(bytes.data() + i, &bad, sizeof(float));
          ++hits;
        }
      REQUIRE(hits >= 1);
      reseal(bytes);
      std::string msg;
      CHECK(sdk_load(bytes, &msg) == FACEATTR_ERR_MODEL_FORMAT);
      INFO("message: " << msg);
      CHECK(msg.find("scale") != std::string::npos);
    }
  }
  SECTION("int8 layer whose int32 accumulator can overflow") {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = true;
    for (int32_t big : {std::numeric_limits<int32_t>::min() + 1, std::numeric_limits<int32_t>::max() - 1}) {
      for (const char* name : {"conv1", "fc"}) {
        INFO(name << " bias " << big);
        ModelDef m = faceattr::test::make_tiny_anet(spec);
        auto& b = m.tensors[m.nodes[node_index(m, name)].inputs[2]].data;
        std::memcpy(b.data(), &big, sizeof(big));
        check_refused(m, "can overflow");
      }
    }
    // A bias that leaves room for 255 * sum |w| loads.
    ModelDef m = faceattr::test::make_tiny_anet(spec);
    const int32_t fine = 1 << 24;
    std::memcpy(m.tensors[m.nodes[node_index(m, "conv1")].inputs[2]].data.data(), &fine, sizeof(fine));
    CHECK(sdk_load(mf::serialize(m)) == FACEATTR_OK);
  }
  SECTION("int8 bias scale inconsistent with input and weight scales") {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = true;
    ModelDef m = faceattr::test::make_tiny_anet(spec);
    const auto& n = m.nodes[node_index(m, "conv2")];
    for (auto& s : m.tensors[n.inputs[2]].scales) s *= 2.0f;
    check_refused(m, "conv2");
  }
}

TEST_CASE("writer refuses inconsistent definitions", "[model_file]") {
  const ModelDef base = faceattr::test::make_tiny_anet({});
  {
    ModelDef m = base;
    m.nodes[0].inputs[0] = 999;
    CHECK_THROWS_AS(mf::serialize(m), std::invalid_argument);
  }
  {
    ModelDef m = base;
    m.tensors[1].data.pop_back();
    CHECK_THROWS_AS(mf::serialize(m), std::invalid_argument);
  }
  {
    ModelDef m = base;
    m.add_activation("q", {1, 4}, mf::DType::I8);
    m.tensors.back().scales.clear();
    m.tensors.back().zero_points.clear();
    CHECK_THROWS_AS(mf::serialize(m), std::invalid_argument);
  }
  {
    ModelDef m = base;
    m.kind = "xnet";
    CHECK_THROWS_AS(mf::serialize(m), std::invalid_argument);
  }
}

TEST_CASE("write_file_atomic and read_file", "[model_file]") {
  const auto bytes = faceattr::test::tiny_anet_bytes({});
  const std::string path = "/tmp/faceattr_test_model_" + std::to_string(::getpid()) + ".fam";
  mf::write_file_atomic(path, bytes);
  CHECK(mf::read_file(path) == bytes);
  std::remove(path.c_str());
  CHECK_THROWS_AS(mf::read_file(path), std::runtime_error);
  CHECK_THROWS_AS(mf::write_file_atomic("/nonexistent-dir/x.fam", bytes), std::runtime_error);
}
