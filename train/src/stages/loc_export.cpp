// loc-export: the localiser's threshold chosen on validation photos, BN folded,
// int8 calibration, the LNet .fam files, their golden files and the SDK check.
// See train/README.md ("Localiser").
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "engine/fit.h"
#include "quant/golden.h"
#include "quant/int8.h"
#include "quant/to_modeldef.h"
#include "stages/fcn_export.h"
#include "stages/loc_common.h"
#include "stages/stages.h"

namespace faceattr::train {
using namespace loc;
namespace fs = std::filesystem;
namespace {

const char* kKindNames[] = {"mtfl", "real", "crop", "objects"};

nlohmann::json val_json(const ValResult& r) {
  nlohmann::json j;
  for (int k = 0; k < 4; ++k)
    j[kKindNames[k]] = {{"images", r.k[k].images},
                        {"faces", r.k[k].faces},
                        {"found_lenient", r.k[k].recall()},
                        {"found_iou50", r.k[k].recall50()},
                        {"false_faces_per_image", r.k[k].fp_per_image()},
                        {"images_with_face", r.k[k].with_face()}};
  j["key"] = r.key;
  return j;
}

struct Tuned {
  pipeline::DecodeParams params;
  ValResult result;
};

Tuned tune_threshold(const torch::Tensor& maps, const std::vector<ValFrame>& frames, const Options& o,
                     int stride, const char* what) {
  Tuned best;
  best.result.key = -1e9;
  for (float thr : {0.2f, 0.25f, 0.3f, 0.35f, 0.4f, 0.45f, 0.5f, 0.55f, 0.6f, 0.65f, 0.7f, 0.75f, 0.8f}) {
    pipeline::DecodeParams p = base_params(o);
    p.threshold = thr;
    const ValResult r = score_val(maps, frames, p, stride);
    std::fprintf(stderr, "[loc-export] %s thr %.2f: %s\n", what, thr, val_line(r).c_str());
    if (r.key > best.result.key) best = {p, r};
  }
  return best;
}

// int8: activation ranges on training canvases. The output logits: beyond +-8 every channel
// is saturated (p < 0.0004 or > 0.9996), so the int8 range stops there and spends its steps
// on the useful range.
QNet quantize_loc(const std::vector<FoldedConv>& folded, const LocPools& pools, const InputSpec& in,
                  const Options& o) {
  std::mt19937 rng(static_cast<uint32_t>(o.seed + 4242));
  RangeObserver obs = observe_conv_stack(folded, o.loc_calib, o.calib_percentile, [&](int count) {
    std::vector<LocSample> s;
    for (int b = 0; b < count; ++b) s.push_back(compose_loc_train(pools, in, rng));
    return nchw_of(s);
  });
  obs.lo.back() = std::max(obs.lo.back(), -8.0 * obs.batches);
  obs.hi.back() = std::min(obs.hi.back(), 8.0 * obs.batches);
  const InputRange r = normalised_input_range(in);
  return quantize_conv_stack(folded, r.lo, r.hi, obs, weight_qmax_for_bits(o.int8_weight_bits));
}

Metadata loc_metadata(const LocNet& net, const ModelCost& cost, const Tuned& t, const std::string& prec) {
  const auto& p = t.params;
  auto num = [](double v, const char* f) { return metadata_number(v, f); };
  return {
      {"license",
       "Trained on MTFL, CelebA, scenes_real (CC0) and ImageNet images: non-commercial research use only "
       "(see the datasets' terms)"},
      {"training_data",
       "box-supervised: MTFL photos (boxes from 5 landmarks; every 10th line held out), odd-numbered "
       "scenes_real photos, CelebA aligned train-split faces pasted on ImageNet object photos at 12-200 px, "
       "synthetic face masks, face-free object photos"},
      {"recipe", "scripts/train_recipe.sh --loc (train/README.md, Localiser)"},
      {"architecture",
       std::to_string(net->layers.size()) +
           "x conv3x3-BN-ReLU (4 stride-2, stride 16) + conv1x1 -> 5 logits per cell (face, offset x/y, "
           "log width/height), sigmoid; BN folded"},
      {"box",
       "canonical face box: square of side 2.8 s centred at E + 0.3 (M - E), E / M = eye / mouth "
       "midpoints, s = max(|M - E|, interocular distance)"},
      {"macs", std::to_string(cost.macs)},
      {"params", std::to_string(cost.params)},
      {"lnet.map", "dense"},
      {"lnet.dense", "1"},
      {"lnet.threshold", num(p.threshold, "%.3f")},
      {"lnet.nms_iou", num(p.nms_iou, "%.3f")},
      {"lnet.offset_range", num(p.offset_range, "%.3f")},
      {"lnet.box_min", num(p.box_min, "%.3f")},
      {"lnet.box_max", num(p.box_max, "%.3f")},
      {"lnet.crop_w", num(p.crop_w, "%.4f")},
      {"lnet.crop_h", num(p.crop_h, "%.4f")},
      {"lnet.crop_dy", num(p.crop_dy, "%.4f")},
      {"val_mtfl_found_lenient", metadata_number(t.result.k[0].recall())},
      {"val_real_found_lenient", metadata_number(t.result.k[1].recall())},
      {"val_real_false_faces_per_image", metadata_number(t.result.k[1].fp_per_image())},
      {"val_objects_with_face", metadata_number(t.result.k[3].with_face())},
      {"precision", prec},
      {"date", utc_date()}};
}

}  // namespace

void run_loc_export(const Options& o0) {
  LocSetup st = loc_setup(o0);
  const Options& o = st.o;
  const InputSpec& in = st.in;
  LocNet& net = st.net;
  const int stride = st.stride;
  const std::string ckpt = o.run_dir + "/" + kStage + "/loc.pt";
  if (!fs::exists(ckpt))
    throw std::runtime_error("no localiser checkpoint " + ckpt + " (run loc-train first)");
  load_module(*net, ckpt);
  net->eval();
  const LocPools pools = load_loc_pools(o, o.loc_max_mtfl, o.loc_max_celeba);
  const std::vector<ValFrame> frames = val_frames(pools, in);

  const std::vector<FoldedConv> folded = fold_loc(net);
  const auto maps_net = frame_maps(frames, [&](const torch::Tensor& x) { return net->forward(x); });
  const auto maps32 = frame_maps(frames, [&](const torch::Tensor& x) { return folded_forward(folded, x); });
  const double fold_diff = (maps32 - maps_net).abs().max().item<double>();
  std::fprintf(stderr, "[loc-export] BN folding: max |diff| %.2e\n", fold_diff);
  if (fold_diff > 1e-3) throw std::runtime_error("BN folding changed the localiser's output");
  const Tuned t32 = tune_threshold(maps32, frames, o, stride, "fp32");

  const QNet q = quantize_loc(folded, pools, in, o);
  const auto maps8 = frame_maps(frames, [&](const torch::Tensor& x) { return conv_stack_dequantized(q, x); });
  std::fprintf(stderr,
               "[loc-export] int8 output logit step %.4f; int8 vs fp32 maps: max |diff| %.3f, mean %.4f\n",
               q.convs.back().out.scale, (maps8 - maps32).abs().max().item<double>(),
               (maps8 - maps32).abs().mean().item<double>());
  const Tuned t8 = tune_threshold(maps8, frames, o, stride, "int8");
  std::fprintf(stderr, "[loc-export] chosen: fp32 thr %.2f: %s\n", t32.params.threshold,
               val_line(t32.result).c_str());
  std::fprintf(stderr, "[loc-export] chosen: int8 thr %.2f: %s\n", t8.params.threshold,
               val_line(t8.result).c_str());

  const auto cost = loc_cost(net, in.width, in.height);
  // Model files; the SDK checks them on 32 validation frames and the golden inputs.
  const std::string name = o.lnet_name;
  FcnExport e;
  e.tag = "[loc-export]";
  e.model = "localiser";
  serialize_models(
      e, folded, q, in, name, "face localiser (box-supervised dense box map)",
      loc_metadata(net, cost, t32, "fp32"),
      loc_metadata(net, cost, t8,
                   "int8: " + weight_bits_description(o.int8_weight_bits) + ", per-tensor activations (" +
                       std::to_string(o.loc_calib) + " calibration canvases)"));
  const int64_t n_check = std::min<int64_t>(32, static_cast<int64_t>(frames.size()));
  std::vector<LocSample> cs;
  for (int64_t i = 0; i < n_check; ++i)
    cs.push_back(frames[static_cast<size_t>(i * (frames.size() / n_check))].s);
  const auto xc = nchw_of(cs);
  e.x_nhwc = xc.permute({0, 2, 3, 1}).contiguous();
  e.golden_in = golden_inputs(4, in.height, in.width);
  const auto g_nchw = e.golden_in.permute({0, 3, 1, 2}).contiguous();
  auto nhwc_probs = [](const torch::Tensor& logits) {
    return torch::sigmoid(logits).permute({0, 2, 3, 1}).contiguous().flatten(1);
  };
  e.expected32 = nhwc_probs(folded_forward(folded, xc));
  e.golden32 = nhwc_probs(folded_forward(folded, g_nchw));
  e.expected8 = nhwc_probs(conv_stack_dequantized(q, xc));
  e.golden8 = nhwc_probs(conv_stack_dequantized(q, g_nchw));
  e.out_step = q.convs.back().out.scale;
  e.golden_layout =
      "NHWC, already normalised (the network input, not pixels); outputs: the [h][w][5] box map";
  e.golden_source = "LibTorch (faceattr_train loc-export)";

  nlohmann::json rep;
  rep["input"] = {in.width, in.height};
  rep["stride"] = stride;
  rep["macs"] = cost.macs;
  rep["params"] = cost.params;
  rep["fold_max_diff"] = fold_diff;
  rep["fp32"] = {{"threshold", t32.params.threshold}, {"validation", val_json(t32.result)}};
  rep["int8"] = {{"threshold", t8.params.threshold}, {"validation", val_json(t8.result)}};
  rep["note"] =
      "validation: MTFL lines with index % 10 == 0, even-numbered scenes_real photos (faces >= 24 px), "
      "CelebA "
      "aligned faces of validation identities as whole frames, held-out object photos (index % 10 == 0); "
      "lenient match = predicted centre inside the true box, side within x2";
  check_and_write(e, o.out_dir + "/" + name, rep, o.run_dir + "/" + kStage + "/export-report.json");
}

}  // namespace faceattr::train
