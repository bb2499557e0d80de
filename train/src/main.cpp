// faceattr_train: the trainer's command line, one subcommand per stage
// (stages/stages.h), all sharing the options below (a --config JSON sets the
// defaults, flags win); each writes into --run-dir, exports into --out-dir.
//   ANet:      pretrain (identities), finetune (40 attributes), linear (heads
//              vs linear classifiers), export (thresholds, int8, .fam files,
//              SDK check), anet-joint (fine-tuning on the localiser's crops)
//   localiser: loc-train (box-supervised), loc-export (the shipped lnet-*.fam)
//   LNet:      lnet-pretrain (rotation), lnet-train (weak supervision),
//              lnet-export (decoder tuning, int8, .fam files, SDK check)
//   analysis:  anet-concepts (concepts of a shipped ANet, sparse heads, metadata),
//              anet-average-maps (average class-activation maps, metadata)
//   tools:     bench (training throughput), make-toy-data (smoke-test data),
//              compare-weights (are two checkpoints the same weights?)
// See train/README.md; scripts/train_recipe.sh runs the whole recipe.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/dist.h"
#include "engine/fit.h"
#include "engine/history.h"
#include "engine/options.h"
#include "stages/average_maps.h"
#include "stages/concepts.h"
#include "stages/stages.h"

using namespace faceattr::train;

static ConceptsArgs g_concepts;
static void run_concepts(const Options& o) { run_anet_concepts(o, g_concepts); }
static AverageMapsArgs g_average_maps;
static void run_average_maps(const Options& o) { run_anet_average_maps(o, g_average_maps); }

