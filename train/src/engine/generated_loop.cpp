#include "engine/generated_loop.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/fit.h"
#include "engine/history.h"
#include "util/progress.h"

namespace faceattr::train {
namespace fs = std::filesystem;

void set_lr(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

void train_loop(const Options& o, const std::string& stage, int epochs, int steps, double lr0, torch::nn::Module& net,
                int batch, const std::string& stem, const StepLoss& step_loss, const EpochEval& eval) {
  const std::string dir = o.run_dir + "/" + stage;
  fs::create_directories(dir);
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : net.parameters()) (p.dim() <= 1 ? no_decay : decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(lr0).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(lr0).weight_decay(0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(lr0));
  History hist;
  int start = 1;
  const std::string state_path = dir + "/state.json";
  if (o.resume && fs::exists(state_path)) {
    std::ifstream f(state_path);
    auto st = nlohmann::json::parse(f);
    const int done = st.at("epoch").get<int>();
    if (st.value("seed", o.seed) != o.seed) throw std::runtime_error("--resume with a different seed");
    load_module(net, dir + "/" + stem + "-e" + std::to_string(done) + ".pt");
    torch::serialize::InputArchive ar;
    ar.load_from(dir + "/optim-e" + std::to_string(done) + ".pt");
    opt.load(ar);
    hist = History::from_json(st.at("history"));
    start = done + 1;
    std::fprintf(stderr, "[%s] resuming after epoch %d\n", stage.c_str(), done);
  }
  const double total = static_cast<double>(epochs) * steps, warm = 0.3 * steps;
  for (int epoch = start; epoch <= epochs; ++epoch) {
    torch::manual_seed(o.seed * 131 + static_cast<uint64_t>(epoch));
    net.train();
    Progress bar("[" + stage + "] epoch " + std::to_string(epoch) + "/" + std::to_string(epochs),
                 static_cast<size_t>(steps), static_cast<size_t>(batch));
    std::map<std::string, double> stats;
    double loss_sum = 0, lr = lr0;
    for (int s = 0; s < steps; ++s) {
      const double t = static_cast<double>((epoch - 1) * steps + s);
      lr = t < warm ? lr0 * (t + 1) / warm
                    : lr0 * 0.5 * (1 + std::cos(M_PI * (t - warm) / std::max(1.0, total - warm)));
      set_lr(opt, lr);
      opt.zero_grad();
      torch::Tensor loss = step_loss(epoch, s, stats);
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) throw std::runtime_error("[" + stage + "] loss is not finite");
      loss_sum += l;
      char extra[64];
      std::snprintf(extra, sizeof extra, "loss %.4f", loss_sum / (s + 1));
      bar.update(static_cast<size_t>(s + 1), extra);
    }
    const double secs = bar.elapsed_s();
    bar.finish("");
    EpochRecord rec;
    rec.epoch = epoch;
    rec.values["train_loss"] = loss_sum / steps;
    for (auto& [k, v] : stats) rec.values[k] = v / steps;
    rec.values["lr"] = lr;
    rec.values["seconds"] = secs;
    rec.values["img_per_s"] = static_cast<double>(steps) * batch / secs;
    net.eval();
    if (eval) {
      torch::NoGradGuard ng;
      for (auto& [k, v] : eval()) rec.values[k] = v;
    }
    std::string line = "[" + stage + "] epoch " + std::to_string(epoch);
    for (auto& [k, v] : rec.values) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s=%.5g", k.c_str(), v);
      line += buf;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    hist.records.push_back(rec);
    save_module_atomic(net, dir + "/" + stem + "-e" + std::to_string(epoch) + ".pt");
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
    fs::remove(dir + "/" + stem + "-e" + std::to_string(epoch - 1) + ".pt", ec);
    fs::remove(dir + "/optim-e" + std::to_string(epoch - 1) + ".pt", ec);
    hist.write(dir + "/metrics", stage + " learning curves");
  }
  save_module_atomic(net, dir + "/" + stem + ".pt");
}

}  // namespace faceattr::train
