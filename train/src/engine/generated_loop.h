// The epoch loop for generated batches (LNet and localiser stages): AdamW with
// warm-up + cosine, progress/ETA, metrics CSV/JSON/HTML, atomic checkpoints
// (<run_dir>/<stage>/<stem>-eN.pt, optimiser, state.json) and --resume.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "engine/options.h"

namespace faceattr::train {

using StepLoss = std::function<torch::Tensor(int epoch, int step, std::map<std::string, double>& stats)>;
using EpochEval = std::function<std::map<std::string, double>()>;

void set_lr(torch::optim::AdamW& opt, double lr);

// `steps` batches of `batch` items per epoch; the final weights go to <stem>.pt.
void train_loop(const Options& o, const std::string& stage, int epochs, int steps, double lr0,
                torch::nn::Module& net, int batch, const std::string& stem, const StepLoss& step_loss,
                const EpochEval& eval);

}  // namespace faceattr::train