static void add_common(CLI::App* app, Options& o, std::string& config) {
  app->add_option("--config", config, "JSON config file (flags given on the command line win)");
  app->add_option("--data-root", o.data_root, "dataset root (default: ../shared/data of the repo)");
  app->add_option("--celeba-anno", o.celeba_anno,
                  "folder with the CelebA annotation files (.txt or .txt.gz)");
  app->add_option("--celeba-images", o.celeba_images, "folder with aligned CelebA JPEGs");
  app->add_option("--lfw", o.lfw_dir, "LFW folder (one sub-folder per person)");
  app->add_option("--objects", o.objects_dir, "object photos folder");
  app->add_option("--run-dir", o.run_dir, "output folder for checkpoints and logs");
  app->add_option("--device", o.device, "auto | cpu | cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app->add_option("--threads", o.threads, "intra-op CPU threads");
  app->add_option("--workers", o.workers, "data loader threads");
  app->add_option("--seed", o.seed, "random seed");
  app->add_flag("--resume", o.resume, "continue from the last checkpoint of this stage");
  app->add_option("--world-size", o.world_size, "distributed: number of ranks (default: $WORLD_SIZE or 1)")
      ->check(CLI::Range(1, 4096));
  app->add_option("--rank", o.rank,
                  "distributed: this process's rank, 0..world-size-1 (default: $RANK or 0)");
  app->add_option(
      "--master", o.master,
      "distributed: HOST:PORT of rank 0's rendezvous store (default: $MASTER_ADDR:$MASTER_PORT or "
      "127.0.0.1:29500)");
  app->add_option("--dist-timeout", o.dist_timeout,
                  "distributed: seconds before a rendezvous or collective that a rank never joins fails");
  app->add_flag(
      "--sync-bn,!--no-sync-bn", o.sync_bn,
      "distributed: BatchNorm over the global batch (exactly the 1-rank network), or over each rank's "
      "share (default, as PyTorch's DDP; faster)");
  app->add_option("--bucket-kb", o.bucket_kb, "distributed: gradient all-reduce bucket size in KiB");
  app->add_option("--max-images", o.max_images, "use only the first N CelebA images");
  app->add_option("--max-steps", o.max_steps, "cap on steps per epoch");
  app->add_option("--val-identity-mod", o.val_identity_mod, "validation = identities with id % mod == 0");
  app->add_option("--batch", o.batch_size, "batch size");
  app->add_option("--width-mult", o.width_mult, "channel width multiplier");
  app->add_option("--dropout", o.dropout, "ANet dropout before the heads")->check(CLI::Range(0.0, 0.95));
  app->add_option("--input-width", o.input.width, "network input width");
  app->add_option("--input-height", o.input.height, "network input height");
  app->add_option("--pretrain-epochs", o.pretrain_epochs);
  app->add_option("--pretrain-lr", o.pretrain_lr);
  app->add_option("--pretrain-loss", o.pretrain_loss, "identity pre-training: softmax | cosface")
      ->check(CLI::IsMember({"softmax", "cosface"}));
  app->add_option("--pretrain-margin", o.pretrain_margin, "cosface: margin m on the true identity's cosine")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--pretrain-scale", o.pretrain_scale, "cosface: logit scale s")
      ->check(CLI::Range(1.0, 128.0));
  app->add_option("--finetune-epochs", o.finetune_epochs);
  app->add_option("--finetune-lr", o.finetune_lr);
  app->add_option("--weight-decay", o.weight_decay);
  app->add_option("--pos-weighting", o.pos_weighting, "none | sqrt | full");
  app->add_option("--init", o.init, "fine-tune from this checkpoint ('auto' = <run-dir>/pretrain/anet.pt)");
  app->add_option("--out-dir", o.out_dir, "export: folder for the .fam files");
  app->add_option("--model-name", o.model_name, "export: file stem (anet -> anet-fp32.fam, anet-int8.fam)");
  app->add_option("--calib-images", o.calib_images, "export: training images for int8 calibration");
  app->add_option("--int8-weight-bits", o.int8_weight_bits,
                  "export, lnet-export: int8 weight range, 8 = [-127, 127], 7 = [-64, 64] (no saturation in "
                  "u8 x s8 pair products)")
      ->check(CLI::Range(7, 8));
  app->add_option("--from-model", o.from_model,
                  "export: re-export the network of this fp32 ANet .fam (e.g. models/anet-fp32.fam) "
                  "instead of the run folder's checkpoint")
      ->check(CLI::ExistingFile);
  app->add_option("--head", o.head, "export: auto | finetuned | linear")
      ->check(CLI::IsMember({"auto", "finetuned", "linear"}));
  app->add_option(
         "--accuracy-thresholds", o.accuracy_thresholds,
         "export: accuracy-policy thresholds: auto | fitted | half (0.5 on the calibrated probability)")
      ->check(CLI::IsMember({"auto", "fitted", "half"}));
  app->add_option("--lnet-input-width", o.lnet_input_width, "LNet input width");
  app->add_option("--lnet-input-height", o.lnet_input_height, "LNet input height");
  app->add_option("--lnet-train-width", o.lnet_train_width,
                  "LNet training scene width (faces at full scale)");
  app->add_option("--lnet-train-height", o.lnet_train_height, "LNet training scene height");
  app->add_option("--lnet-width-mult", o.lnet_width_mult, "LNet channel width multiplier");
  app->add_option("--lnet-batch", o.lnet_batch, "LNet batch size (scenes)");
  app->add_option("--lnet-pretrain-epochs", o.lnet_pretrain_epochs);
  app->add_option("--lnet-pretrain-steps", o.lnet_pretrain_steps, "LNet pre-training steps per epoch");
  app->add_option("--lnet-epochs", o.lnet_epochs);
  app->add_option("--lnet-steps", o.lnet_steps, "LNet steps per epoch");
  app->add_option("--lnet-lr", o.lnet_lr);
  app->add_option("--lnet-pool", o.lnet_pool, "tag-map pooling: lse | max | mean")
      ->check(CLI::IsMember({"lse", "max", "mean"}));
  app->add_option("--lnet-lse-r", o.lnet_lse_r, "log-sum-exp pooling sharpness");
  app->add_option("--lnet-face-weight", o.lnet_face_weight, "weight of the face tag in the loss");
  app->add_flag("--box-supervision", o.box_supervision,
                "LNet: per-cell targets from the pasted boxes (comparison; not the shipped model)");
  app->add_option("--lnet-map", o.lnet_map, "exported response map: auto | face | mean")
      ->check(CLI::IsMember({"auto", "face", "mean"}));
  app->add_option("--lnet-init", o.lnet_init, "LNet pre-trained checkpoint ('auto', '' = none)");
  app->add_option("--lnet-val-scenes", o.lnet_val_scenes, "validation scenes");
  app->add_option("--lnet-max-lfw", o.lnet_max_lfw, "LFW faces in the scene pool (0 = none, -1 = all)");
  app->add_option("--lnet-max-celeba", o.lnet_max_celeba, "CelebA training faces in the pool (0 = all)");
  app->add_option("--lnet-calib-scenes", o.lnet_calib_scenes, "int8 calibration scenes");
  app->add_option("--lnet-name", o.lnet_name, "LNet model file stem");
  app->add_option("--lnet-large-face-prob", o.lnet_large_face_prob,
                  "share of training scenes with one large (frame-filling) face (0 = none)");
  app->add_option("--lnet-large-face-max", o.lnet_large_face_max,
                  "largest face side / frame height for large faces (> 1: cut by the border)");
  app->add_option("--lnet-val-large", o.lnet_val_large, "large-face validation scenes (0 = none)");
  app->add_flag("--lnet-val-tune-large", o.lnet_val_tune_large,
                "large-face validation scenes also tune the decoder (default: reported only)");
  app->add_flag("--lnet-init-keep-head", o.lnet_init_keep_head,
                "--lnet-init is a trained LNet: keep its tag head (fine-tuning)");
  app->add_flag("--lnet-coarse-pass,!--no-lnet-coarse-pass", o.lnet_coarse_pass,
                "export: decoder with a coarse pass (LNet also on the frame at half size, for large faces)");
  app->add_flag("--lnet-size-model,!--no-lnet-size-model", o.lnet_size_model,
                "export with --lnet-coarse-pass: box sizes from the responses at both scales (lnet.size_*)");
  app->add_option("--lnet-hide-prob", o.lnet_hide_prob,
                  "lnet-train: Hide-and-Seek, probability of hiding each grid patch of a scene (0 = off)")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--lnet-hide-patch", o.lnet_hide_patch,
                  "lnet-train: Hide-and-Seek patch sides in training-scene pixels, one drawn per scene "
                  "(0 = scene left whole)");
  app->add_option("--lnet-face-min", o.lnet_face_min, "lnet-train: smallest training face width (input px)");
  app->add_option("--lnet-face-max", o.lnet_face_max, "lnet-train: largest training face width (input px)");
  app->add_option("--lnet-pyramid-levels", o.lnet_pyramid_levels,
                  "lnet-export: image-pyramid levels of the decoder (1 = one pass)")
      ->check(CLI::Range(1, 8));
  app->add_option("--lnet-pyramid-factor", o.lnet_pyramid_factor,
                  "lnet-export: scale step between pyramid levels")
      ->check(CLI::Range(1.05, 4.0));
  app->add_option("--loc-input-width", o.loc_input_width, "localiser input width");
  app->add_option("--loc-input-height", o.loc_input_height, "localiser input height");
  app->add_option("--loc-width-mult", o.loc_width_mult, "localiser channel width multiplier");
  app->add_option("--loc-batch", o.loc_batch, "localiser batch size (canvases)");
  app->add_option("--loc-epochs", o.loc_epochs);
  app->add_option("--loc-steps", o.loc_steps, "localiser steps per epoch");
  app->add_option("--loc-lr", o.loc_lr);
  app->add_option("--loc-max-mtfl", o.loc_max_mtfl, "MTFL training photos (0 = all)");
  app->add_option("--loc-max-celeba", o.loc_max_celeba, "CelebA faces for composites (0 = all)");
  app->add_option("--loc-calib", o.loc_calib, "localiser int8 calibration canvases");
  app->add_option("--loc-init", o.loc_init, "loc-train: start from this checkpoint");
  app->add_option("--loc-crop-w", o.loc_crop_w, "loc-export: ANet crop width in face-box sides");
  app->add_option("--loc-crop-h", o.loc_crop_h, "loc-export: ANet crop height in face-box sides");
  app->add_option("--joint-lnet", o.joint_lnet,
                  "anet-joint: the localiser (.fam) whose crops ANet learns from");
  app->add_option("--joint-epochs", o.joint_epochs, "anet-joint: epochs");
  app->add_option("--joint-lr", o.joint_lr, "anet-joint: peak learning rate");
  app->add_option("--joint-utk-repeat", o.joint_utk_repeat,
                  "anet-joint: copies of each UTKFace training chip per epoch");
  app->add_option("--joint-child-age", o.joint_child_age,
                  "anet-joint: UTKFace training chips younger than this teach Male = 0.5 (0: off)")
      ->check(CLI::Range(0, 120));
  app->add_option("--joint-teacher", o.joint_teacher,
                  "anet-joint: teacher ANet fp32 .fam files (comma-separated: their mean probability) that "
                  "the student learns from");
  app->add_option("--joint-distill", o.joint_distill, "anet-joint: weight of the soft teacher loss");
  app->add_option(
      "--joint-pseudo", o.joint_pseudo,
      "anet-joint: 0 = soft distillation; c in (0.5, 1) = pseudo-labels where q >= c or q <= 1 - c");
  app->add_option("--joint-lfw", o.joint_lfw,
                  "anet-joint: unlabelled LFW faces taught by the teacher (\"auto\" = <data>/lfw)");
  app->add_option("--loc-crop-dy", o.loc_crop_dy,
                  "loc-export: ANet crop centre below the box centre (sides)");
}

