#include <cstdio>

#include "engine/fit.h"
#include "engine/splits.h"
#include "model/anet.h"
#include "stages/stages.h"

namespace faceattr::train {

void run_pretrain(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  AttributeSplits splits = make_attribute_splits(o);
  IdentitySet ids = make_identity_set(o, splits);
  std::fprintf(stderr, "[pretrain] %zu images, %d identities (%d LFW, %d CelebA-train)\n",
               ids.data.samples.size(), ids.n_classes, ids.n_lfw_classes, ids.n_celeba_classes);
  ANet net(static_cast<int>(splits.attribute_names.size()), o.width_mult, o.dropout);
  torch::nn::Linear id_head(net->feature_dim(), ids.n_classes);
  torch::nn::Dropout drop(o.dropout);
  FitConfig cfg;
  cfg.stage = "pretrain";
  cfg.epochs = o.pretrain_epochs;
  cfg.lr = o.pretrain_lr;
  cfg.weight_decay = o.weight_decay;
  cfg.modules = {{"anet", net.ptr()}, {"idhead", id_head.ptr()}};
  const double eps = o.label_smoothing;
  auto step = [&](const Batch& b, std::map<std::string, double>& stats) {
    auto logits = id_head->forward(drop->forward(net->features(b.images)));
    auto logp = torch::log_softmax(logits, 1);
    auto nll = -logp.gather(1, b.labels.unsqueeze(1)).squeeze(1);
    auto loss = ((1 - eps) * nll - eps * logp.mean(1)).mean();
    stats["train_acc"] += logits.argmax(1).eq(b.labels).to(torch::kFloat64).sum().item<double>();
    return loss;
  };
  LoaderBatches batches(o, ids.data, dev, step);
  fit(o, cfg, batches, dev, nullptr);
}

}  // namespace faceattr::train
