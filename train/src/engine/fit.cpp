#include "engine/fit.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <utility>

#include "engine/dist.h"
#include "util/atomic_file.h"
#include "util/progress.h"

namespace faceattr::train {
namespace fs = std::filesystem;

torch::Device pick_device(const std::string& requested) {
  if (requested == "cpu") return torch::kCPU;
  // One GPU per rank on a machine: LOCAL_RANK (set by the launcher) picks it.
  const char* lr = std::getenv("LOCAL_RANK");
  const int gpu = lr ? std::atoi(lr) : 0;
  if (requested == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("--device cuda requested but CUDA is not available");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu));
  }
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu))
                                     : torch::Device(torch::kCPU);
}

namespace {

std::string archive_bytes(torch::serialize::OutputArchive& ar) {
  std::ostringstream s(std::ios::binary);
  ar.save_to(s);
  return std::move(s).str();
}

}  // namespace

void save_module_atomic(torch::nn::Module& m, const std::string& path, const std::string& kill_point) {
  torch::serialize::OutputArchive ar;
  m.save(ar);
  write_file_atomic(path, archive_bytes(ar), kill_point);
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

// The epoch of a checkpoint file <stem>-e<N>.pt of this stage, or -1.
int checkpoint_epoch(const std::string& name) {
  static const std::regex re(R"(.+-e([0-9]{1,9})\.pt)");
  std::smatch m;
  return std::regex_match(name, m, re) ? std::stoi(m[1].str()) : -1;
}

// Removes what an interrupted run may have left in the stage folder: temp files of
// unfinished writes, and checkpoint files of any epoch other than `keep_epoch` (an
// epoch that never committed, or one whose clean-up a kill cut short).
void clean_stage_dir(const std::string& dir, const FitConfig& cfg, int keep_epoch) {
  remove_stale_temps(dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const int ep = checkpoint_epoch(name);
    if (ep < 0 || ep == keep_epoch) continue;
    bool ours = name.rfind("optim-e", 0) == 0;
    for (const auto& mod : cfg.modules) ours = ours || name.rfind(mod.first + "-e", 0) == 0;
    if (ours) fs::remove(e.path(), ec);
  }
}

// Restores the modules, the optimiser and the history after the last finished epoch of
// a previous run; returns that epoch (0 when there is nothing to resume). Without
// --resume, a previous run's state.json and checkpoints in the folder are removed first,
// so that a later --resume never mixes two runs.
int resume(const Options& o, const FitConfig& cfg, const std::string& dir, size_t steps_per_epoch,
           torch::Device device, torch::optim::AdamW& opt, History& hist) {
  const std::string state_path = dir + "/state.json";
  if (!o.resume || !fs::exists(state_path)) {
    std::error_code ec;
    fs::remove(state_path, ec);
    clean_stage_dir(dir, cfg, -1);
    return 0;
  }
  nlohmann::json st;
  try {
    std::ifstream f(state_path);
    st = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(state_path + ": not a valid state file (" + e.what() + ")");
  }
  const int done = st.at("epoch").get<int>();
  if (st.value("seed", o.seed) != o.seed) throw std::runtime_error("--resume with a different seed");
  if (st.value("epochs", cfg.epochs) != cfg.epochs ||
      st.value("steps_per_epoch", steps_per_epoch) != steps_per_epoch)
    std::fprintf(stderr,
                 "[%s] warning: resuming with %d epochs of %zu steps, the run began with %d of %zu: the "
                 "learning-rate schedule changes, the result will differ from an uninterrupted run\n",
                 cfg.stage.c_str(), cfg.epochs, steps_per_epoch, st.value("epochs", cfg.epochs),
                 st.value("steps_per_epoch", steps_per_epoch));
  clean_stage_dir(dir, cfg, done);
  for (auto& [stem, m] : cfg.modules) load_module(*m, epoch_file(dir, stem, done), device);
  torch::serialize::InputArchive ar;
  ar.load_from(epoch_file(dir, "optim", done), device);  // optimizer state on the training device
  opt.load(ar);
  hist = History::from_json(st.at("history"));
  std::fprintf(stderr, "[%s] resuming after epoch %d\n", cfg.stage.c_str(), done);
  return done;
}

// Checkpoint: files for this epoch first, then state.json (the commit point), then old
// files. A kill before state.json is renamed leaves the previous epoch's checkpoint as
// the one --resume restores.
void checkpoint(const Options& o, const FitConfig& cfg, const std::string& dir, int epoch,
                size_t steps_per_epoch, torch::optim::AdamW& opt, const History& hist) {
  const std::string point = "checkpoint:" + std::to_string(epoch);
  for (auto& [stem, m] : cfg.modules) save_module_atomic(*m, epoch_file(dir, stem, epoch), point);
  {
    torch::serialize::OutputArchive ar;
    opt.save(ar);
    write_file_atomic(epoch_file(dir, "optim", epoch), archive_bytes(ar), point);
  }
  nlohmann::json st;
  st["epoch"] = epoch;
  st["epochs"] = cfg.epochs;
  st["steps_per_epoch"] = steps_per_epoch;
  st["seed"] = o.seed;
  st["history"] = hist.to_json();
  write_text_atomic(dir + "/state.json", st.dump(2) + "\n", "state:" + std::to_string(epoch));
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

  const size_t steps_per_epoch = batches.steps_per_epoch();
  if (steps_per_epoch == 0) throw std::runtime_error("[" + cfg.stage + "] fewer samples than one batch");
  History hist;
  // Only rank 0 touches the stage folder; it hands the resumed state to the others.
  int start_epoch = dist::is_root() ? resume(o, cfg, dir, steps_per_epoch, device, opt, hist) + 1 : 1;
  std::vector<torch::Tensor> params;
  for (auto& g : opt.param_groups())
    for (auto& p : g.params()) params.push_back(p);
  std::optional<dist::GradReducer> reducer;
  if (dist::active()) {
    std::vector<double> se{static_cast<double>(dist::is_root() ? start_epoch : 0)};
    dist::allreduce_sum(se);
    start_epoch = static_cast<int>(se[0]);
    for (auto& [stem, m] : cfg.modules) dist::broadcast_module(*m);
    if (start_epoch > 1) {
      std::string state;
      if (dist::is_root()) {
        torch::serialize::OutputArchive ar;
        opt.save(ar);
        state = archive_bytes(ar);
      }
      dist::broadcast_bytes(state);
      if (!dist::is_root()) {
        std::istringstream in(state, std::ios::binary);
        torch::serialize::InputArchive ar;
        ar.load_from(in, device);
        opt.load(ar);
      }
    }
    int64_t n_params = 0;
    for (auto& p : params) n_params += p.numel();
    reducer.emplace(params, static_cast<size_t>(std::max(1, o.bucket_kb)) * 1024);
    const double ms = dist::allreduce_bench_ms(n_params, 20);
    const double small = dist::allreduce_bench_ms(64, 50);  // a BatchNorm layer's sums: latency
    if (dist::is_root())
      std::fprintf(
          stderr,
          "[%s] %d ranks, batch %zu per rank; %zu gradient buckets; all-reduce of %.3f M parameters: "
          "%.3f ms, of 64 values: %.3f ms (medians, idle)\n",
          cfg.stage.c_str(), dist::world(), batches.batch_size(), reducer->buckets(), n_params / 1e6, ms,
          small);
  }
  const bool root = dist::is_root();
  // The metrics files may lag state.json by one epoch after a kill: rewrite them.
  if (start_epoch > 1 && root) hist.write(dir + "/metrics", cfg.stage + " learning curves");
  const double total_steps = static_cast<double>(steps_per_epoch) * cfg.epochs;
  const double warm = cfg.warmup_epochs * static_cast<double>(steps_per_epoch);

  const bool kill_hook = kill_hook_active();
  for (int epoch = start_epoch; epoch <= cfg.epochs; ++epoch) {
    // Every random draw of an epoch derives from (seed, epoch): torch's generator
    // (dropout, ...) is reseeded here, the batch order and augmentation are seeded by
    // (seed, epoch, position) in the batch source. So an epoch run after --resume
    // draws exactly what it drew in an uninterrupted run.
    torch::manual_seed(o.seed * 131 + static_cast<uint64_t>(epoch));
    for (auto& [stem, m] : cfg.modules) m->train();
    batches.begin_epoch(epoch);
    // One progress bar, rank 0's; its images per step count every rank's.
    std::optional<Progress> bar;
    if (root)
      bar.emplace("[" + cfg.stage + "] epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs),
                  steps_per_epoch, batches.batch_size() * static_cast<size_t>(dist::world()));
    const auto t_epoch = std::chrono::steady_clock::now();
    const double wait0 = reducer ? reducer->wait_s() : 0;
    std::map<std::string, double> stats;
    double loss_sum = 0, weight_sum = 0, lr = cfg.lr;
    size_t images = 0;
    StepLoss step;
    for (size_t s = 0; s < steps_per_epoch; ++s) {
      if (kill_hook) kill_point("step:" + std::to_string(epoch) + ":" + std::to_string(s));
      if (!batches.next(epoch, s, stats, &step)) break;
      const double t = static_cast<double>((epoch - 1) * steps_per_epoch + s);
      lr = t < warm ? cfg.lr * (t + 1) / warm
                    : cfg.lr * 0.5 * (1 + std::cos(M_PI * (t - warm) / std::max(1.0, total_steps - warm)));
      set_lr(opt, lr);
      opt.zero_grad();
      if (reducer) reducer->prepare();
      step.loss.backward();
      if (reducer) reducer->finish();  // every rank now holds the mean gradient
      opt.step();
      const double l = step.loss.item<double>();
      if (!std::isfinite(l)) throw std::runtime_error("[" + cfg.stage + "] loss is not finite");
      loss_sum += l * step.weight;
      weight_sum += step.weight;
      images += step.images;
      char extra[64];
      std::snprintf(extra, sizeof extra, "loss %.4f", loss_sum / weight_sum);
      if (bar) bar->update(s + 1, extra);
    }
    batches.end_epoch();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    if (bar) bar->finish("");
    if (dist::active()) {  // the epoch's sums over every rank
      std::vector<double> sums{loss_sum, weight_sum, static_cast<double>(images)};
      for (auto& [k, v] : stats) sums.push_back(v);
      dist::allreduce_sum(sums);
      loss_sum = sums[0];
      weight_sum = sums[1];
      images = static_cast<size_t>(sums[2]);
      size_t i = 3;
      for (auto& [k, v] : stats) v = sums[i++];
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.values["train_loss"] = loss_sum / weight_sum;
    for (auto& [k, v] : stats) rec.values[k] = v / weight_sum;
    rec.values["lr"] = lr;
    rec.values["seconds"] = secs;
    rec.values["img_per_s"] = static_cast<double>(images) / secs;
    if (reducer) rec.values["allreduce_wait_s"] = reducer->wait_s() - wait0;
    for (auto& [stem, m] : cfg.modules) m->eval();
    if (!root) {  // rank 0 evaluates, logs and checkpoints; the others wait for it
      dist::barrier();
      continue;
    }
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
    checkpoint(o, cfg, dir, epoch, steps_per_epoch, opt, hist);
    hist.write(dir + "/metrics", cfg.stage + " learning curves", "metrics:" + std::to_string(epoch));
    dist::barrier();
  }
  // Final weights under stable names for the next stage.
  if (root)
    for (auto& [stem, m] : cfg.modules) save_module_atomic(*m, dir + "/" + stem + ".pt", "final");
  dist::barrier();
  return hist;
}

}  // namespace faceattr::train
