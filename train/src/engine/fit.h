// The epoch loop of every training stage: AdamW (no weight decay on BN and
// biases) with linear warm-up and cosine decay, progress bar with ETA,
// per-epoch metrics (CSV/JSON/HTML), atomic per-epoch checkpoints and
// --resume. The batches come from a BatchSource (engine/batches.h).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/batches.h"
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

// The generated-batch stages (LNet, localiser, joint): one module saved as <stem>.pt,
// weight decay from the options, warm-up over the first 0.3 epoch.
FitConfig generated_fit_config(const Options& o, const std::string& stage, int epochs, double lr,
                               const std::string& stem, std::shared_ptr<torch::nn::Module> net);

// Evaluates after each epoch (modules in eval mode); returns named metrics.
using EvalFn = std::function<std::map<std::string, double>()>;

torch::Device pick_device(const std::string& requested);

// Trains `cfg.modules` (moved to `device`) on the batches of `batches`, resuming from
// run_dir/<stage> when o.resume and a checkpoint exists. The final weights go to
// run_dir/<stage>/<stem>.pt. Returns the history.
History fit(const Options& o, const FitConfig& cfg, BatchSource& batches, torch::Device device,
            const EvalFn& eval);

// Loads the final weights a finished stage wrote (run_dir/<stage>/<stem>.pt).
// Tensors are loaded onto `device` (checkpoints are device independent).
void load_module(torch::nn::Module& m, const std::string& path, torch::Device device = torch::kCPU);
// Writes the module's archive atomically (util/atomic_file.h); `kill_point` names the
// write for the test-only kill hook.
void save_module_atomic(torch::nn::Module& m, const std::string& path, const std::string& kill_point = "");

}  // namespace faceattr::train
