// lnet-export: the response map (face tag or the mean of the tag maps) and the
// decoder's constants tuned on validation scenes, BN folded, int8 calibration,
// the .fam files, their golden files and the SDK check. See train/README.md
// ("LNet").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "engine/fit.h"
#include "quant/golden.h"
#include "quant/int8.h"
#include "quant/to_modeldef.h"
#include "stages/fcn_export.h"
#include "stages/lnet_common.h"
#include "stages/stages.h"

namespace faceattr::train {
using namespace lnet;
namespace {

// The validation scenes: the decoder is tuned on the even ones (protocol scenes, plus the
// large-face ones with lnet_val_tune_large) and reported on the odd ones.
struct ValSet {
  std::vector<Scene> scenes;
  torch::Tensor x;  // [N,3,H,W]
  std::vector<int> even, odd, all, odd_protocol, odd_large, even_protocol, even_large;
  const std::vector<int>& tune_set(const Options& o) const {
    return o.lnet_val_tune_large ? even : even_protocol;
  }
};

ValSet make_val_set(const ScenePools& pools, const InputSpec& in, const Options& o) {
  ValSet v;
  v.scenes = val_scenes(pools, in, o, o.lnet_val_scenes);
  v.x = scenes_nchw(v.scenes);
  for (int i = 0; i < static_cast<int>(v.scenes.size()); ++i)
    (i % 2 ? v.odd : v.even).push_back(i), v.all.push_back(i);
  split_val(o.lnet_val_scenes, v.odd, v.odd_protocol, v.odd_large);
  split_val(o.lnet_val_scenes, v.even, v.even_protocol, v.even_large);
  return v;
}

// The response map (--lnet-map; auto: the better tuning key of "face" and "mean"), each
// map's tuned one-pass decoder going to rep["module"].
std::string choose_map(LNet& net, const ValSet& v, const Options& o, float cell, nlohmann::json& rep) {
  std::map<std::string, Tuned> by_map;
  for (const char* w : {"face", "mean"}) {
    auto maps = module_maps(net, v.x, w);
    by_map[w] = tune_decoder(maps, v.scenes, v.tune_set(o), v.odd, cell, cell, false);
    const auto& t = by_map[w];
    std::fprintf(
        stderr,
        "[lnet-export] map %-4s: tune found %.4f free-fp %.4f | report found %.4f free-fp %.4f extra %.3f "
        "iou %.3f (thr %.2f frac %.2f scale %.3f)\n",
        w, t.tune.found, t.tune.free_with_face, t.report.found, t.report.free_with_face,
        t.report.extra_per_scene, t.report.mean_iou, t.params.threshold, t.params.region_fraction,
        t.params.box_scale);
    rep["module"][w] = {
        {"params", params_json(t.params)}, {"tune", loc_json(t.tune)}, {"report", loc_json(t.report)}};
  }
  std::string which = o.lnet_map;
  if (which == "auto")
    which = tuning_key(by_map["mean"].tune) > tuning_key(by_map["face"].tune) ? "mean" : "face";
  std::fprintf(stderr, "[lnet-export] response map: %s\n", which.c_str());
  return which;
}

// One precision's response maps on the validation scenes (the coarse pass's and the
// pyramid's when the options ask for them), its tuned decoder and its scores.
struct Decoded {
  torch::Tensor maps, half;  // [N, mh, mw]; half: the coarse pass (--lnet-coarse-pass)
  Levels levels;             // --lnet-pyramid-levels > 1
  Tuned tuned;
  LocResult odd_protocol, odd_large;
};

using LogitsFn = std::function<torch::Tensor(const torch::Tensor&)>;

Decoded response_maps(const Options& o, const ValSet& v, const InputSpec& in, const LogitsFn& logits) {
  Decoded d;
  auto probs = [&](const torch::Tensor& x) { return torch::sigmoid(logits(x)).squeeze(1); };
  d.maps = probs(v.x).contiguous();
  if (o.lnet_coarse_pass) d.half = probs(half_size_input(v.x)).contiguous();
  if (o.lnet_pyramid_levels > 1)
    d.levels = make_levels(v.scenes, in, o.lnet_pyramid_levels, o.lnet_pyramid_factor, probs);
  return d;
}

// The size model is fitted on every even scene (protocol and large faces: the whole size range).
void tune(Decoded& d, const Options& o, const ValSet& v, float cell) {
  d.tuned = o.lnet_pyramid_levels > 1
                ? tune_pyramid(d.levels, o.lnet_pyramid_factor, v.scenes, v.tune_set(o), v.odd, cell, cell)
                : tune_decoder(d.maps, v.scenes, v.tune_set(o), v.odd, cell, cell, false, d.half, v.even,
                               o.lnet_size_model);
}

LocResult score(const Decoded& d, const Options& o, const ValSet& v, const std::vector<int>& which,
                float cell) {
  return o.lnet_pyramid_levels > 1 ? localise_levels(d.levels, v.scenes, which, d.tuned.params, cell, cell)
                                   : localise(d.maps, v.scenes, which, d.tuned.params, cell, cell, d.half);
}

void print_scores(Decoded& d, const char* n, const Options& o, const ValSet& v, float cell) {
  d.odd_protocol = score(d, o, v, v.odd_protocol, cell);
  d.odd_large = score(d, o, v, v.odd_large, cell);
  const LocResult &rp = d.odd_protocol, &rl = d.odd_large;
  const Tuned* tp = &d.tuned;
  std::fprintf(stderr,
               "[lnet-export] %s: odd protocol scenes found %.4f, face-free with a face %.4f (%d scenes); "
               "odd large-face scenes found %.4f (centre hit %.4f, %d faces)\n",
               n, rp.found, rp.free_with_face, rp.scenes, rl.found, rl.hit, rl.faces);
  std::fprintf(stderr,
               "[lnet-export] %s: report (odd scenes) found %.4f (centre hit %.4f), face-free with a face "
               "%.4f, extra %.3f, iou %.3f; "
               "thr %.3f frac %.2f scale %.3f half-thr %.4f half-scale %.3f size %.3f %+.3f %+.3f "
               "pyramid %g x %.3f side %.2f\n",
               n, tp->report.found, tp->report.hit, tp->report.free_with_face, tp->report.extra_per_scene,
               tp->report.mean_iou, tp->params.threshold, tp->params.region_fraction, tp->params.box_scale,
               tp->params.half_threshold, tp->params.half_box_scale, tp->params.size_bias, tp->params.size_w1,
               tp->params.size_w2, tp->params.pyramid_levels, tp->params.pyramid_factor,
               tp->params.pyramid_side);
}

nlohmann::json precision_json(const Decoded& d, const Options& o, const ValSet& v, float cell) {
  return {{"params", params_json(d.tuned.params)},     {"tune_even", loc_json(d.tuned.tune)},
          {"report_odd", loc_json(d.tuned.report)},    {"report_odd_protocol", loc_json(d.odd_protocol)},
          {"report_odd_large", loc_json(d.odd_large)}, {"all", loc_json(score(d, o, v, v.all, cell))}};
}

// int8: activation ranges on training scenes; the face logit map's range is clipped below
// at -8 (p = 0.0003: "no face" either way), which spends the 256 steps on the useful range.
QNet quantize_lnet(const std::vector<FoldedConv>& folded, const ScenePools& pools, const InputSpec& in,
                   const Options& o) {
  std::mt19937 rng(static_cast<uint32_t>(o.seed + 4242));
  RangeObserver obs = observe_conv_stack(folded, o.lnet_calib_scenes, o.calib_percentile, [&](int count) {
    std::vector<Scene> sc;
    for (int b = 0; b < count; ++b)
      sc.push_back(compose_train_scene(pools, in, rng, static_cast<float>(o.lnet_large_face_prob),
                                       static_cast<float>(o.lnet_large_face_max),
                                       static_cast<float>(o.lnet_face_min),
                                       static_cast<float>(o.lnet_face_max)));
    return scenes_nchw(sc);
  });
  obs.lo.back() = std::max(obs.lo.back(), -8.0 * obs.batches);
  const InputRange r = normalised_input_range(in);
  QNet q = quantize_conv_stack(folded, r.lo, r.hi, obs, weight_qmax_for_bits(o.int8_weight_bits));
  std::fprintf(stderr, "[lnet-export] int8 output logit range %.3f..%.3f (step %.4f)\n",
               obs.lo.back() / obs.batches, obs.hi.back() / obs.batches, q.convs.back().out.scale);
  return q;
}

Metadata lnet_metadata(const Options& o, const ModelCost& cost, const std::string& which, const Tuned& t,
                       const std::string& prec) {
  auto num = [](double v, const char* f) { return metadata_number(v, f); };
  std::vector<std::pair<std::string, std::string>> m = {
      {"license",
       "Trained on CelebA, LFW and ImageNet images: non-commercial research use only (see the datasets' "
       "terms)"},
      {"training_data",
       "scenes composed from CelebA 89x109 train-split faces (validation identities held out) and LFW "
       "faces on "
       "ImageNet object photos; image-level tags only" +
           std::string(o.box_supervision ? " (COMPARISON MODEL: per-cell box supervision)" : "")},
      {"recipe", "scripts/train_recipe.sh --lnet (train/README.md, LNet)"},
      {"architecture",
       "8x conv3x3-BN-ReLU (3 stride-2, stride 8) + conv1x1 -> 1 face logit map, sigmoid; BN folded"},
      {"macs", std::to_string(cost.macs)},
      {"params", std::to_string(cost.params)},
      {"lnet.map", which},
      {"lnet.threshold", num(t.params.threshold, "%.3f")},
      {"lnet.region_fraction", num(t.params.region_fraction, "%.3f")},
      {"lnet.box_scale", num(t.params.box_scale, "%.4f")},
      {"lnet.box_aspect", num(t.params.box_aspect, "%.3f")},
      {"lnet.nms_iou", num(t.params.nms_iou, "%.3f")},
      {"box",
       "the decoded box approximates the rectangle of a ~square face crop whose central 0.8-wide part is "
       "ANet's framing"},
      {"val_found_iou50", metadata_number(t.report.found)},
      {"val_face_free_with_face", metadata_number(t.report.free_with_face)},
      {"precision", prec},
      {"date", utc_date()}};
  if (t.params.half_threshold > 0) {  // coarse pass
    m.push_back({"lnet.half_threshold", num(t.params.half_threshold, "%.4f")});
    if (t.params.half_box_scale > 0)
      m.push_back({"lnet.half_box_scale", num(t.params.half_box_scale, "%.4f")});
  }
  if (t.params.pyramid_levels >= 2) {  // image pyramid
    m.push_back({"lnet.pyramid_levels", num(t.params.pyramid_levels, "%.0f")});
    m.push_back({"lnet.pyramid_factor", num(t.params.pyramid_factor, "%.5f")});
    m.push_back({"lnet.pyramid_side", num(t.params.pyramid_side, "%.3f")});
  }
  if (t.params.size_bias > 0) {  // size model
    m.push_back({"lnet.size_bias", num(t.params.size_bias, "%.5f")});
    m.push_back({"lnet.size_w1", num(t.params.size_w1, "%.5f")});
    m.push_back({"lnet.size_w2", num(t.params.size_w2, "%.5f")});
  }
  return m;
}

}  // namespace

void run_lnet_export(const Options& o) {
  torch::manual_seed(o.seed);
  ScenePools pools = load_scene_pools(o, o.lnet_max_celeba, o.lnet_max_lfw);
  const InputSpec in = lnet_input(o);
  LNet net(n_tags(pools), o.lnet_width_mult);
  const std::string stage = train_stage(o);
  load_module(*net, o.run_dir + "/" + stage + "/lnet.pt");
  net->eval();
  const int stride = lnet_stride(net), mh = in.height / stride, mw = in.width / stride;
  if (mh * stride != in.height || mw * stride != in.width)
    throw std::runtime_error("LNet input must be a multiple of the stride " + std::to_string(stride));
  const float cell = static_cast<float>(stride);
  const ValSet v = make_val_set(pools, in, o);

  nlohmann::json rep;
  const std::string which = choose_map(net, v, o, cell, rep);
  if (o.lnet_pyramid_levels > 1) {
    std::vector<torch::Tensor> lm;
    for (int l = 0; l < o.lnet_pyramid_levels; ++l)
      lm.push_back(module_maps(net, level_input(v.scenes, in, std::pow(o.lnet_pyramid_factor, l)), which));
    std::vector<int> prot, large;
    split_val(o.lnet_val_scenes, v.all, prot, large);
    pyramid_diagnostic(lm, o.lnet_pyramid_factor, v.scenes, prot, cell);
  }

  // fp32: fold BN, check against the module.
  auto folded = fold_lnet(net, which);
  Decoded d32 = response_maps(o, v, in, [&](const torch::Tensor& x) { return folded_forward(folded, x); });
  const double fold_diff = (d32.maps - module_maps(net, v.x, which)).abs().max().item<double>();
  std::fprintf(stderr, "[lnet-export] BN folding: max |map diff| %.2e\n", fold_diff);
  if (fold_diff > 1e-4) throw std::runtime_error("BN folding changed the response map");
  tune(d32, o, v, cell);

  const QNet q = quantize_lnet(folded, pools, in, o);
  Decoded d8 = response_maps(o, v, in, [&](const torch::Tensor& x) { return conv_stack_dequantized(q, x); });
  std::fprintf(stderr, "[lnet-export] int8 vs fp32 map: max |diff| %.3f, mean %.4f\n",
               (d8.maps - d32.maps).abs().max().item<double>(),
               (d8.maps - d32.maps).abs().mean().item<double>());
  tune(d8, o, v, cell);
  print_scores(d32, "fp32", o, v, cell);
  print_scores(d8, "int8", o, v, cell);

  // Model files; the SDK checks them on 32 validation scenes and the golden inputs.
  const auto cost = lnet_cost(net, in.width, in.height);
  const std::string name = o.box_supervision ? o.lnet_name + "-box" : o.lnet_name;
  const std::string out_dir = o.box_supervision ? o.run_dir + "/lnet-box/models" : o.out_dir;
  FcnExport e;
  e.tag = "[lnet-export]";
  e.model = "LNet";
  serialize_models(
      e, folded, q, in, name, "LNet face localiser (weakly supervised, response map)",
      lnet_metadata(o, cost, which, d32.tuned, "fp32"),
      lnet_metadata(o, cost, which, d8.tuned,
                    "int8: " + weight_bits_description(o.int8_weight_bits) + ", per-tensor activations (" +
                        std::to_string(o.lnet_calib_scenes) + " calibration scenes)"));
  const int64_t n_check = std::min<int64_t>(32, v.x.size(0));
  e.x_nhwc = v.x.slice(0, 0, n_check).permute({0, 2, 3, 1}).contiguous();
  e.expected32 = d32.maps.slice(0, 0, n_check).flatten(1);
  e.expected8 = d8.maps.slice(0, 0, n_check).flatten(1);
  e.golden_in = golden_inputs(4, in.height, in.width);
  const auto g_nchw = e.golden_in.permute({0, 3, 1, 2}).contiguous();
  e.golden32 = torch::sigmoid(folded_forward(folded, g_nchw)).flatten(1);
  e.golden8 = torch::sigmoid(conv_stack_dequantized(q, g_nchw)).flatten(1);
  e.out_step = q.convs.back().out.scale;
  e.golden_layout =
      "NHWC, already normalised (the network input, not pixels); outputs: the [h][w] response map";
  e.golden_source = "LibTorch (faceattr_train lnet-export)";

  rep["map"] = which;
  rep["box_supervision"] = o.box_supervision;
  rep["macs"] = cost.macs;
  rep["params"] = cost.params;
  rep["input"] = {in.width, in.height};
  rep["map_size"] = {mw, mh};
  rep["val_scenes"] = v.scenes.size();
  rep["fold_max_diff"] = fold_diff;
  rep["fp32"] = precision_json(d32, o, v, cell);
  rep["int8"] = precision_json(d8, o, v, cell);
  rep["note"] =
      "validation scenes: held-out CelebA identities on held-out object photos, pasted whole and hard-edged "
      "(the eval protocol at LNet scale); decoder tuned on even scenes, reported on odd scenes";
  check_and_write(e, out_dir + "/" + name, rep, o.run_dir + "/" + stage + "/export-report.json");
}

}  // namespace faceattr::train
