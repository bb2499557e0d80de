#include "engine/batches.h"

#include <algorithm>

#include "engine/dist.h"

namespace faceattr::train {

LoaderBatches::LoaderBatches(const Options& o, const Dataset& ds, torch::Device device, StepFn step)
    : o_(o), ds_(ds), device_(device), step_(std::move(step)) {
  local_batch_ = static_cast<size_t>(dist::local_batch(o.batch_size, "--batch"));
  steps_ = ds.samples.size() / static_cast<size_t>(o.batch_size);  // drop_last
  if (o.max_steps > 0) steps_ = std::min(steps_, static_cast<size_t>(o.max_steps));
}

void LoaderBatches::begin_epoch(int epoch) {
  LoaderOptions lo;
  lo.batch_size = static_cast<int>(local_batch_);
  lo.workers = o_.workers;
  lo.drop_last = true;
  lo.seed = o_.seed;
  lo.epoch = epoch;
  lo.world = dist::world();
  lo.rank = dist::rank();
  lo.background = dist::active();
  AugmentSpec aug = o_.augment;
  aug.enabled = true;
  std::vector<int64_t> order = epoch_order(ds_.samples.size(), true, o_.seed, epoch);
  if (lo.world > 1) {  // this rank's share of every global batch, in step order
    const size_t B = static_cast<size_t>(o_.batch_size), b = local_batch_, r = static_cast<size_t>(lo.rank);
    std::vector<int64_t> share;
    share.reserve(steps_ * b);
    for (size_t s = 0; s < steps_; ++s)
      share.insert(share.end(), order.begin() + static_cast<std::ptrdiff_t>(s * B + r * b),
                   order.begin() + static_cast<std::ptrdiff_t>(s * B + r * b + b));
    order = std::move(share);
  }
  loader_ = std::make_unique<BatchLoader>(ds_, std::move(order), o_.input, aug, lo);
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
