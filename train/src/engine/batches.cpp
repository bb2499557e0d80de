#include "engine/batches.h"

#include <algorithm>

namespace faceattr::train {

LoaderBatches::LoaderBatches(const Options& o, const Dataset& ds, torch::Device device, StepFn step)
    : o_(o), ds_(ds), device_(device), step_(std::move(step)) {
  steps_ = ds.samples.size() / static_cast<size_t>(o.batch_size);  // drop_last
  if (o.max_steps > 0) steps_ = std::min(steps_, static_cast<size_t>(o.max_steps));
}

void LoaderBatches::begin_epoch(int epoch) {
  LoaderOptions lo;
  lo.batch_size = o_.batch_size;
  lo.workers = o_.workers;
  lo.drop_last = true;
  lo.seed = o_.seed;
  lo.epoch = epoch;
  AugmentSpec aug = o_.augment;
  aug.enabled = true;
  loader_ = std::make_unique<BatchLoader>(ds_, epoch_order(ds_.samples.size(), true, o_.seed, epoch),
                                          o_.input, aug, lo);
}

bool LoaderBatches::next(int, size_t, std::map<std::string, double>& stats, StepLoss* out) {
  Batch b;
  if (!loader_->next(b)) return false;
  b.images = b.images.to(device_);
  b.labels = b.labels.to(device_);
  b.attrs = b.attrs.to(device_);
  out->loss = step_(b, stats);
  out->weight = static_cast<double>(b.indices.size());
  out->images = b.indices.size();
  return true;
}

GeneratedBatches::GeneratedBatches(int steps, int batch, GenerateFn generate)
    : steps_(static_cast<size_t>(std::max(0, steps))),
      batch_(static_cast<size_t>(std::max(0, batch))),
      generate_(std::move(generate)) {}

bool GeneratedBatches::next(int epoch, size_t step, std::map<std::string, double>& stats, StepLoss* out) {
  out->loss = generate_(epoch, static_cast<int>(step), stats);
  out->weight = 1;
  out->images = batch_;
  return true;
}

}  // namespace faceattr::train
