// The trainer's stages; each is a subcommand of faceattr_train.
#pragma once

#include <torch/types.h>

#include <string>

#include "engine/options.h"

namespace faceattr::train {

// (a) identity pre-training over LFW + CelebA-train identities: softmax, or a
// large-margin cosine loss (Options::pretrain_loss).
void run_pretrain(const Options& o);
// Cosines between the rows of `features` ([N, D]) and of `weight` ([C, D]): [N, C].
torch::Tensor row_cosines(const torch::Tensor& features, const torch::Tensor& weight);
// CosFace logits from those cosines: scale * (cos - margin) for each row's label,
// scale * cos elsewhere.
torch::Tensor cosface_logits(const torch::Tensor& cos, const torch::Tensor& labels, double scale,
                             double margin);
// (b) attribute fine-tuning (multi-label BCE with positive weighting).
void run_finetune(const Options& o);
// (c) fine-tuned heads vs per-attribute linear classifiers on frozen features.
void run_linear(const Options& o);
// (d)+(6) thresholds, BN folding, int8 calibration, .fam export + SDK check.
void run_export(const Options& o);
// LNet (stages/lnet_*.cpp): self-supervised object pre-training (rotation), weakly
// supervised training on composed scenes (image-level tags; --box-supervision
// for the comparison), decoder tuning + BN fold + int8 + .fam export + SDK check.
void run_lnet_pretrain(const Options& o);
void run_lnet_train(const Options& o);
void run_lnet_export(const Options& o);
// The box-supervised localiser (stages/loc_*.cpp): a dense box map trained on real photos with
// face boxes and composites; export tunes its threshold and writes the shipped LNet files.
void run_loc_train(const Options& o);
void run_loc_export(const Options& o);
// Joint fine-tuning: the ANet of --from-model on the crops the localiser --joint-lnet cuts
// from CelebA and MTFL training images (masked loss); writes <run>/finetune/anet.pt.
void run_anet_joint(const Options& o);
// Training throughput on synthetic batches (img/s), for sizing the recipe.
void run_bench(const Options& o);
// Writes a tiny generated dataset in the CelebA/LFW layout under `root` (smoke test).
void make_toy_data(const std::string& root, int n_images);
// Compares every tensor of two LibTorch archives (.pt checkpoints) by name: prints the
// differences and returns 0 when all are bitwise equal or within `tolerance` (max
// absolute difference), 1 otherwise.
int compare_weights(const std::string& a, const std::string& b, double tolerance);

}  // namespace faceattr::train
