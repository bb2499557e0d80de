#include <chrono>
#include <cstdio>

#include "engine/fit.h"
#include "model/anet.h"
#include "stages/stages.h"

namespace faceattr::train {

void run_bench(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  ANet net(40, o.width_mult, o.dropout);
  auto cost = anet_cost(net, o.input.width, o.input.height);
  std::printf("ANet width %.2f input %dx%d: %.2f M MACs, %.3f M params\n", o.width_mult, o.input.width,
              o.input.height, cost.macs / 1e6, cost.params / 1e6);
  net->to(dev);
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(1e-3));
  auto x = torch::randn({o.batch_size, 3, o.input.height, o.input.width}).to(dev);
  auto y = torch::randint(0, 2, {o.batch_size, 40}).to(torch::kFloat32).to(dev);
  const int steps = o.max_steps > 0 ? o.max_steps : 20;
  for (int i = 0; i < steps + 3; ++i) {
    if (i == 3) {
      if (dev.is_cuda()) torch::cuda::synchronize();
    }
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(net->forward(x), y);
    loss.backward();
    opt.step();
    (void)t0;
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(net->forward(x), y);
    loss.backward();
    opt.step();
  }
  if (dev.is_cuda()) torch::cuda::synchronize();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("train: %.1f img/s (batch %d, %d threads, %s)\n", steps * o.batch_size / s, o.batch_size,
              o.threads, dev.str().c_str());
  net->eval();
  torch::NoGradGuard ng;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) net->forward(x);
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("inference: %.1f img/s\n", steps * o.batch_size / s);
}

}  // namespace faceattr::train
