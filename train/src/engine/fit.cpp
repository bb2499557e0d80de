#include "engine/fit.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "util/progress.h"

namespace faceattr::train {
namespace fs = std::filesystem;

torch::Device pick_device(const std::string& requested) {
  if (requested == "cpu") return torch::kCPU;
  if (requested == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("--device cuda requested but CUDA is not available");
    return torch::kCUDA;
  }
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

void save_module_atomic(torch::nn::Module& m, const std::string& path) {
  torch::serialize::OutputArchive ar;
  m.save(ar);
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  fs::rename(tmp, path);
}

void load_module(torch::nn::Module& m, const std::string& path, torch::Device device) {
  if (!fs::exists(path)) throw std::runtime_error("checkpoint not found: " + path);
  torch::serialize::InputArchive ar;
  ar.load_from(path, device);
  m.load(ar);
}

static void set_lr(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

History fit(const Options& o, const FitConfig& cfg, const Dataset& train, torch::Device device,
            const StepFn& step, const EvalFn& eval) {
  const std::string dir = o.run_dir + "/" + cfg.stage;
  fs::create_directories(dir);
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& [stem, m] : cfg.modules) {
    m->to(device);
    for (const auto& p : m->parameters())
      (p.dim() <= 1 ? no_decay : decay).push_back(p);  // BN and biases: no decay
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(cfg.lr).weight_decay(0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(cfg.lr));

  History hist;
  int start_epoch = 1;
  const std::string state_path = dir + "/state.json";
  if (o.resume && fs::exists(state_path)) {
    std::ifstream f(state_path);
    auto st = nlohmann::json::parse(f);
    const int done = st.at("epoch").get<int>();
    if (st.value("seed", o.seed) != o.seed) throw std::runtime_error("--resume with a different seed");
    for (auto& [stem, m] : cfg.modules)
      load_module(*m, dir + "/" + stem + "-e" + std::to_string(done) + ".pt", device);
    torch::serialize::InputArchive ar;
    ar.load_from(dir + "/optim-e" + std::to_string(done) + ".pt",
                 device);  // optimizer state on the training device
    opt.load(ar);
    hist = History::from_json(st.at("history"));
    start_epoch = done + 1;
    std::fprintf(stderr, "[%s] resuming after epoch %d\n", cfg.stage.c_str(), done);
  }

  const size_t bs = static_cast<size_t>(o.batch_size);
  size_t steps_per_epoch = train.samples.size() / bs;  // drop_last
  if (o.max_steps > 0) steps_per_epoch = std::min(steps_per_epoch, static_cast<size_t>(o.max_steps));
  if (steps_per_epoch == 0) throw std::runtime_error("[" + cfg.stage + "] fewer samples than one batch");
  const double total_steps = static_cast<double>(steps_per_epoch) * cfg.epochs;
  const double warm = cfg.warmup_epochs * static_cast<double>(steps_per_epoch);

  for (int epoch = start_epoch; epoch <= cfg.epochs; ++epoch) {
    torch::manual_seed(o.seed * 131 + static_cast<uint64_t>(epoch));
    for (auto& [stem, m] : cfg.modules) m->train();
    LoaderOptions lo;
    lo.batch_size = o.batch_size;
    lo.workers = o.workers;
    lo.drop_last = true;
    lo.seed = o.seed;
    lo.epoch = epoch;
    AugmentSpec aug = o.augment;
    aug.enabled = true;
    BatchLoader loader(train, epoch_order(train.samples.size(), true, o.seed, epoch), o.input, aug, lo);
    Progress bar("[" + cfg.stage + "] epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs),
                 steps_per_epoch, bs);
    std::map<std::string, double> stats;
    double loss_sum = 0, lr = cfg.lr;
    size_t seen = 0, s = 0;
    Batch b;
    while (s < steps_per_epoch && loader.next(b)) {
      const double t = static_cast<double>((epoch - 1) * steps_per_epoch + s);
      lr = t < warm ? cfg.lr * (t + 1) / warm
                    : cfg.lr * 0.5 * (1 + std::cos(M_PI * (t - warm) / std::max(1.0, total_steps - warm)));
      set_lr(opt, lr);
      b.images = b.images.to(device);
      b.labels = b.labels.to(device);
      b.attrs = b.attrs.to(device);
      opt.zero_grad();
      torch::Tensor loss = step(b, stats);
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) throw std::runtime_error("[" + cfg.stage + "] loss is not finite");
      loss_sum += l * static_cast<double>(b.indices.size());
      seen += b.indices.size();
      ++s;
      char extra[64];
      std::snprintf(extra, sizeof extra, "loss %.4f", loss_sum / static_cast<double>(seen));
      bar.update(s, extra);
    }
    const double secs = bar.elapsed_s();
    bar.finish("");
    EpochRecord rec;
    rec.epoch = epoch;
    rec.values["train_loss"] = loss_sum / static_cast<double>(seen);
    for (auto& [k, v] : stats) rec.values[k] = v / static_cast<double>(seen);
    rec.values["lr"] = lr;
    rec.values["seconds"] = secs;
    rec.values["img_per_s"] = static_cast<double>(seen) / secs;
    for (auto& [stem, m] : cfg.modules) m->eval();
    {
      torch::NoGradGuard ng;
      if (eval)
        for (auto& [k, v] : eval()) rec.values[k] = v;
    }
    std::string line = "[" + cfg.stage + "] epoch " + std::to_string(epoch);
    for (auto& [k, v] : rec.values) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s=%.5g", k.c_str(), v);
      line += buf;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    hist.records.push_back(rec);

    // Checkpoint: files for this epoch first, then state.json (the commit point), then old files.
    for (auto& [stem, m] : cfg.modules)
      save_module_atomic(*m, dir + "/" + stem + "-e" + std::to_string(epoch) + ".pt");
    {
      torch::serialize::OutputArchive ar;
      opt.save(ar);
      const std::string p = dir + "/optim-e" + std::to_string(epoch) + ".pt";
      ar.save_to(p + ".tmp");
      fs::rename(p + ".tmp", p);
    }
    nlohmann::json st;
    st["epoch"] = epoch;
    st["seed"] = o.seed;
    st["history"] = hist.to_json();
    write_text_atomic(state_path, st.dump(2) + "\n");
    std::error_code ec;
    for (auto& [stem, m] : cfg.modules)
      fs::remove(dir + "/" + stem + "-e" + std::to_string(epoch - 1) + ".pt", ec);
    fs::remove(dir + "/optim-e" + std::to_string(epoch - 1) + ".pt", ec);
    hist.write(dir + "/metrics", cfg.stage + " learning curves");
  }
  // Final weights under stable names for the next stage.
  for (auto& [stem, m] : cfg.modules) save_module_atomic(*m, dir + "/" + stem + ".pt");
  return hist;
}

}  // namespace faceattr::train
