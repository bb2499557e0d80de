// Graph executor: arena planning and binding. A network with branches (Add,
// Concat, standalone Activation) runs in the shared arena and must give exactly
// what a naive executor gives with one private buffer per tensor.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "graph/arena_plan.h"
#include "graph/network.h"
#include "graph/node_kernel.h"
#include "model/model.h"
#include "model_def.h"
#include "support/tiny_models.h"
#include "util/thread_pool.h"

namespace mf = faceattr::modelfile;
using faceattr::kernels::Family;

namespace {

constexpr float kQ = 8.0f / 127.0f;

// input -> conv0 -> {conv_a, conv_b} -> add -> concat(conv0, add) -> relu6 -> maxpool -> gap -> fc -> sigmoid
mf::ModelDef branchy_model(bool int8, uint32_t seed) {
  mf::ModelDef m;
  m.kind = "anet";
  m.name = "branchy";
  m.input_width = 10;
  m.input_height = 12;
  m.mean = {0.5f, 0.5f, 0.5f};
  m.std = {0.25f, 0.25f, 0.25f};
  const int n_attr = 6;
  for (int i = 0; i < n_attr; ++i) {
    m.attribute_names.push_back("a" + std::to_string(i));
    m.thresholds.push_back(0.5f);
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.4f);
  auto act = [&](const std::string& name, std::vector<int> shape) {
    return int8 ? m.add_activation(name, std::move(shape), mf::DType::I8, kQ, 0)
                : m.add_activation(name, std::move(shape));
  };
  auto weights = [&](const std::string& name, std::vector<int> shape, float in_scale) -> std::pair<int, int> {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    const int oc = shape[0];
    if (!int8) {
      std::vector<float> w(n), b(static_cast<size_t>(oc));
      for (auto& v : w) v = dist(rng);
      for (auto& v : b) v = dist(rng) * 0.1f;
      return {m.add_const_f32(name + ".w", shape, w), m.add_const_f32(name + ".b", {oc}, b)};
    }
    std::vector<int8_t> w(n);
    std::vector<int32_t> b(static_cast<size_t>(oc));
    for (auto& v : w) v = static_cast<int8_t>(std::clamp(static_cast<int>(dist(rng) * 200), -127, 127));
    for (auto& v : b) v = static_cast<int32_t>(dist(rng) * 500);
    std::vector<float> ws(static_cast<size_t>(oc)), bs(static_cast<size_t>(oc));
    for (int o = 0; o < oc; ++o) ws[o] = 0.004f + 0.0005f * o, bs[o] = in_scale * ws[o];
    return {m.add_const_i8(name + ".w", shape, w, ws), m.add_const_i32(name + ".b", {oc}, b, bs)};
  };
  auto conv = [&](const std::string& name, int x, int oc, int k, mf::Act a) {
    const std::vector<int> xs = m.tensors[x].shape;
    const auto wb = weights(name, {oc, k, k, xs[3]}, int8 ? m.tensors[x].scales[0] : 1.0f);
    const int y = act(name + ".out", {1, xs[1], xs[2], oc});
    mf::NodeDef n;
    n.name = name;
    n.op = mf::Op::Conv2d;
    n.inputs = {x, wb.first, wb.second};
    n.output = y;
    n.kernel_h = n.kernel_w = k;
    n.pad_top = n.pad_left = n.pad_bottom = n.pad_right = k / 2;
    n.act = a;
    n.leaky_alpha = 0.2f;
    m.add_node(n);
    return y;
  };
  auto node = [&](const std::string& name, mf::Op op, std::vector<int> inputs, int y,
                  mf::Act a = mf::Act::None) {
    mf::NodeDef n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.output = y;
    n.act = a;
    if (op == mf::Op::MaxPool2d) {
      n.kernel_h = n.kernel_w = 3;
      n.stride_h = n.stride_w = 2;
      n.pad_top = n.pad_left = n.pad_bottom = n.pad_right = 1;
    }
    m.add_node(n);
    return y;
  };
  const int input = m.add_activation("input", {1, 12, 10, 3});
  m.inputs = {input};
  int x = input;
  if (int8)
    x = node("quantize", mf::Op::Quantize, {x},
             m.add_activation("input.q", {1, 12, 10, 3}, mf::DType::I8, 0.02f, 0));
  const int c0 = conv("conv0", x, 8, 3, mf::Act::Relu);
  const int a = conv("conv_a", c0, 8, 1, mf::Act::None);
  const int b = conv("conv_b", c0, 8, 3, mf::Act::LeakyRelu);
  const int s = node("add", mf::Op::Add, {a, b}, act("add.out", {1, 12, 10, 8}), mf::Act::Relu);
  const int cat = node("concat", mf::Op::Concat, {c0, s}, act("concat.out", {1, 12, 10, 16}));
  const int r6 = node("relu6", mf::Op::Activation, {cat}, act("relu6.out", {1, 12, 10, 16}), mf::Act::Relu6);
  const int mp = node("maxpool", mf::Op::MaxPool2d, {r6}, act("maxpool.out", {1, 6, 5, 16}));
  const int g = node("gap", mf::Op::GlobalAvgPool, {mp}, act("gap.out", {1, 1, 1, 16}));
  const auto wb = weights("fc", {n_attr, 16}, int8 ? kQ : 1.0f);
  int logits = act("fc.out", {1, n_attr});
  node("fc", mf::Op::FullyConnected, {g, wb.first, wb.second}, logits);
  if (int8) logits = node("dequantize", mf::Op::Dequantize, {logits}, m.add_activation("fc.f", {1, n_attr}));
  m.outputs = {node("sigmoid", mf::Op::Sigmoid, {logits}, m.add_activation("probs", {1, n_attr}))};
  return m;
}

// One private, zeroed buffer per tensor; the same kernels as the Network.
std::vector<float> naive_run(const faceattr::model::Model& m, Family family, const std::vector<float>& input,
                             const faceattr::kernels::ExecContext& ctx) {
  std::vector<std::vector<float>> buffers(m.tensors.size());
  for (size_t t = 0; t < m.tensors.size(); ++t)
    if (!m.tensors[t].constant) buffers[t].assign(m.tensors[t].bytes() / 4 + 32, 0.0f);
  std::copy(input.begin(), input.end(), buffers[m.input].begin());
  faceattr::kernels::Dispatch dispatch;
  dispatch.preferred = family;
  std::vector<faceattr::kernels::KernelPtr> kernels(m.nodes.size());
  std::vector<std::vector<float>> scales(m.nodes.size());
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    Family used;
    REQUIRE(faceattr::graph::make_node_kernel(m, i, dispatch, &scales[i], &kernels[i], &used).is_ok());
    std::vector<const void*> ins;
    for (size_t k = 0; k < faceattr::graph::bound_input_count(m.nodes[i]); ++k)
      ins.push_back(buffers[m.nodes[i].inputs[k]].data());
    REQUIRE(kernels[i]->bind(ins.data(), ins.size(), buffers[m.nodes[i].output].data(), ctx));
  }
  for (auto& k : kernels) k->run(ctx);
  const auto& out = buffers[m.outputs[0]];
  return std::vector<float>(out.begin(), out.begin() + m.tensors[m.outputs[0]].elements);
}

}  // namespace

