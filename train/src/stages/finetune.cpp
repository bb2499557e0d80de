#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/evaluate.h"
#include "engine/fit.h"
#include "engine/splits.h"
#include "model/anet.h"
#include "stages/stages.h"

namespace faceattr::train {

// BCE positive weight per attribute, (neg/pos)^p: p = 0 plain BCE, 1 fully
// balanced, 0.5 ("sqrt", the default) a compromise: rare attributes get
// enough gradient to learn features, without pushing every probability to
// the balanced point; the decision thresholds calibrated on validation then
// undo the shift of the operating point for accuracy.
torch::Tensor positive_weights(const Dataset& train, const std::string& mode) {
  const size_t A = train.samples.at(0).attrs.size();
  std::vector<double> pos(A, 0);
  for (const auto& s : train.samples)
    for (size_t a = 0; a < A; ++a) pos[a] += s.attrs[a];
  const double n = static_cast<double>(train.samples.size());
  const double p = mode == "none" ? 0.0 : mode == "full" ? 1.0 : mode == "sqrt" ? 0.5 : -1.0;
  if (p < 0) throw std::runtime_error("pos_weighting must be none, sqrt or full, got " + mode);
  std::vector<float> w(A);
  for (size_t a = 0; a < A; ++a) {
    const double ratio = (n - pos[a] + 1) / (pos[a] + 1);
    w[a] = static_cast<float>(std::clamp(std::pow(ratio, p), 0.05, 20.0));
  }
  return torch::tensor(w);
}

void run_finetune(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  AttributeSplits splits = make_attribute_splits(o);
  std::fprintf(stderr, "[finetune] %zu train / %zu validation images, %zu attributes\n",
               splits.train.samples.size(), splits.val.samples.size(), splits.attribute_names.size());
  ANet net(static_cast<int>(splits.attribute_names.size()), o.width_mult, o.dropout);
  std::string init = o.init == "auto" ? o.run_dir + "/pretrain/anet.pt" : o.init;
  if (!init.empty()) {
    // The attribute head is re-initialised: only the conv stack carries over.
    ANet pre(static_cast<int>(splits.attribute_names.size()), o.width_mult, o.dropout);
    load_module(*pre, init);
    torch::NoGradGuard ng;
    auto src = pre->named_parameters(), dst = net->named_parameters();
    for (auto& p : src)
      if (p.key().rfind("head.", 0) != 0) dst[p.key()].copy_(p.value());
    auto sb = pre->named_buffers(), db = net->named_buffers();
    for (auto& b : sb) db[b.key()].copy_(b.value());
    std::fprintf(stderr, "[finetune] initialised from %s\n", init.c_str());
  }
  auto pos_w = positive_weights(splits.train, o.pos_weighting).to(dev);
  FitConfig cfg;
  cfg.stage = "finetune";
  cfg.epochs = o.finetune_epochs;
  cfg.lr = o.finetune_lr;
  cfg.weight_decay = o.weight_decay;
  cfg.modules = {{"anet", net.ptr()}};
  auto step = [&](const Batch& b, std::map<std::string, double>&) {
    return torch::binary_cross_entropy_with_logits(net->forward(b.images), b.attrs, {}, pos_w);
  };
  auto eval = [&]() {
    auto pr = predict(net, splits.val, o.input, o.augment, dev, 128, o.workers);
    auto probs = torch::sigmoid(pr.logits);
    std::map<std::string, double> m;
    m["val_loss"] =
        torch::binary_cross_entropy_with_logits(pr.logits, pr.targets, {}, pos_w.cpu()).item<double>();
    m["val_acc"] = mean_of(attribute_accuracy(probs, pr.targets, std::vector<float>(probs.size(1), 0.5f)));
    m["val_acc_calibrated"] = mean_of(cross_calibrated_accuracy(probs, pr.targets));
    m["val_balanced_acc"] = mean_of(cross_balanced_accuracy(probs, pr.targets));
    return m;
  };
  LoaderBatches batches(o, splits.train, dev, step);
  fit(o, cfg, batches, dev, eval);
}

}  // namespace faceattr::train
