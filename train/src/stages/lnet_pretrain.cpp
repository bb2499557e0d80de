// lnet-pretrain: self-supervised pre-training of LNet's body on object photos
// (which of 4 rotations a square crop shows). See train/README.md ("LNet").
#include <algorithm>
#include <map>
#include <random>

#include "engine/dist.h"
#include "engine/fit.h"
#include "stages/lnet_common.h"
#include "stages/stages.h"

namespace faceattr::train {
using namespace lnet;

void run_lnet_pretrain(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  // Objects only are needed; the face pools stay small.
  ScenePools pools = load_scene_pools(o, 64, 0);
  LNet net(n_tags(pools), o.lnet_width_mult);
  net->to(dev);
  const int S = 96;  // square crops: a rotation by 90 degrees keeps the shape
  InputSpec in = lnet_input(o);
  const int B = dist::local_batch(o.lnet_batch, "--lnet-batch");  // this rank's share
  auto step = [&](int epoch, int s, std::map<std::string, double>& stats) {
    std::mt19937 rng(
        static_cast<uint32_t>(dist::rank_seed(o.seed * 7 + static_cast<uint64_t>(epoch) * 100003u + s)));
    auto x = torch::empty({B, S, S, 3});
    auto y = torch::empty({B}, torch::kInt64);
    std::vector<float> patch;
    for (int b = 0; b < B; ++b) {
      const RgbImage& im = pools.all_objects[rng() % pools.all_objects.size()];
      const float side =
          std::uniform_real_distribution<float>(0.35f, 1.0f)(rng) * std::min(im.width, im.height);
      const float cx = std::uniform_real_distribution<float>(side / 2, im.width - side / 2)(rng);
      const float cy = std::uniform_real_distribution<float>(side / 2, im.height - side / 2)(rng);
      sample_square(im, cx, cy, side, side, S, S, patch);
      float* d = x.data_ptr<float>() + static_cast<int64_t>(b) * S * S * 3;
      for (size_t i = 0; i < patch.size(); ++i) d[i] = (patch[i] / 255.0f - in.mean[i % 3]) / in.std[i % 3];
      y[b] = static_cast<int64_t>(rng() % 4);
    }
    auto xc = x.permute({0, 3, 1, 2});
    std::vector<torch::Tensor> rotated;
    for (int b = 0; b < B; ++b) rotated.push_back(torch::rot90(xc[b], y[b].item<int64_t>(), {1, 2}));
    auto xb = torch::stack(rotated).contiguous().to(dev);
    auto yb = y.to(dev);
    auto logits = net->rotation_logits(xb);
    stats["rot_acc"] += logits.argmax(1).eq(yb).to(torch::kFloat32).mean().item<double>();
    return torch::nn::functional::cross_entropy(logits, yb);
  };
  GeneratedBatches batches(o.lnet_pretrain_steps, B, step);
  fit(o,
      generated_fit_config(o, "lnet-pretrain", o.lnet_pretrain_epochs, o.lnet_pretrain_lr, "lnet", net.ptr()),
      batches, dev, nullptr);
}

}  // namespace faceattr::train
