// lnet-train: weakly supervised LNet training on composed scenes (image-level
// tags pooled from the tag maps; --box-supervision: per-cell face targets, for
// comparison), the decoder tuned on validation scenes after each epoch. See
// train/README.md ("LNet").
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

#include "engine/dist.h"
#include "engine/fit.h"
#include "stages/lnet_common.h"
#include "stages/stages.h"

namespace faceattr::train {
using namespace lnet;
namespace fs = std::filesystem;
namespace {

// Per-cell face targets: 1 where the cell centre lies inside a pasted rectangle (--box-supervision).
torch::Tensor box_targets(const std::vector<Scene>& sc, int mh, int mw, float cell_w, float cell_h) {
  auto t = torch::zeros({static_cast<int64_t>(sc.size()), 1, mh, mw});
  auto a = t.accessor<float, 4>();
  for (size_t b = 0; b < sc.size(); ++b)
    for (const auto& f : sc[b].faces)
      for (int i = 0; i < mh; ++i)
        for (int j = 0; j < mw; ++j) {
          const float cx = (j + 0.5f) * cell_w, cy = (i + 0.5f) * cell_h;
          if (cx >= f.x && cx < f.x + f.w && cy >= f.y && cy < f.y + f.h) a[b][0][i][j] = 1;
        }
  return t;
}

torch::Tensor pool_maps(const torch::Tensor& maps, const Options& o) {
  auto flat = maps.flatten(2);  // [B, T, HW]
  if (o.lnet_pool == "max") return std::get<0>(flat.max(2));
  if (o.lnet_pool == "mean") return flat.mean(2);
  const double r = o.lnet_lse_r;
  return (torch::logsumexp(flat * r, 2) - std::log(static_cast<double>(flat.size(2)))) / r;
}

}  // namespace

void run_lnet_train(const Options& o) {
  if (!(o.lnet_hide_prob >= 0 && o.lnet_hide_prob <= 1))
    throw std::runtime_error("lnet_hide_prob must be in [0, 1]");
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  ScenePools pools = load_scene_pools(o, o.lnet_max_celeba, o.lnet_max_lfw);
  const InputSpec in = lnet_input(o);
  const int T = n_tags(pools);
  LNet net(T, o.lnet_width_mult);
  std::string init = o.lnet_init == "auto" ? o.run_dir + "/lnet-pretrain/lnet.pt" : o.lnet_init;
  if (o.lnet_init_keep_head && (init.empty() || !fs::exists(init)))
    throw std::runtime_error("lnet_init_keep_head: no trained LNet to fine-tune at '" + init +
                             "' (--lnet-init)");
  if (!init.empty()) {
    if (o.lnet_init == "auto" && !fs::exists(init)) {
      std::fprintf(stderr, "[lnet] no pre-trained body at %s: training from scratch\n", init.c_str());
    } else {
      load_module(*net, init);
      if (!o.lnet_init_keep_head) {
        torch::NoGradGuard ng;
        net->tags->weight.normal_(0, 0.01);
        net->tags->bias.fill_(-3.0);
      }
      std::fprintf(stderr, "[lnet] %s from %s\n", o.lnet_init_keep_head ? "whole net (fine-tuning)" : "body",
                   init.c_str());
    }
  }
  net->to(dev);
  const int stride = lnet_stride(net);
  // Training scenes may be smaller than the input (same pixel scale, fewer pixels per step).
  InputSpec tin = in;
  tin.width = o.lnet_train_width;
  tin.height = o.lnet_train_height;
  if (tin.width % stride || tin.height % stride)
    throw std::runtime_error("LNet training scene size must be a multiple of the stride");
  const int mh = tin.height / stride, mw = tin.width / stride;
  const float cw = static_cast<float>(stride), chh = static_cast<float>(stride);
  const int n_val = std::min(o.lnet_val_scenes, 300);
  auto vs = val_scenes(pools, in, o, n_val);
  auto xv = scenes_nchw(vs);
  std::vector<int> even, odd, odd_protocol, odd_large, even_protocol, even_large;
  for (int i = 0; i < static_cast<int>(vs.size()); ++i) (i % 2 ? odd : even).push_back(i);
  split_val(n_val, odd, odd_protocol, odd_large);
  split_val(n_val, even, even_protocol, even_large);
  const std::vector<int>& tune_set = o.lnet_val_tune_large ? even : even_protocol;
  const double wf = o.lnet_face_weight;
  auto tag_w = torch::ones({T});
  tag_w[T - 1] = wf;
  tag_w = (tag_w / tag_w.sum()).to(dev);
  const int B = dist::local_batch(o.lnet_batch, "--lnet-batch");  // this rank's share
  auto step = [&](int epoch, int s, std::map<std::string, double>& stats) {
    std::mt19937 rng(
        static_cast<uint32_t>(dist::rank_seed(o.seed * 11 + static_cast<uint64_t>(epoch) * 1000003u + s)));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Scene> sc;
    for (int b = 0; b < B; ++b)
      sc.push_back(compose_train_scene(pools, tin, rng, static_cast<float>(o.lnet_large_face_prob),
                                       static_cast<float>(o.lnet_large_face_max),
                                       static_cast<float>(o.lnet_face_min),
                                       static_cast<float>(o.lnet_face_max)));
    if (o.lnet_hide_prob > 0) {
      // Hide-and-Seek: its own generator, so the composed scenes are those of an unhidden run.
      std::mt19937 hrng(
          static_cast<uint32_t>(dist::rank_seed(o.seed * 13 + static_cast<uint64_t>(epoch) * 1000033u + s)));
      double hidden = 0, total = 0;
      for (auto& scene : sc) {
        hidden += hide_patches(scene, static_cast<float>(o.lnet_hide_prob), o.lnet_hide_patch, hrng);
        total += static_cast<double>(scene.width) * scene.height;
      }
      stats["hidden_frac"] += hidden / total;
    }
    stats["compose_s"] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto x = scenes_nchw(sc).to(dev);
    auto tags = torch::empty({B, T});
    for (int b = 0; b < B; ++b)
      std::copy(sc[b].tags.begin(), sc[b].tags.end(), tags.data_ptr<float>() + b * T);
    tags = tags.to(dev);
    auto maps = net->tag_maps(x);  // [B, T, mh, mw]
    auto pooled = pool_maps(maps, o);
    auto per_tag = torch::binary_cross_entropy_with_logits(pooled, tags, {}, {}, at::Reduction::None).mean(0);
    torch::Tensor loss;
    if (!o.box_supervision) {
      loss = (per_tag * tag_w).sum();
    } else {
      // Attribute tags as in the weak recipe; the face map gets per-cell targets.
      auto tgt = box_targets(sc, mh, mw, cw, chh).to(dev);
      auto face = maps.slice(1, T - 1, T);
      auto pw = torch::full({1}, 4.0, torch::TensorOptions().device(dev));
      auto cell_loss = torch::binary_cross_entropy_with_logits(face, tgt, {}, pw);
      loss = (per_tag.slice(0, 0, T - 1) * tag_w.slice(0, 0, T - 1)).sum() + tag_w[T - 1] * cell_loss * 4.0;
    }
    stats["face_tag_bce"] += per_tag[T - 1].item<double>();
    return loss;
  };
  auto eval = [&]() {
    std::map<std::string, double> r;
    auto xd = xv.to(dev);
    for (const char* which : {"face", "mean"}) {
      auto maps = module_maps(net, xd, which).to(torch::kCPU);
      Tuned t = tune_decoder(maps, vs, tune_set, odd, cw, chh, true);
      const LocResult rp = localise(maps, vs, odd_protocol, t.params, cw, chh);
      r[std::string("val_found_") + which] = rp.found;
      r[std::string("val_free_fp_") + which] = rp.free_with_face;
      if (!odd_large.empty())
        r[std::string("val_found_large_") + which] = localise(maps, vs, odd_large, t.params, cw, chh).found;
    }
    net->train();
    return r;
  };
  GeneratedBatches batches(o.lnet_steps, B, step);
  fit(o, generated_fit_config(o, train_stage(o), o.lnet_epochs, o.lnet_lr, "lnet", net.ptr()), batches, dev,
      eval);
  auto cost = lnet_cost(net, in.width, in.height);
  std::fprintf(stderr, "[lnet] %s: %.1f M MACs at %dx%d, %.3f M parameters (exported)\n",
               train_stage(o).c_str(), cost.macs / 1e6, in.width, in.height, cost.params / 1e6);
}

}  // namespace faceattr::train