TEST_CASE("arena plan: overlapping lifetimes never share bytes, and memory is reused", "[graph]") {
  for (const auto& def : {branchy_model(false, 1), faceattr::test::make_tiny_anet({})}) {
    faceattr::model::Model m;
    const auto bytes = mf::serialize(def);
    REQUIRE(faceattr::model::load_model(bytes.data(), bytes.size(), &m).is_ok());
    const auto plan = faceattr::graph::plan_arena(m);
    const int nt = static_cast<int>(m.tensors.size()), nn = static_cast<int>(m.nodes.size());
    std::vector<int> first(nt, nn + 1), last(nt, -2);
    first[m.input] = -1;
    last[m.input] = nn;
    for (int i = 0; i < nn; ++i) {
      first[m.nodes[i].output] = i;
      last[m.nodes[i].output] = std::max(last[m.nodes[i].output], i);
      for (int t : m.nodes[i].inputs)
        if (t >= 0) last[t] = std::max(last[t], i);
    }
    for (int o : m.outputs) last[o] = nn;
    size_t sum = 0;
    for (int t = 0; t < nt; ++t) {
      if (m.tensors[t].constant) {
        CHECK(plan.offsets[t] == faceattr::graph::kNoOffset);
        continue;
      }
      REQUIRE(plan.offsets[t] != faceattr::graph::kNoOffset);
      CHECK(plan.offsets[t] % 64 == 0);
      CHECK(plan.offsets[t] + m.tensors[t].bytes() <= plan.total_bytes);
      sum += m.tensors[t].bytes();
      for (int u = 0; u < t; ++u) {
        if (m.tensors[u].constant) continue;
        const bool live_together = first[t] <= last[u] && first[u] <= last[t];
        const bool disjoint = plan.offsets[t] + m.tensors[t].bytes() <= plan.offsets[u] ||
                              plan.offsets[u] + m.tensors[u].bytes() <= plan.offsets[t];
        if (live_together) CHECK(disjoint);
      }
    }
    CHECK(plan.total_bytes < sum);
  }
}

