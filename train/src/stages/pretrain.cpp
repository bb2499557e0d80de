#include <cstdio>
#include <stdexcept>
#include <string>

#include "engine/fit.h"
#include "engine/splits.h"
#include "model/anet.h"
#include "stages/stages.h"

namespace faceattr::train {

torch::Tensor row_cosines(const torch::Tensor& features, const torch::Tensor& weight) {
  namespace F = torch::nn::functional;
  return F::normalize(features, F::NormalizeFuncOptions().dim(1))
      .matmul(F::normalize(weight, F::NormalizeFuncOptions().dim(1)).t());
}

torch::Tensor cosface_logits(const torch::Tensor& cos, const torch::Tensor& labels, double scale,
                             double margin) {
  return scale * (cos - torch::zeros_like(cos).scatter_(1, labels.unsqueeze(1), margin));
}

void run_pretrain(const Options& o) {
  torch::manual_seed(o.seed);
  const torch::Device dev = pick_device(o.device);
  AttributeSplits splits = make_attribute_splits(o);
  IdentitySet ids = make_identity_set(o, splits);
  std::fprintf(stderr, "[pretrain] %zu images, %d identities (%d LFW, %d CelebA-train), %s loss\n",
               ids.data.samples.size(), ids.n_classes, ids.n_lfw_classes, ids.n_celeba_classes,
               o.pretrain_loss.c_str());
  const bool cosface = o.pretrain_loss == "cosface";
  if (!cosface && o.pretrain_loss != "softmax")
    throw std::runtime_error("pretrain_loss must be softmax or cosface, got " + o.pretrain_loss);
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
    if (cosface) {
      // The class weights are id_head's (its bias unused); accuracy on the plain cosines.
      const auto cos = row_cosines(net->features(b.images), id_head->weight);
      stats["train_acc"] += cos.argmax(1).eq(b.labels).to(torch::kFloat64).sum().item<double>();
      return torch::nn::functional::cross_entropy(
          cosface_logits(cos, b.labels, o.pretrain_scale, o.pretrain_margin), b.labels);
    }
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
