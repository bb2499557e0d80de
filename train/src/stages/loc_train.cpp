// loc-train: the box-supervised localiser trained on real photos with face
// boxes and composites (penalty-reduced focal loss on the face score, BCE on
// the box channels), validated on letterboxed photos after each epoch. See
// train/README.md ("Localiser").
#include <torch/torch.h>

#include <cstring>
#include <future>
#include <map>
#include <random>

#include "engine/dist.h"
#include "engine/fit.h"
#include "stages/loc_common.h"
#include "stages/stages.h"

namespace faceattr::train {
using namespace loc;
namespace {

struct LocBatch {
  torch::Tensor x, heat, neg_w, reg, reg_w;
};

LocBatch make_batch(const LocPools& p, const InputSpec& in, const Options& o, int stride, int64_t B,
                    uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<LocSample> s;
  const int mh = in.height / stride, mw = in.width / stride;
  const int64_t cells = static_cast<int64_t>(mh) * mw;
  LocBatch b;
  b.heat = torch::empty({B, mh, mw});
  b.neg_w = torch::empty({B, mh, mw});
  b.reg = torch::empty({B, 4, mh, mw});
  b.reg_w = torch::empty({B, mh, mw});
  for (int64_t i = 0; i < B; ++i) {
    s.push_back(compose_loc_train(p, in, rng));
    const LocTargets t =
        loc_targets(s.back(), mh, mw, stride, o.loc_offset_range, o.loc_box_min, o.loc_box_max);
    std::memcpy(b.heat[i].data_ptr<float>(), t.heat.data(), sizeof(float) * cells);
    std::memcpy(b.neg_w[i].data_ptr<float>(), t.neg_w.data(), sizeof(float) * cells);
    std::memcpy(b.reg[i].data_ptr<float>(), t.reg.data(), sizeof(float) * cells * 4);
    std::memcpy(b.reg_w[i].data_ptr<float>(), t.reg_w.data(), sizeof(float) * cells);
  }
  b.x = nchw_of(s);
  return b;
}

// Penalty-reduced focal loss on the face score (CenterNet) + BCE on the box channels.
torch::Tensor loc_loss(const torch::Tensor& out, const LocBatch& b, std::map<std::string, double>& stats) {
  auto z = out.select(1, 0);
  auto logp = torch::log_sigmoid(z), log1mp = torch::log_sigmoid(-z), p = torch::sigmoid(z);
  auto pos = b.heat.ge(0.999).to(torch::kFloat32);
  const auto n_pos = std::max(1.0, pos.sum().item<double>());
  auto pos_loss = -(pos * (1 - p).pow(2) * logp).sum();
  auto neg_loss = -((1 - pos) * b.neg_w * (1 - b.heat).pow(4) * p.pow(2) * log1mp).sum();
  auto score = (pos_loss + neg_loss) / n_pos;
  auto bce =
      torch::binary_cross_entropy_with_logits(out.slice(1, 1, 5), b.reg, {}, {}, torch::Reduction::None)
          .sum(1);
  auto reg = (bce * b.reg_w).sum() / std::max(1.0, b.reg_w.sum().item<double>());
  stats["score_loss"] += score.item<double>();
  stats["box_loss"] += reg.item<double>();
  return score + 2.0 * reg;
}

}  // namespace

void run_loc_train(const Options& o0) {
  LocSetup st = loc_setup(o0);
  const Options& o = st.o;
  const InputSpec& in = st.in;
  LocNet& net = st.net;
  const int stride = st.stride;
  if (!o.loc_init.empty()) {
    load_module(*net, o.loc_init);
    std::fprintf(stderr, "[loc-train] initialised from %s\n", o.loc_init.c_str());
  }
  const auto cost = loc_cost(net, in.width, in.height);
  std::fprintf(stderr, "[loc-train] input %dx%d, stride %d, %.1f M MACs, %.3f M params\n", in.width,
               in.height, stride, cost.macs / 1e6, cost.params / 1e6);
  const LocPools pools = load_loc_pools(o, o.loc_max_mtfl, o.loc_max_celeba);
  const std::vector<ValFrame> frames = val_frames(pools, in);

  // Batches are composed on another thread while the current one trains.
  std::future<LocBatch> next;
  uint64_t counter = 0;
  const int B = dist::local_batch(o.loc_batch, "--loc-batch");  // this rank's share
  auto launch = [&](int epoch) {
    const uint64_t seed =
        dist::rank_seed(o.seed * 1000003ull + static_cast<uint64_t>(epoch) * 7919ull + counter++);
    next = std::async(std::launch::async, [&pools, &in, &o, stride, B, seed] {
      return make_batch(pools, in, o, stride, B, seed);
    });
  };
  int launched_epoch = -1;
  GenerateFn step = [&](int epoch, int, std::map<std::string, double>& stats) {
    if (launched_epoch != epoch) {  // epoch seeds make a resumed run compose the same batches
      if (next.valid()) next.wait();
      counter = 0;
      launch(epoch);
      launched_epoch = epoch;
    }
    LocBatch b = next.get();
    launch(epoch);
    return loc_loss(net->forward(b.x), b, stats);
  };
  EvalFn eval = [&]() {
    const auto maps = frame_maps(frames, [&](const torch::Tensor& x) { return net->forward(x); });
    pipeline::DecodeParams p = base_params(o);
    std::map<std::string, double> m;
    for (float thr : {0.3f, 0.5f}) {
      p.threshold = thr;
      const ValResult r = score_val(maps, frames, p, stride);
      const std::string t = thr < 0.4f ? "t30_" : "t50_";
      m[t + "mtfl"] = r.k[0].recall();
      m[t + "real"] = r.k[1].recall();
      m[t + "real_fp"] = r.k[1].fp_per_image();
      m[t + "crop"] = r.k[2].recall();
      m[t + "objects"] = r.k[3].with_face();
      m[t + "key"] = r.key;
    }
    return m;
  };
  GeneratedBatches batches(o.loc_steps, B, step);
  fit(o, generated_fit_config(o, kStage, o.loc_epochs, o.loc_lr, "loc", net.ptr()), batches, torch::kCPU,
      eval);
  if (next.valid()) next.wait();
}

}  // namespace faceattr::train
