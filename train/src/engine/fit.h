// The epoch loop shared by the training stages: AdamW with linear warm-up and
// cosine decay, progress bar, per-epoch metrics (CSV/JSON/HTML), atomic
// per-epoch checkpoints and --resume.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data/loader.h"
#include "engine/history.h"
#include "engine/options.h"

namespace faceattr::train {

struct FitConfig {
  std::string stage;  // folder under run_dir and title
  int epochs = 1;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double warmup_epochs = 1.0;
  // Modules saved in each checkpoint, by file stem.
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules;
};

// Returns the batch loss (a scalar tensor with grad) and may add named running
// statistics (summed over samples) to `stats`.
using StepFn = std::function<torch::Tensor(const Batch&, std::map<std::string, double>& stats)>;
// Evaluates after each epoch (modules in eval mode); returns named metrics.
using EvalFn = std::function<std::map<std::string, double>()>;

torch::Device pick_device(const std::string& requested);

// Trains `cfg.modules` on `train`, resuming from run_dir/<stage> when
// o.resume and a checkpoint exists. Returns the history.
History fit(const Options& o, const FitConfig& cfg, const Dataset& train, torch::Device device,
            const StepFn& step, const EvalFn& eval);

// Loads the final weights a finished stage wrote (run_dir/<stage>/<stem>.pt).
// Tensors are loaded onto `device` (checkpoints are device independent).
void load_module(torch::nn::Module& m, const std::string& path, torch::Device device = torch::kCPU);
void save_module_atomic(torch::nn::Module& m, const std::string& path);

}  // namespace faceattr::train
