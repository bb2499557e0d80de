#include "engine/dist.h"

#include <torch/csrc/autograd/custom_function.h>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FACEATTR_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <type_traits>

#include "util/seed_mix.h"

namespace faceattr::train::dist {
namespace {

// LibTorch 1.13's process groups derive from c10d::ProcessGroup, 2.x's from
// c10d::Backend; both have the same collective calls.
using GroupBase = std::conditional_t<std::is_base_of_v<c10d::ProcessGroup, c10d::ProcessGroupGloo>,
                                     c10d::ProcessGroup, c10d::Backend>;

struct Group {
  Config cfg;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<GroupBase> pg;
  std::string backend = "none";
  bool on_cuda = false;  // the group takes CUDA tensors (NCCL), on `device`
  torch::Device device = torch::kCPU;
  bool sync_bn = false;
};

Group& group() {
  static Group g;
  return g;
}

[[noreturn]] void peer_failed(const char* what, const std::exception& e) {
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "[dist] rank %d: %s failed: a rank left or did not answer within the %.0f s timeout (",
                group().cfg.rank, what, group().cfg.timeout_s);
  throw PeerError(std::string(msg) + e.what() + ")");
}

void wait(const c10::intrusive_ptr<c10d::Work>& w, const char* what) {
  try {
    w->wait();
  } catch (const std::exception& e) {
    peer_failed(what, e);
  }
}

// Tensors the group can take: CUDA ones for NCCL, CPU ones for Gloo.
torch::Tensor for_group(const torch::Tensor& t) { return group().on_cuda ? t.to(group().device) : t.cpu(); }

// Launches a collective on `t` (launch(pg, tensors) returns its Work) and waits for it;
// a failure to launch or to finish throws PeerError naming `what`.
template <class Launch>
void run_collective(torch::Tensor& t, const char* what, Launch launch) {
  std::vector<torch::Tensor> v{t};
  c10::intrusive_ptr<c10d::Work> w;
  try {
    w = launch(*group().pg, v);
  } catch (const std::exception& e) {
    peer_failed(what, e);
  }
  wait(w, what);
}

void allreduce_tensor(torch::Tensor& t, const char* what) {
  run_collective(t, what, [](GroupBase& pg, std::vector<torch::Tensor>& v) { return pg.allreduce(v); });
}

void broadcast_tensor(torch::Tensor& t, const char* what) {
  run_collective(t, what, [](GroupBase& pg, std::vector<torch::Tensor>& v) { return pg.broadcast(v); });
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end || n < 0 || n > 1 << 20) throw std::runtime_error(std::string(name) + "=" + v + ": not a count");
  return static_cast<int>(n);
}

}  // namespace

Config from_env(Config c, bool world_given, bool rank_given, bool master_given) {
  if (!world_given) c.world_size = env_int("WORLD_SIZE", c.world_size);
  if (!rank_given) c.rank = env_int("RANK", c.rank);
  if (!master_given) {
    const char* a = std::getenv("MASTER_ADDR");
    const char* p = std::getenv("MASTER_PORT");
    const auto colon = c.master.rfind(':');
    std::string host = c.master.substr(0, colon), port = c.master.substr(colon + 1);
    if (a && *a) host = a;
    if (p && *p) port = p;
    c.master = host + ":" + port;
  }
  return c;
}

void init(const Config& c, torch::Device device) {
  Group& g = group();
  g.cfg = c;
  if (c.world_size < 1) throw std::runtime_error("--world-size must be at least 1");
  if (c.rank < 0 || c.rank >= c.world_size)
    throw std::runtime_error("--rank " + std::to_string(c.rank) + " is outside 0.." +
                             std::to_string(c.world_size - 1));
  if (c.world_size == 1) return;
  if (!(c.timeout_s > 0)) throw std::runtime_error("--dist-timeout must be positive");
  // A peer that dies leaves its sockets closed: a write to one must come back as an
  // error (EPIPE, which Gloo raises and the stage reports as "a rank left"), not as
  // SIGPIPE, whose default action ends this rank silently with status 141.
  std::signal(SIGPIPE, SIG_IGN);
  const auto colon = c.master.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::runtime_error("--master " + c.master + ": expected HOST:PORT");
  const std::string host = c.master.substr(0, colon);
  char* end = nullptr;
  const long port = std::strtol(c.master.c_str() + colon + 1, &end, 10);
  if (*end || port < 1 || port > 65535) throw std::runtime_error("--master " + c.master + ": bad port");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(c.timeout_s * 1000));

  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = c.rank == 0;
  so.numWorkers = static_cast<size_t>(c.world_size);
  so.waitWorkers = true;
  so.timeout = timeout;
  try {
    g.store = c10::make_intrusive<c10d::TCPStore>(host, so);
  } catch (const std::exception& e) {
    throw PeerError("[dist] rank " + std::to_string(c.rank) + ": rendezvous at " + c.master +
                    " failed (is rank 0 running, is the port free?): " + e.what());
  }
