#include "engine/fit.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

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

FitConfig generated_fit_config(const Options& o, const std::string& stage, int epochs, double lr,
                               const std::string& stem, std::shared_ptr<torch::nn::Module> net) {
  FitConfig cfg;
  cfg.stage = stage;
  cfg.epochs = epochs;
  cfg.lr = lr;
  cfg.weight_decay = o.weight_decay;
  cfg.warmup_epochs = 0.3;
  cfg.modules = {{stem, std::move(net)}};
  return cfg;
}

namespace {

void set_lr(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

std::string epoch_file(const std::string& dir, const std::string& stem, int epoch) {
  return dir + "/" + stem + "-e" + std::to_string(epoch) + ".pt";
}

// Restores the modules, the optimiser and the history after the last finished epoch of
// a previous run; returns that epoch (0 when there is nothing to resume).
int resume(const Options& o, const FitConfig& cfg, const std::string& dir, torch::Device device,
           torch::optim::AdamW& opt, History& hist) {
  const std::string state_path = dir + "/state.json";
  if (!o.resume || !fs::exists(state_path)) return 0;
  std::ifstream f(state_path);
  auto st = nlohmann::json::parse(f);
  const int done = st.at("epoch").get<int>();
  if (st.value("seed", o.seed) != o.seed) throw std::runtime_error("--resume with a different seed");
  for (auto& [stem, m] : cfg.modules) load_module(*m, epoch_file(dir, stem, done), device);
  torch::serialize::InputArchive ar;
  ar.load_from(epoch_file(dir, "optim", done), device);  // optimizer state on the training device
  opt.load(ar);
  hist = History::from_json(st.at("history"));
  std::fprintf(stderr, "[%s] resuming after epoch %d\n", cfg.stage.c_str(), done);
  return done;
}

// Checkpoint: files for this epoch first, then state.json (the commit point), then old files.
void checkpoint(const Options& o, const FitConfig& cfg, const std::string& dir, int epoch,
                torch::optim::AdamW& opt, const History& hist) {
  for (auto& [stem, m] : cfg.modules) save_module_atomic(*m, epoch_file(dir, stem, epoch));
  {
    torch::serialize::OutputArchive ar;
    opt.save(ar);
    const std::string p = epoch_file(dir, "optim", epoch);
    ar.save_to(p + ".tmp");
    fs::rename(p + ".tmp", p);
  }
  nlohmann::json st;
  st["epoch"] = epoch;
  st["seed"] = o.seed;
  st["history"] = hist.to_json();
  write_text_atomic(dir + "/state.json", st.dump(2) + "\n");
  std::error_code ec;
  for (auto& [stem, m] : cfg.modules) fs::remove(epoch_file(dir, stem, epoch - 1), ec);
  fs::remove(epoch_file(dir, "optim", epoch - 1), ec);
}

}  // namespace

History fit(const Options& o, const FitConfig& cfg, BatchSource& batches, torch::Device device,
            const EvalFn& eval) {
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
  const int start_epoch = resume(o, cfg, dir, device, opt, hist) + 1;

  const size_t steps_per_epoch = batches.steps_per_epoch();
  if (steps_per_epoch == 0) throw std::runtime_error("[" + cfg.stage + "] fewer samples than one batch");
  const double total_steps = static_cast<double>(steps_per_epoch) * cfg.epochs;
  const double warm = cfg.warmup_epochs * static_cast<double>(steps_per_epoch);

  for (int epoch = start_epoch; epoch <= cfg.epochs; ++epoch) {
    torch::manual_seed(o.seed * 131 + static_cast<uint64_t>(epoch));
    for (auto& [stem, m] : cfg.modules) m->train();
    batches.begin_epoch(epoch);
    Progress bar("[" + cfg.stage + "] epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs),
                 steps_per_epoch, batches.batch_size());
    std::map<std::string, double> stats;
    double loss_sum = 0, weight_sum = 0, lr = cfg.lr;
    size_t images = 0;
    StepLoss step;
    for (size_t s = 0; s < steps_per_epoch; ++s) {
      if (!batches.next(epoch, s, stats, &step)) break;
      const double t = static_cast<double>((epoch - 1) * steps_per_epoch + s);
      lr = t < warm ? cfg.lr * (t + 1) / warm
                    : cfg.lr * 0.5 * (1 + std::cos(M_PI * (t - warm) / std::max(1.0, total_steps - warm)));
      set_lr(opt, lr);
      opt.zero_grad();
      step.loss.backward();
      opt.step();
      const double l = step.loss.item<double>();
      if (!std::isfinite(l)) throw std::runtime_error("[" + cfg.stage + "] loss is not finite");
      loss_sum += l * step.weight;
      weight_sum += step.weight;
      images += step.images;
      char extra[64];
      std::snprintf(extra, sizeof extra, "loss %.4f", loss_sum / weight_sum);
      bar.update(s + 1, extra);
    }
    batches.end_epoch();
    const double secs = bar.elapsed_s();
    bar.finish("");
    EpochRecord rec;
    rec.epoch = epoch;
    rec.values["train_loss"] = loss_sum / weight_sum;
    for (auto& [k, v] : stats) rec.values[k] = v / weight_sum;
    rec.values["lr"] = lr;
    rec.values["seconds"] = secs;
    rec.values["img_per_s"] = static_cast<double>(images) / secs;
    for (auto& [stem, m] : cfg.modules) m->eval();
    if (eval) {
      torch::NoGradGuard ng;
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
    checkpoint(o, cfg, dir, epoch, opt, hist);
    hist.write(dir + "/metrics", cfg.stage + " learning curves");
  }
  // Final weights under stable names for the next stage.
  for (auto& [stem, m] : cfg.modules) save_module_atomic(*m, dir + "/" + stem + ".pt");
  return hist;
}

}  // namespace faceattr::train
