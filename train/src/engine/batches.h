// Where fit() gets its batches: a BatchSource yields each training step's loss
// (the batch is drawn and the network run inside it), so the one epoch loop
// serves dataset stages (ANet) and generated ones (LNet, localiser, joint).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "data/loader.h"
#include "engine/options.h"

namespace faceattr::train {

// One step's loss and what it counts for in the epoch's averages.
struct StepLoss {
  torch::Tensor loss;  // scalar, with grad
  double weight = 1;   // weight of the loss and of the step's statistics in the epoch means
  size_t images = 0;   // images in the batch (throughput)
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual size_t steps_per_epoch() const = 0;
  virtual size_t batch_size() const = 0;  // images per step, for the progress bar
  // Called before the epoch's first step (after the epoch's torch seed is set).
  virtual void begin_epoch(int epoch) = 0;
  // Called after the epoch's last step.
  virtual void end_epoch() {}
  // Step `step` (from 0) of `epoch`: its loss; named running statistics go to `stats`,
  // summed with the step's weight. False when the epoch has no more batches.
  virtual bool next(int epoch, size_t step, std::map<std::string, double>& stats, StepLoss* out) = 0;
};

// Returns the batch loss (a scalar tensor with grad) and may add named running
// statistics (summed over samples) to `stats`.
using StepFn = std::function<torch::Tensor(const Batch&, std::map<std::string, double>& stats)>;

// Dataset batches: augmented, shuffled per (seed, epoch), full batches only, at most
// --max-steps per epoch, moved to `device`. A step's weight is its number of images.
// Distributed, each rank takes its 1/world share of every global batch of --batch.
class LoaderBatches : public BatchSource {
 public:
  LoaderBatches(const Options& o, const Dataset& ds, torch::Device device, StepFn step);
  size_t steps_per_epoch() const override { return steps_; }
  size_t batch_size() const override { return local_batch_; }  // this rank's share
  void begin_epoch(int epoch) override;
  void end_epoch() override { loader_.reset(); }
  bool next(int epoch, size_t step, std::map<std::string, double>& stats, StepLoss* out) override;

 private:
  const Options& o_;
  const Dataset& ds_;
  torch::Device device_;
  StepFn step_;
  size_t steps_ = 0, local_batch_ = 0;
  std::unique_ptr<BatchLoader> loader_;
};

// Builds batch `step` of `epoch` itself (from seeds of its own) and returns its loss;
// statistics go to `stats` once per step.
using GenerateFn = std::function<torch::Tensor(int epoch, int step, std::map<std::string, double>& stats)>;

// Generated batches: `steps` per epoch of `batch` items each; every step weighs 1.
class GeneratedBatches : public BatchSource {
 public:
  GeneratedBatches(int steps, int batch, GenerateFn generate);
  size_t steps_per_epoch() const override { return steps_; }
  size_t batch_size() const override { return batch_; }
  void begin_epoch(int) override {}
  bool next(int epoch, size_t step, std::map<std::string, double>& stats, StepLoss* out) override;

 private:
  size_t steps_, batch_;
  GenerateFn generate_;
};

}  // namespace faceattr::train