#ifdef FACEATTR_WITH_NCCL
  if (device.is_cuda()) {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    g.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, c.rank, c.world_size, opts);
    g.backend = "nccl";
    g.on_cuda = true;
    g.device = device;
  }
#endif
  if (!g.pg) {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
    if (iface && *iface)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    else if (host == "127.0.0.1" || host == "localhost")
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 2;
    try {
      g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, c.rank, c.world_size, opts);
    } catch (const std::exception& e) {
      throw PeerError("[dist] rank " + std::to_string(c.rank) + ": Gloo process group: " + e.what());
    }
    g.backend = "gloo";
    (void)device;  // Gloo: tensors are moved to the CPU for each collective
  }
  std::fprintf(stderr, "[dist] rank %d of %d joined %s (%s, timeout %.0f s)\n", c.rank, c.world_size,
               c.master.c_str(), g.backend.c_str(), c.timeout_s);
}

void shutdown() {
  Group& g = group();
  g.pg.reset();
  g.store.reset();
}

bool active() { return group().pg.defined(); }
int rank() { return active() ? group().cfg.rank : 0; }
int world() { return active() ? group().cfg.world_size : 1; }
bool is_root() { return rank() == 0; }
void set_sync_bn(bool on) { group().sync_bn = on; }
bool sync_bn_active() { return active() && group().sync_bn; }

void broadcast_module(torch::nn::Module& m) {
  if (!active()) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> ts;
  for (const auto& p : m.parameters()) ts.push_back(p);
  for (const auto& b : m.buffers()) ts.push_back(b);
  for (auto& t : ts) {
    auto buf = for_group(t.detach().contiguous());
    broadcast_tensor(buf, "parameter broadcast");
    t.copy_(buf);
  }
}

void broadcast_bytes(std::string& bytes) {
  if (!active()) return;
  auto n = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  n = for_group(n);
  broadcast_tensor(n, "broadcast");
  const int64_t size = n.cpu().item<int64_t>();
  auto data = torch::empty({size}, torch::kUInt8);
  if (is_root()) std::copy(bytes.begin(), bytes.end(), data.data_ptr<uint8_t>());
  data = for_group(data);
  broadcast_tensor(data, "broadcast");
  data = data.cpu();
  bytes.assign(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(size));
}

void allreduce_sum(std::vector<double>& v) {
  if (!active() || v.empty()) return;
  auto t = for_group(torch::tensor(v, torch::kFloat64));
  allreduce_tensor(t, "all-reduce");
  t = t.cpu();
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + v.size(), v.begin());
}

void barrier() {
  if (!active()) return;
  std::vector<double> one{1.0};
  allreduce_sum(one);  // a barrier under the group's own timeout
}

int local_batch(int global, const std::string& what) {
  const int n = world();
  if (global % n != 0)
    throw std::runtime_error(what + " " + std::to_string(global) + " does not split over " +
                             std::to_string(n) + " ranks: choose a multiple of the world size");
  return global / n;
}

uint64_t rank_seed(uint64_t seed) {
  const int r = rank();
  return r == 0 ? seed : seed_mix(seed ^ seed_mix(static_cast<uint64_t>(r)));
}

