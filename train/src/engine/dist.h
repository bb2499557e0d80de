// Data-parallel training over LibTorch's c10d (train/README.md "Distributed
// training"): ranks meet through a TCPStore on the master, and talk through a
// process group (Gloo on CPUs; NCCL for CUDA tensors where LibTorch was built
// with it). LibTorch's C++ frontend has no DistributedDataParallel, so the DDP
// pieces are here:
//   - parameters and buffers broadcast from rank 0 (start and resume);
//   - GradReducer: gradients all-reduced in buckets, launched from autograd
//     hooks while the backward pass goes on, then averaged;
//   - sync_batch_norm: BatchNorm over the global batch (statistics and their
//     gradients all-reduced), so N ranks train the network one rank would;
//   - sharding helpers for the batch sources.
// Every collective runs under the process group's timeout, and a collective that
// fails (a rank died, or none answered in time) throws dist::PeerError.
// With world size 1 every call is a no-op and nothing is linked in at run time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace faceattr::train::dist {

struct Config {
  int world_size = 1;
  int rank = 0;
  std::string master = "127.0.0.1:29500";  // host:port of rank 0's TCPStore
  double timeout_s = 300;                  // rendezvous and every collective
};

// A collective failed: a peer left, or did not answer within the timeout.
struct PeerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Fills a Config from WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT (the
// variables torchrun sets); fields given as flags (non-default) win.
Config from_env(Config flags, bool world_given, bool rank_given, bool master_given);

// Joins the group: blocks until every rank has arrived (or the timeout). The
// backend is NCCL when `device` is CUDA and LibTorch has it, else Gloo. No-op for
// world_size 1. Throws on a bad config or a failed rendezvous.
void init(const Config& c, torch::Device device);
void shutdown();

bool active();  // world size > 1
int rank();
int world();
bool is_root();  // rank 0, or not distributed

// Rank 0's parameters and buffers overwrite every other rank's.
void broadcast_module(torch::nn::Module& m);
// Rank 0's bytes overwrite every other rank's.
void broadcast_bytes(std::string& bytes);
// Element-wise sum over the ranks, in place.
void allreduce_sum(std::vector<double>& v);
void barrier();

// This rank's share of a global batch of `global` items (global / world); throws
// when `global` does not split evenly, naming `what` (the flag).
int local_batch(int global, const std::string& what);
// A seed for this rank's own random draws: `seed` itself on rank 0 (and without
// distribution), a well-mixed other stream on every other rank.
uint64_t rank_seed(uint64_t seed);

// Median time (ms) of a blocking all-reduce of `n_floats` floats over `reps` runs.
double allreduce_bench_ms(int64_t n_floats, int reps);

// Gradient all-reduce in buckets of about `bucket_bytes`, in reverse parameter
// order (the order the backward pass produces them). A bucket is launched as soon
// as all its gradients are in and every earlier bucket has been launched, so all
// ranks issue the same collectives in the same order. finish() waits, and
// replaces each gradient by the mean over the ranks. Parameters without a
// gradient in a step keep theirs (every rank runs the same graph).
class GradReducer {
 public:
  GradReducer(std::vector<torch::Tensor> params, size_t bucket_bytes = 1u << 20);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  void prepare();                            // before backward
  void finish();                             // after backward, before the optimiser step
  double wait_s() const { return wait_s_; }  // time finish() spent waiting, summed
  size_t buckets() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  double wait_s_ = 0;
};

// Whether the model's BatchNorm layers call sync_batch_norm in training mode:
// distributed with --sync-bn (without it, each rank normalises its own share).
void set_sync_bn(bool on);
bool sync_bn_active();

// BatchNorm2d in training mode over the batch of all ranks: the batch mean and
// variance come from all-reduced sums, the backward pass all-reduces the sums it
// needs, and the running statistics follow the global batch (as `bn` would on
// one rank with the whole batch).
torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn);

}  // namespace faceattr::train::dist