int main(int argc, char** argv) {
  // A --config file sets the defaults that the flags then override.
  Options o;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--config") {
      std::ifstream f(argv[i + 1]);
      if (!f) {
        std::fprintf(stderr, "cannot read config %s\n", argv[i + 1]);
        return 2;
      }
      try {
        from_json(nlohmann::json::parse(f), o);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bad config %s: %s\n", argv[i + 1], e.what());
        return 2;
      }
    }
  std::string config;
  CLI::App app{"faceattr_train: ANet, localiser and LNet trainer (CelebA, LFW, MTFL, real scenes)"};
  app.require_subcommand(1);
  struct Cmd {
    const char* name;
    const char* help;
    void (*fn)(const Options&);
  };
  const Cmd cmds[] = {
      {"pretrain", "identity pre-training", run_pretrain},
      {"finetune", "attribute fine-tuning", run_finetune},
      {"linear", "fine-tuned heads vs linear classifiers on frozen features", run_linear},
      {"export", "thresholds, int8 calibration, .fam files, SDK check", run_export},
      {"bench", "training throughput (img/s)", run_bench},
      {"lnet-pretrain", "LNet: self-supervised object pre-training (rotation)", run_lnet_pretrain},
      {"lnet-train", "LNet: weakly supervised training on composed scenes", run_lnet_train},
      {"lnet-export", "LNet: decoder tuning, int8, .fam files, SDK check", run_lnet_export},
      {"loc-train", "localiser: box-supervised training on real photos and composites", run_loc_train},
      {"loc-export", "localiser: threshold, int8, .fam files, SDK check", run_loc_export},
      {"anet-joint", "ANet fine-tuned on the localiser's crops (then export --head finetuned)",
       run_anet_joint},
      {"anet-concepts", "concepts of an ANet's last layer, sparse heads over them, .fam metadata",
       run_concepts},
      {"anet-average-maps", "each attribute's map averaged over training faces, .fam metadata",
       run_average_maps}};
  std::vector<std::pair<CLI::App*, const Cmd*>> subs;
  for (const auto& c : cmds) {
    auto* s = app.add_subcommand(c.name, c.help);
    add_common(s, o, config);
    subs.emplace_back(s, &c);
    if (std::string(c.name) == "anet-average-maps") {
      s->add_option("--model", g_average_maps.model, "the ANet .fam")->required()->check(CLI::ExistingFile);
      s->add_option("--lnet", g_average_maps.lnet, "the localiser that frames the faces")
          ->capture_default_str()
          ->check(CLI::ExistingFile);
      s->add_option("--out", g_average_maps.out,
                    "write a copy of the model with the explain.average_maps metadata");
      s->add_option("--limit", g_average_maps.limit, "training-split images used (0 = all)")
          ->capture_default_str();
      continue;
    }
    if (std::string(c.name) != "anet-concepts") continue;
    s->add_option("--model", g_concepts.model, "the ANet .fam to analyse")
        ->required()
        ->check(CLI::ExistingFile);
    s->add_option("--out", g_concepts.out, "write a copy of the model with the concepts.* metadata");
    s->add_option("--report", g_concepts.report, "report folder (default <run-dir>/concepts)");
    s->add_option("--limit", g_concepts.limit, "training-split images used (0 = all)");
    s->add_option("--val-limit", g_concepts.val_limit, "validation-split images used (0 = all)");
    s->add_flag("--units-too", g_concepts.units_too, "also try single units as concepts (slow)");
  }
  std::string toy_root;
  int toy_n = 48;
  auto* toy =
      app.add_subcommand("make-toy-data", "write a tiny generated CelebA/LFW-layout dataset (smoke test)");
  toy->add_option("--out", toy_root, "dataset root to create")->required();
  toy->add_option("--n", toy_n, "number of CelebA images");
  std::string cmp_a, cmp_b;
  double cmp_tol = 0;
  auto* cmp = app.add_subcommand("compare-weights",
                                 "compare the tensors of two checkpoints (.pt); exit 0 when equal");
  cmp->add_option("a", cmp_a, "first checkpoint")->required()->check(CLI::ExistingFile);
  cmp->add_option("b", cmp_b, "second checkpoint")->required()->check(CLI::ExistingFile);
  cmp->add_option("--tolerance", cmp_tol, "largest accepted absolute difference (default 0: bitwise)");
  CLI11_PARSE(app, argc, argv);
  if (cmp->parsed()) {
    try {
      return compare_weights(cmp_a, cmp_b, cmp_tol);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
  }
  if (toy->parsed()) {
    try {
      make_toy_data(toy_root, toy_n);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  try {
    resolve_paths(o);
    torch::set_num_threads(o.threads);
    for (auto& [s, c] : subs) {
      if (!s->parsed()) continue;
      // Distributed (engine/dist.h): flags win over WORLD_SIZE, RANK, MASTER_ADDR/PORT.
      dist::Config dc;
      dc.world_size = o.world_size;
      dc.rank = o.rank;
      dc.master = o.master;
      dc.timeout_s = o.dist_timeout;
      dc = dist::from_env(dc, s->count("--world-size") > 0, s->count("--rank") > 0, s->count("--master") > 0);
      o.world_size = dc.world_size;
      o.rank = dc.rank;
      o.master = dc.master;
      if (dc.world_size > 1) {
        static const std::set<std::string> trains = {"pretrain",   "finetune",  "lnet-pretrain",
                                                     "lnet-train", "loc-train", "anet-joint"};
        if (!trains.count(c->name)) {
          // Stages that do not train run once, on rank 0.
          if (dc.rank != 0) {
            std::fprintf(stderr, "[dist] rank %d: %s runs on rank 0 only\n", dc.rank, c->name);
            return 0;
          }
        } else {
          dist::set_sync_bn(o.sync_bn);
          dist::init(dc, pick_device(o.device));
        }
      }
      if (!dist::is_root()) {  // rank 0 owns the run folder: the others only train
        c->fn(o);
        dist::shutdown();
        continue;
      }
      // Temp files of writes a kill interrupted (util/atomic_file.h): in the run folder,
      // its stage folders and the export folder. One trainer per run folder at a time.
      remove_stale_temps(o.run_dir);
      std::error_code ec;
      if (std::filesystem::is_directory(o.run_dir, ec))
        for (const auto& e : std::filesystem::directory_iterator(o.run_dir, ec))
          if (e.is_directory(ec)) remove_stale_temps(e.path().string());
      if (!o.out_dir.empty()) remove_stale_temps(o.out_dir);
      std::filesystem::create_directories(o.run_dir);
      nlohmann::json j;
      to_json(j, o);
      write_text_atomic(o.run_dir + "/options-" + c->name + ".json", j.dump(2) + "\n");
      c->fn(o);
      dist::shutdown();
    }
  } catch (const dist::PeerError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