double allreduce_bench_ms(int64_t n_floats, int reps) {
  if (!active()) return 0;
  auto t = for_group(torch::ones({n_floats}));
  std::vector<double> ms;
  for (int i = 0; i < reps + 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    allreduce_tensor(t, "all-reduce benchmark");
    const double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 2) ms.push_back(d);  // two warm-up runs
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// ---------------------------------------------------------------------------------
// GradReducer

struct GradReducer::State {
  struct Slot {
    torch::Tensor param;
    size_t bucket = 0;
    int64_t offset = 0, numel = 0;
    bool ready = false;
    unsigned hook = 0;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> slots;
    size_t pending = 0;
    bool launched = false;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  size_t next_launch = 0;
  std::string error;  // a launch that failed inside a hook (rethrown by finish)

  void launch_in_order() {
    while (next_launch < buckets.size()) {
      Bucket& b = buckets[next_launch];
      if (b.pending != 0) return;
      std::vector<torch::Tensor> v{b.flat};
      try {
        b.work = group().pg->allreduce(v);
      } catch (const std::exception& e) {
        if (error.empty()) error = e.what();
      }
      b.launched = true;
      ++next_launch;
    }
  }

  void on_grad(size_t i, const torch::Tensor& g) {
    Slot& s = slots[i];
    if (s.ready) return;
    Bucket& b = buckets[s.bucket];
    b.flat.narrow(0, s.offset, s.numel).copy_(g.detach().reshape({-1}));
    s.ready = true;
    --b.pending;
    launch_in_order();
  }
};

GradReducer::GradReducer(std::vector<torch::Tensor> params, size_t bucket_bytes)
    : s_(std::make_unique<State>()) {
  if (!active()) return;
  params.erase(
      std::remove_if(params.begin(), params.end(), [](const torch::Tensor& p) { return !p.requires_grad(); }),
      params.end());
  // Reverse order: the backward pass produces the last layers' gradients first.
  std::reverse(params.begin(), params.end());
  int64_t in_bucket = 0;
  std::vector<int64_t> sizes;
  for (auto& p : params) {
    State::Slot s;
    s.param = p;
    s.numel = p.numel();
    if (s_->buckets.empty() ||
        (in_bucket > 0 && (in_bucket + s.numel) * 4 > static_cast<int64_t>(bucket_bytes))) {
      s_->buckets.emplace_back();
      sizes.push_back(0);
      in_bucket = 0;
    }
    s.bucket = s_->buckets.size() - 1;
    s.offset = in_bucket;
    in_bucket += s.numel;
    sizes.back() = in_bucket;
    s_->buckets.back().slots.push_back(s_->slots.size());
    s_->slots.push_back(s);
  }
  for (size_t b = 0; b < s_->buckets.size(); ++b) {
    const auto& p0 = s_->slots[s_->buckets[b].slots.front()].param;
    s_->buckets[b].flat =
        torch::zeros({sizes[b]}, p0.options().device(group().on_cuda ? p0.device() : torch::kCPU));
  }
  State* st = s_.get();
  for (size_t i = 0; i < s_->slots.size(); ++i)
    s_->slots[i].hook = s_->slots[i].param.register_hook([st, i](torch::Tensor g) { st->on_grad(i, g); });
}

GradReducer::~GradReducer() {
  for (auto& s : s_->slots) s.param.remove_hook(s.hook);
}

size_t GradReducer::buckets() const { return s_->buckets.size(); }

void GradReducer::prepare() {
  if (!active()) return;
  for (auto& s : s_->slots) s.ready = false;
  for (auto& b : s_->buckets) {
    b.pending = b.slots.size();
    b.launched = false;
    b.work.reset();
  }
  s_->next_launch = 0;
  s_->error.clear();
}

void GradReducer::finish() {
  if (!active()) return;
  // Gradients that never arrived (parameters outside this step's graph): zeros in
  // the sum, and the parameter keeps its own gradient.
  for (auto& b : s_->buckets)
    for (size_t i : b.slots)
      if (!s_->slots[i].ready) {
        b.flat.narrow(0, s_->slots[i].offset, s_->slots[i].numel).zero_();
        b.pending = 0;
      }
  s_->launch_in_order();
  if (!s_->error.empty()) peer_failed("gradient all-reduce", std::runtime_error(s_->error));
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& b : s_->buckets) wait(b.work, "gradient all-reduce");
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double inv = 1.0 / world();
  torch::NoGradGuard ng;
  for (auto& s : s_->slots) {
    if (!s.ready) continue;
    auto mean = s_->buckets[s.bucket].flat.narrow(0, s.offset, s.numel).view(s.param.sizes()) * inv;
    auto& g = s.param.mutable_grad();
    if (g.defined())
      g.copy_(mean);
    else
      g = mean.to(s.param.device()).clone();
  }
}

// ---------------------------------------------------------------------------------
// Synchronised BatchNorm

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// y = (x - mean) * invstd * w + b over the global batch (`count` values per
// channel; mean and var are the global statistics). Both passes use LibTorch's
// fused eval-mode BatchNorm kernels with the global statistics in place of the
// running ones; the backward pass adds the terms through the batch statistics,
// which need the global sums of dy and dy * x-hat.
class SyncBnFn : public torch::autograd::Function<SyncBnFn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, const torch::Tensor& mean, const torch::Tensor& var,
                               double count, double eps) {
    ctx->save_for_backward({x, w, mean, var});
    ctx->saved_data["count"] = count;
    ctx->saved_data["eps"] = eps;
    return torch::batch_norm(x, w, b, mean, var, /*training=*/false, 0.0, eps, /*cudnn_enabled=*/false);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &mean = saved[2], &var = saved[3];
    const double count = ctx->saved_data["count"].toDouble();
    const double eps = ctx->saved_data["eps"].toDouble();
    const auto gy = grads[0].contiguous();
    const int64_t C = x.size(1);
    // Eval-mode backward: dx = dy * w * invstd, and this rank's sums of dy * x-hat (the
    // weight's gradient) and of dy (the bias's).
    auto [gx, gw, gb] = torch::native_batch_norm_backward(gy, x, w, mean, var, {}, {}, /*train=*/false, eps,
                                                          {true, true, true});
    auto both = for_group(torch::cat({gb.to(torch::kFloat64), gw.to(torch::kFloat64)}));
    allreduce_tensor(both, "BatchNorm backward");
    both = both.to(x.device());
    const auto invstd = (var.to(torch::kFloat64) + eps).rsqrt();
    const auto wd = w.to(torch::kFloat64);
    const auto mg = both.narrow(0, 0, C) / count, mgx = both.narrow(0, C, C) / count;
    // dx -= w * invstd * (mean(dy) + x-hat * mean(dy * x-hat)), which is A + B * x per channel.
    const auto B = wd * invstd * invstd * mgx;
    const auto A = wd * invstd * mg - B * mean.to(torch::kFloat64);
    gx.addcmul_(x, (-B).to(x.scalar_type()).view({1, C, 1, 1}));
    gx.sub_(A.to(x.scalar_type()).view({1, C, 1, 1}));
    // This rank's own sums for the affine parameters: the GradReducer averages them.
    return {gx, gw, gb, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn) {
  const auto& opt = bn.options;
  if (!opt.affine() || !opt.track_running_stats())
    throw std::runtime_error("sync_batch_norm: needs an affine BatchNorm with running statistics");
  const int64_t C = x.size(1);
  torch::Tensor mean, var;
  double count = 0;
  {
    torch::NoGradGuard ng;
    // This rank's sums of x and x^2 per channel, accumulated in double (LibTorch's CPU
    // var_mean over (N, H, W) took 6.3 ms here for a [32, 24, 40, 32] batch, these 1.9 ms).
    const auto xd = x.detach();
    auto sums = for_group(torch::cat(
        {xd.sum({0, 2, 3}, false, torch::kFloat64), (xd * xd).sum({0, 2, 3}, false, torch::kFloat64),
         torch::full({1}, static_cast<double>(x.numel() / C),
                     torch::TensorOptions().dtype(torch::kFloat64).device(x.device()))}));
    allreduce_tensor(sums, "BatchNorm statistics");
    sums = sums.cpu();
    count = sums[2 * C].item<double>();
    const auto gm = sums.narrow(0, 0, C) / count;
    const auto gv = (sums.narrow(0, C, C) / count - gm * gm).clamp_min(0);
    mean = gm.to(x.options());
    var = gv.to(x.options());
    const double mom = opt.momentum().value_or(0.1);
    bn.running_mean.mul_(1 - mom).add_(mean.to(bn.running_mean.scalar_type()), mom);
    bn.running_var.mul_(1 - mom).add_((gv * (count / std::max(1.0, count - 1))).to(bn.running_var.options()),
                                      mom);
    bn.num_batches_tracked.add_(1);
  }
  return SyncBnFn::apply(x, bn.weight, bn.bias, mean, var, count, opt.eps());
}

}  // namespace faceattr::train::dist
