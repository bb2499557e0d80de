// Batches from a Dataset: worker threads decode (through the cache) and
// augment; finished batches wait in a bounded reorder buffer and come out in
// order. Each sample's random draws are seeded by (seed, epoch, position), so
// a run is repeatable whatever the thread timing.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"

namespace faceattr::train {

struct Batch {
  torch::Tensor images;          // [B,3,H,W] float
  torch::Tensor labels;          // [B] int64 (identity class; -1 when none)
  torch::Tensor attrs;           // [B,A] float 0/1 (A = 0 when the dataset has none)
  std::vector<int64_t> indices;  // sample indices
};

struct LoaderOptions {
  int batch_size = 64;
  int workers = 2;
  int queue_batches = 8;  // bounded: workers stop this many batches ahead
  bool drop_last = false;
  uint64_t seed = 1;
  int epoch = 0;
  // Distributed: this loader yields rank `rank`'s share of each global batch of
  // batch_size * world samples, and seeds each sample by its global position, so
  // that the shares of all ranks together draw what one process would.
  int world = 1, rank = 0;
  // Workers in the idle scheduling class (Linux SCHED_IDLE). Distributed runs set it:
  // there every rank meets the others 16+ times per step (BatchNorm and gradient
  // all-reduces), and a loader thread holding the core when a collective completes
  // delays both ranks (2 ranks on 2 cores: 335 -> 380 img/s, AMD EPYC Zen 3).
  bool background = false;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& ds, std::vector<int64_t> order, const InputSpec& in, const AugmentSpec& aug,
              const LoaderOptions& opt);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  size_t num_batches() const { return n_batches_; }
  // Next batch in order; false when the epoch is done. Rethrows worker errors.
  bool next(Batch& out);

 private:
  void worker();
  Batch build(size_t b);

  const Dataset& ds_;
  std::vector<int64_t> order_;
  InputSpec in_;
  AugmentSpec aug_;
  LoaderOptions opt_;
  size_t n_batches_ = 0;
  size_t next_claim_ = 0, next_out_ = 0;
  std::map<size_t, Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

// Identity order, or a permutation drawn from (seed, epoch).
std::vector<int64_t> epoch_order(size_t n, bool shuffle, uint64_t seed, int epoch);

}  // namespace faceattr::train
