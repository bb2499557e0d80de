// Thresholds (d), BN folding, int8 post-training quantisation, .fam export,
// golden files and the SDK cross-check (6).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/loader.h"
#include "engine/evaluate.h"
#include "engine/fit.h"
#include "engine/history.h"
#include "engine/splits.h"
#include "model/anet.h"
#include "quant/folded.h"
#include "quant/golden.h"
#include "quant/int8.h"
#include "quant/sdk_check.h"
#include "quant/to_modeldef.h"
#include "stages/stages.h"

namespace faceattr::train {
namespace {

// All batches of a dataset, un-augmented or augmented, as one [N,3,H,W] tensor.
torch::Tensor load_inputs(const Dataset& ds, const Options& o, bool augment, size_t limit,
                          torch::Tensor* targets) {
  AugmentSpec aug = o.augment;
  aug.enabled = augment;
  LoaderOptions lo;
  lo.batch_size = 128;
  lo.workers = o.workers;
  lo.seed = o.seed + 77;
  auto order = epoch_order(ds.samples.size(), augment, o.seed + 77, 0);
  if (limit > 0 && order.size() > limit) order.resize(limit);
  BatchLoader loader(ds, order, o.input, aug, lo);
  std::vector<torch::Tensor> xs, ys;
  Batch b;
  while (loader.next(b)) xs.push_back(b.images), ys.push_back(b.attrs);
  if (targets) *targets = torch::cat(ys);
  return torch::cat(xs);
}

constexpr const char* kAnetGoldenLayout = "NHWC, already normalised (the network input, not pixels)";

nlohmann::json per_attribute(const std::vector<std::string>& names, const std::vector<double>& acc) {
  nlohmann::json j;
  for (size_t a = 0; a < names.size(); ++a) j[names[a]] = acc[a];
  return j;
}

}  // namespace

void run_export(const Options& o) {
  torch::manual_seed(o.seed);
  AttributeSplits splits = make_attribute_splits(o);
  const auto& names = splits.attribute_names;
  const int A = static_cast<int>(names.size());
  ANet net(A, o.width_mult, o.dropout);
  std::string head = o.head;
  FoldedNet folded;
  const bool from_file = !o.from_model.empty();
  if (from_file) {
    // Re-export a model file's network (its BN already folded): no checkpoint needed.
    folded = folded_from_model_file(o.from_model, &head);
    if (static_cast<int>(folded.fc_weight.size(0)) != A)
      throw std::runtime_error(o.from_model + ": " + std::to_string(folded.fc_weight.size(0)) +
                               " outputs, the data has " + std::to_string(A) + " attributes");
    if (head.empty()) head = "finetuned";
    // The file must hold the config's architecture (its cost goes into the metadata).
    const FoldedNet arch = fold_batchnorm(net);
    bool same =
        arch.convs.size() == folded.convs.size() && arch.fc_weight.sizes() == folded.fc_weight.sizes();
    for (size_t i = 0; same && i < arch.convs.size(); ++i)
      same = arch.convs[i].weight.sizes() == folded.convs[i].weight.sizes() &&
             arch.convs[i].stride == folded.convs[i].stride && arch.convs[i].groups == folded.convs[i].groups;
    if (!same) throw std::runtime_error(o.from_model + ": not the architecture of the config (width_mult?)");
    std::fprintf(stderr, "[export] network from %s\n", o.from_model.c_str());
  } else {
    load_module(*net, o.run_dir + "/finetune/anet.pt");
  }
  nlohmann::json linear_report;
  if (std::filesystem::exists(o.run_dir + "/linear/report.json")) {
    std::ifstream f(o.run_dir + "/linear/report.json");
    linear_report = nlohmann::json::parse(f);
  }
  // Without a linear stage (no report) the fine-tuned head is the only one.
  if (head == "auto")
    head = linear_report.is_object() ? linear_report.value("winner", std::string("finetuned")) : "finetuned";
  if (head == "linear" && !from_file) {
    torch::nn::Linear lin(net->feature_dim(), A);
    load_module(*lin, o.run_dir + "/linear/head.pt");
    torch::NoGradGuard ng;
    net->head->weight.copy_(lin->weight);
    net->head->bias.copy_(lin->bias);
  }
  net->eval();
  net->to(torch::kCPU);
  std::fprintf(stderr, "[export] head: %s\n", head.c_str());

  // fp32: fold BN and check the folded network against the module.
  if (!from_file) folded = fold_batchnorm(net);
  torch::Tensor y_val;
  auto x_val = load_inputs(splits.val, o, false, 0, &y_val);
  torch::Tensor logits32;
  if (from_file) {
    logits32 = folded.logits(x_val);
  } else {
    torch::NoGradGuard ng;
    // Compare pooled features (the head is copied verbatim; a badly conditioned
    // linear head would only amplify float rounding).
    std::vector<torch::Tensor> acts;
    logits32 = folded.logits(x_val, &acts);
    const auto& feats = acts[acts.size() - 2];
    const double fold_diff = (feats - net->features(x_val)).abs().max().item<double>();
    const double scale = std::max(1.0, feats.abs().max().item<double>());
    std::fprintf(stderr, "[export] BN folding: max |feature diff| %.2e (max |feature| %.3g)\n", fold_diff,
                 scale);
    if (fold_diff > 1e-5 * scale) throw std::runtime_error("BN folding changed the features");
  }
  // Probabilities that mean what they say: Platt scaling per attribute, folded into the
  // classifier (the weighted training loss shifts every head's operating point).
  // Applied only when it lowers the calibration error on held-out halves (a tiny or
  // degenerate validation split can make it worse).
  double ece_before = 0;
  const double ece_after = cross_platt_ece(logits32, y_val, &ece_before);
  const bool calibrate = ece_after < ece_before;
  const std::vector<double> platt_acc32 = cross_platt_accuracy(logits32, y_val);
  PlattScaling platt = fit_platt(logits32, y_val);
  if (!calibrate) {
    platt.scale.assign(static_cast<size_t>(A), 1.0f);
    platt.shift.assign(static_cast<size_t>(A), 0.0f);
  }
  {
    auto sc = torch::tensor(platt.scale), sh = torch::tensor(platt.shift);
    folded.fc_weight = folded.fc_weight * sc.view({A, 1});
    folded.fc_bias = folded.fc_bias * sc + sh;
    logits32 = platt.apply(logits32);
  }
  std::fprintf(
      stderr,
      "[export] calibration (Platt scaling per attribute): mean ECE %.4f before, %.4f after (2-fold)%s\n",
      ece_before, ece_after, calibrate ? "" : ": not applied");
  auto probs32 = torch::sigmoid(logits32);
  auto thr32 = calibrate_thresholds(probs32, y_val);
  auto bal_thr32 = balanced_thresholds(probs32, y_val);
  auto acc32 = cross_calibrated_accuracy(probs32, y_val);
  auto bacc32 = cross_balanced_accuracy(probs32, y_val);
  std::fprintf(stderr,
               "[export] fp32 validation accuracy %.4f (thresholds cross-calibrated), %.4f at 0.5; balanced "
               "accuracy %.4f at the accuracy thresholds, %.4f at equal-error-rate thresholds\n",
               mean_of(acc32), mean_of(attribute_accuracy(probs32, y_val, std::vector<float>(A, 0.5f))),
               mean_of(attribute_balanced_accuracy(probs32, y_val, thr32)), mean_of(bacc32));
  std::fprintf(stderr,
               "[export] fp32 validation accuracy %.4f at 0.5 with Platt scaling fitted on the other half\n",
               mean_of(platt_acc32));
  // The accuracy policy: per-attribute thresholds fitted on validation, or 0.5 on the
  // calibrated probability (what maximises expected accuracy when the probability is
  // calibrated; the file's probabilities are: Platt scaling is applied unless the input's
  // own are better calibrated already). "auto" takes whichever scores higher out of sample
  // (both 2-fold above).
  const bool at_half = o.accuracy_thresholds == "half" ||
                       (o.accuracy_thresholds == "auto" && mean_of(platt_acc32) > mean_of(acc32));
  if (at_half) {
    thr32.assign(static_cast<size_t>(A), 0.5f);
    acc32 = platt_acc32;
  }
  std::fprintf(stderr, "[export] accuracy policy: %s (fp32 validation %.4f, 2-fold)\n",
               at_half ? "0.5 on the calibrated probability" : "per-attribute fitted thresholds",
               mean_of(acc32));

  // int8: calibrate activation ranges on augmented training images.
  RangeObserver obs;
  obs.percentile = o.calib_percentile;
  {
    auto x_cal = load_inputs(splits.train, o, true, static_cast<size_t>(o.calib_images), nullptr);
    for (int64_t s = 0; s < x_cal.size(0); s += 64) {
      std::vector<torch::Tensor> acts;
      folded.logits(x_cal.slice(0, s, std::min<int64_t>(s + 64, x_cal.size(0))), &acts);
      obs.observe(acts);
    }
  }
  const InputRange in_range = normalised_input_range(o.input);
  QNet qnet = quantize_net(folded, in_range.lo, in_range.hi, obs, weight_qmax_for_bits(o.int8_weight_bits));
  auto print_layer = [](const std::string& n, const QLayer& l) {
    auto m = l.w_scale * (l.in.scale / l.out.scale);
    std::fprintf(stderr, "[export] int8 %-6s in %.4g/%d out %.4g/%d requant multiplier %.3g..%.3g\n",
                 n.c_str(), l.in.scale, l.in.zero_point, l.out.scale, l.out.zero_point,
                 m.min().item<double>(), m.max().item<double>());
  };
  for (size_t i = 0; i < qnet.convs.size(); ++i) print_layer("conv" + std::to_string(i), qnet.convs[i]);
  auto probs8 = torch::sigmoid(qnet.logits(x_val));
  auto thr8 = calibrate_thresholds(probs8, y_val);
  auto bal_thr8 = balanced_thresholds(probs8, y_val);
  auto acc8 = at_half ? cross_platt_accuracy(torch::logit(probs8, 1e-7), y_val)
                      : cross_calibrated_accuracy(probs8, y_val);
  if (at_half) thr8.assign(static_cast<size_t>(A), 0.5f);
  auto bacc8 = cross_balanced_accuracy(probs8, y_val);
  auto ece8 = expected_calibration_error(probs8, y_val), ece32 = expected_calibration_error(probs32, y_val);
  std::fprintf(stderr,
               "[export] int8 validation accuracy %.4f (fp32 %.4f), balanced at equal-error-rate thresholds "
               "%.4f (fp32 %.4f); max |p8 - p32| %.3f\n",
               mean_of(acc8), mean_of(acc32), mean_of(bacc8), mean_of(bacc32),
               (probs8 - probs32).abs().max().item<double>());

  // Model files.
  auto cost = anet_cost(net, o.input.width, o.input.height);
  ModelInfo info;
  info.input = o.input;
  info.attribute_names = names;
  // A network from anet-joint (<run>/joint) was fine-tuned on the localiser's crops of
  // CelebA and MTFL photos after the recipe's training.
  const bool joint = !from_file && std::filesystem::exists(o.run_dir + "/joint/state.json");
  const bool utk = joint && !o.utkface_dir.empty();
  const size_t n_celeba = splits.train.samples.size() + splits.val.samples.size();
  info.metadata = {
      {"license", std::string("Trained on CelebA, LFW") + (joint ? ", MTFL" : "") + (utk ? ", UTKFace" : "") +
                      " and ImageNet images: non-commercial research use only (see the datasets' terms)"},
      {"training_data",
       "CelebA " + std::to_string(n_celeba) + " aligned images (89x109, official partitions 0-" +
           std::to_string(std::clamp(o.celeba_max_partition, 0, 1)) + ", " +
           std::to_string(splits.val.samples.size()) +
           " of held-out people for validation) + LFW identities (1,680 people)" +
           (joint ? std::string("; joint fine-tuning on the localiser's crops of the CelebA training images, "
                                "9,000 MTFL photos (Male, Smiling, Eyeglasses)") +
                        (utk ? " and the UTKFace train-split chips (Male, Young)" : "")
                  : std::string())},
      {"recipe", joint ? "scripts/train_recipe.sh, then --joint (train/README.md, Joint fine-tuning)"
                       : "scripts/train_recipe.sh (train/configs/anet.json)"},
      {"architecture", "7x conv3x3-BN-ReLU (4 stride-2) + conv1x1, global avg pool, fc 40; BN folded"},
      {"macs", std::to_string(cost.macs)},
      {"params", std::to_string(cost.params)},
      {"head", head},
      {"framing",
       "face crop, centre-cropped to width/height 0.8 by the SDK; with the localiser, the crop "
       "its lnet.crop_* keys derive from the face box"},
      {"calibration", calibrate
                          ? "Platt scaling per attribute on the validation split, folded into the classifier"
                          : "none (Platt scaling did not lower the validation calibration error)"},
      {"thresholds", "default: maximum validation accuracy; balanced: equal error rate per attribute"},
      {"date", utc_date()}};
  const std::string stem = o.out_dir + "/" + o.model_name;
  std::filesystem::create_directories(o.out_dir);

  info.name = o.model_name + "-fp32";
  info.description = "ANet (CelebA 40 attributes), fp32";
  info.thresholds = thr32;
  info.balanced_thresholds = bal_thr32;
  info.metadata.push_back({"val_mean_accuracy", metadata_number(mean_of(acc32))});
  auto bytes32 = modelfile::serialize(build_fp32_model(folded, info));
  info.metadata.pop_back();
  info.name = o.model_name + "-int8";
  info.description = "ANet (CelebA 40 attributes), int8 post-training quantised";
  info.thresholds = thr8;
  info.balanced_thresholds = bal_thr8;
  info.metadata.push_back({"val_mean_accuracy", metadata_number(mean_of(acc8))});
  info.metadata.push_back({"quantization", "int8: " + weight_bits_description(o.int8_weight_bits) +
                                               ", per-tensor activations (" + std::to_string(o.calib_images) +
                                               " calibration images, p" +
                                               metadata_number(o.calib_percentile) + ")"});
  auto bytes8 = modelfile::serialize(build_int8_model(qnet, info));

  // SDK checks before anything is written to out_dir.
  const int64_t n_check = std::min<int64_t>(32, x_val.size(0));
  auto x_nhwc = x_val.slice(0, 0, n_check).permute({0, 2, 3, 1}).contiguous();
  const int G = 4;
  auto g_in = golden_inputs(G, o.input.height, o.input.width);
  auto g_nchw = g_in.permute({0, 3, 1, 2}).contiguous();
  auto g32 = torch::sigmoid(folded.logits(g_nchw)), g8 = torch::sigmoid(qnet.logits(g_nchw));
  std::vector<RgbImage> raw;
  for (int64_t i = 0; i < n_check; ++i)
    raw.push_back(decode_jpeg_file(splits.val.samples[static_cast<size_t>(i)].path));
  // fp32: same arithmetic up to summation order. int8: the emulation is exact
  // in the quantised domain for the reference kernels (bound 1e-4, only the
  // sigmoid and the f32 classifier's summation order differ); other families may
  // round a requantised value one step differently. Allowing one step at each
  // pooled feature: |dlogit[o]| <= pooled_scale * sum_i |w[o][i]|, and the
  // sigmoid's slope is at most 1/4.
  const double bound32 = 1e-4;
  const double bound8_ref = 1e-4;
  const double fc_sens = (qnet.fc_weight.abs().sum(1) * qnet.pooled.scale).max().item<double>();
  const double bound8 = 0.25 * fc_sens;
  std::fprintf(stderr, "[export] int8 bound for non-reference kernels: %.3g (fc sensitivity %.3g)\n", bound8,
               fc_sens);
  SdkCheckLog checks("[export]");
  checks.record(check_network(bytes32, x_nhwc, probs32.slice(0, 0, n_check), bound32), "fp32");
  checks.record(check_network(bytes32, g_in, g32, bound32), "fp32-golden");
  checks.record(check_c_api(bytes32, raw, probs32.slice(0, 0, n_check), bound32), "fp32");
  checks.record_int8(check_network(bytes8, x_nhwc, probs8.slice(0, 0, n_check), 0), "int8", bound8_ref,
                     bound8);
  checks.record_int8(check_network(bytes8, g_in, g8, 0), "int8-golden", bound8_ref, bound8);
  checks.record_int8({check_c_api(bytes8, raw, probs8.slice(0, 0, n_check), 0)}, "int8", bound8_ref, bound8);
  if (!checks.ok())
    throw std::runtime_error("the SDK disagrees with LibTorch on the exported model (see above)");

  // The model and golden files as one step: all written and fsynced, then renamed
  // (util/atomic_file.h); a kill leaves each file old or new, never torn.
  const std::string golden32 = golden_text(g32, kAnetGoldenLayout),
                    golden8 =
                        golden_text(g8, kAnetGoldenLayout, "",
                                    0.25 * qnet.pooled.scale * qnet.fc_weight.abs().max().item<double>());
  write_files_atomic({{stem + "-fp32.fam", as_bytes(bytes32)},
                      {stem + "-int8.fam", as_bytes(bytes8)},
                      {stem + "-fp32.fam.golden.json", golden32},
                      {stem + "-int8.fam.golden.json", golden8}},
                     "export");

  nlohmann::json rep;
  rep["head"] = head;
  rep["linear_report"] = linear_report;
  rep["macs"] = cost.macs;
  rep["params"] = cost.params;
  rep["val_images"] = x_val.size(0);
  rep["fp32_val_acc"] = mean_of(acc32);
  rep["int8_val_acc"] = mean_of(acc8);
  rep["fp32_val_acc_per_attribute"] = per_attribute(names, acc32);
  rep["int8_val_acc_per_attribute"] = per_attribute(names, acc8);
  rep["fp32_val_balanced_acc"] = mean_of(bacc32);
  rep["int8_val_balanced_acc"] = mean_of(bacc8);
  rep["fp32_val_balanced_acc_at_accuracy_thresholds"] =
      mean_of(attribute_balanced_accuracy(probs32, y_val, thr32));
  rep["int8_val_balanced_acc_at_accuracy_thresholds"] =
      mean_of(attribute_balanced_accuracy(probs8, y_val, thr8));
  rep["int8_val_balanced_acc_per_attribute"] = per_attribute(names, bacc8);
  rep["val_ece_uncalibrated"] = ece_before;
  rep["val_ece_calibrated_2fold"] = ece_after;
  rep["fp32_val_ece_per_attribute"] = per_attribute(names, ece32);
  rep["int8_val_ece_per_attribute"] = per_attribute(names, ece8);
  rep["platt_applied"] = calibrate;
  rep["platt_scale"] = platt.scale;
  rep["platt_shift"] = platt.shift;
  rep["fp32_val_acc_platt_at_half"] = mean_of(platt_acc32);
  rep["accuracy_thresholds"] = at_half ? "half" : "fitted";
  rep["fp32_thresholds"] = thr32;
  rep["int8_thresholds"] = thr8;
  rep["fp32_balanced_thresholds"] = bal_thr32;
  rep["int8_balanced_thresholds"] = bal_thr8;
  rep["fp32_bytes"] = bytes32.size();
  rep["int8_bytes"] = bytes8.size();
  rep["sdk_checks"] = checks.json();
  rep["note"] =
      "accuracies: thresholds calibrated 2-fold on the validation split (never scored where fitted); "
      "shipped thresholds are calibrated on the whole validation split; balanced accuracies at "
      "equal-error-rate thresholds, 2-fold the same way; ECE with 15 bins, the calibrated one 2-fold";
  std::filesystem::create_directories(o.run_dir + "/export");
  write_text_atomic(o.run_dir + "/export/report.json", rep.dump(2) + "\n", "export");
  std::fprintf(stderr, "[export] wrote %s-fp32.fam (%zu bytes), %s-int8.fam (%zu bytes)\n", stem.c_str(),
               bytes32.size(), stem.c_str(), bytes8.size());
}

}  // namespace faceattr::train
