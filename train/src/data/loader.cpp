#include "data/loader.h"

#include <sched.h>

#include <algorithm>
#include <numeric>

#include "util/seed_mix.h"

namespace faceattr::train {

std::vector<int64_t> epoch_order(size_t n, bool shuffle, uint64_t seed, int epoch) {
  std::vector<int64_t> o(n);
  std::iota(o.begin(), o.end(), 0);
  if (shuffle) {
    std::mt19937_64 rng(seed_mix(seed * 1000003u + static_cast<uint64_t>(epoch)));
    for (size_t i = n; i > 1; --i)
      std::swap(o[i - 1], o[std::uniform_int_distribution<size_t>(0, i - 1)(rng)]);
  }
  return o;
}

BatchLoader::BatchLoader(const Dataset& ds, std::vector<int64_t> order, const InputSpec& in,
                         const AugmentSpec& aug, const LoaderOptions& opt)
    : ds_(ds), order_(std::move(order)), in_(in), aug_(aug), opt_(opt) {
  const size_t bs = static_cast<size_t>(std::max(1, opt.batch_size));
  n_batches_ = opt.drop_last ? order_.size() / bs : (order_.size() + bs - 1) / bs;
  for (int i = 0; i < std::max(1, opt.workers); ++i) threads_.emplace_back([this] { worker(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch BatchLoader::build(size_t b) {
  const size_t bs = static_cast<size_t>(opt_.batch_size);
  const size_t begin = b * bs, end = std::min(order_.size(), begin + bs);
  const int64_t n = static_cast<int64_t>(end - begin);
  const int64_t n_attr = ds_.samples.empty() ? 0 : static_cast<int64_t>(ds_.samples[0].attrs.size());
  Batch out;
  auto nhwc = torch::empty({n, in_.height, in_.width, 3}, torch::kFloat32);
  out.labels = torch::empty({n}, torch::kInt64);
  out.attrs = torch::zeros({n, n_attr}, torch::kFloat32);
  float* px = nhwc.data_ptr<float>();
  int64_t* lab = out.labels.data_ptr<int64_t>();
  float* at = out.attrs.data_ptr<float>();
  const size_t per = static_cast<size_t>(in_.height) * in_.width * 3;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = order_[begin + static_cast<size_t>(i)];
    const Sample& s = ds_.samples[static_cast<size_t>(idx)];
    auto img = ds_.cache->get(static_cast<size_t>(idx), s.path);
    const uint64_t pos = begin * static_cast<uint64_t>(opt_.world) + static_cast<uint64_t>(opt_.rank) * bs +
                         static_cast<uint64_t>(i);  // position in the global order
    std::mt19937 rng(static_cast<uint32_t>(
        seed_mix(opt_.seed ^ seed_mix(static_cast<uint64_t>(opt_.epoch) * 7919u + pos))));
    make_input(*img, s.frame, in_, aug_, rng, px + per * static_cast<size_t>(i));
    lab[i] = s.label;
    for (int64_t a = 0; a < n_attr && a < static_cast<int64_t>(s.attrs.size()); ++a)
      at[i * n_attr + a] = s.attrs[a];
    out.indices.push_back(idx);
  }
  out.images = nhwc.permute({0, 3, 1, 2}).contiguous();
  return out;
}

void BatchLoader::worker() {
  if (opt_.background) {
    // SCHED_IDLE: this thread runs only on a core nothing else wants, so it never delays
    // the training thread's wake-up after a collective (a failure leaves it as it was).
    sched_param sp{};
    sched_setscheduler(0, SCHED_IDLE, &sp);
  }
  for (;;) {
    size_t b;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] {
        return stop_ || next_claim_ >= n_batches_ ||
               next_claim_ < next_out_ + static_cast<size_t>(std::max(1, opt_.queue_batches));
      });
      if (stop_ || next_claim_ >= n_batches_) return;
      b = next_claim_++;
    }
    try {
      Batch batch = build(b);
      std::lock_guard<std::mutex> lk(mu_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

bool BatchLoader::next(Batch& out) {
  std::unique_lock<std::mutex> lk(mu_);
  if (next_out_ >= n_batches_) return false;
  cv_.wait(lk, [&] { return error_ || ready_.count(next_out_) > 0; });
  if (error_) std::rethrow_exception(error_);
  auto it = ready_.find(next_out_);
  out = std::move(it->second);
  ready_.erase(it);
  ++next_out_;
  lk.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace faceattr::train