TEST_CASE("network in one arena equals a naive executor, every family", "[graph]") {
  faceattr::ThreadPool pool(2);
  for (bool int8 : {false, true}) {
    const auto bytes = mf::serialize(branchy_model(int8, 7));
    std::vector<float> input(12 * 10 * 3);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (auto& v : input) v = u(rng);
    for (Family f : {Family::Reference, Family::Xnnpack, Family::Simd}) {
      if (!faceattr::kernels::family_available(f)) continue;
      for (faceattr::ThreadPool* p : {static_cast<faceattr::ThreadPool*>(nullptr), &pool}) {
        INFO("family " << faceattr::kernels::family_name(f) << ", int8 " << int8 << ", pool "
                       << (p != nullptr));
        faceattr::kernels::ExecContext ctx;
        ctx.pool = p;
        ctx.n_threads = p ? p->size() : 1;
        faceattr::Network net;
        const faceattr::Status st = net.load(bytes.data(), bytes.size(), f, ctx);
        INFO(st.message());
        REQUIRE(st.is_ok());
        REQUIRE(net.node_families().size() == net.model().nodes.size());
        std::copy(input.begin(), input.end(), net.input_ptr());
        REQUIRE(net.run().is_ok());
        const std::vector<float> got(net.output_ptr(), net.output_ptr() + net.output_elements());
        const std::vector<float> want = naive_run(net.model(), f, input, ctx);
        CHECK(got == want);
        // Running again on the same arena gives the same answer: the input survives a run.
        REQUIRE(net.run().is_ok());
        CHECK(std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements()) == got);
        // Node by node (how bench_pipeline's layers/ profile runs it) gives the same answer too.
        REQUIRE(net.node_count() == net.model().nodes.size());
        for (size_t i = 0; i < net.node_count(); ++i) REQUIRE(net.run_nodes(i, i + 1).is_ok());
        CHECK(std::vector<float>(net.output_ptr(), net.output_ptr() + net.output_elements()) == got);
        CHECK(net.run_nodes(1, 0).code() == FACEATTR_ERR_INVALID_ARGUMENT);
        CHECK(net.run_nodes(0, net.node_count() + 1).code() == FACEATTR_ERR_INVALID_ARGUMENT);
      }
    }
  }
}

TEST_CASE("network reports the family used per node", "[graph]") {
  const auto bytes = faceattr::test::tiny_anet_bytes({});
  faceattr::kernels::ExecContext ctx;
  faceattr::Network ref;
  REQUIRE(ref.load(bytes.data(), bytes.size(), Family::Reference, ctx).is_ok());
  for (Family f : ref.node_families()) CHECK(f == Family::Reference);
  CHECK(ref.main_family() == Family::Reference);
  CHECK(ref.arena_bytes() > 0);
  if (faceattr::kernels::family_available(Family::Xnnpack)) {
    faceattr::Network x;
    REQUIRE(x.load(bytes.data(), bytes.size(), Family::Xnnpack, ctx).is_ok());
    CHECK(x.main_family() == Family::Xnnpack);
  }
  faceattr::Network moved = std::move(ref);
  CHECK(moved.loaded());
  CHECK(!ref.loaded());
}
