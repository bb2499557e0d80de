// Localiser stages (train/README.md, "Localiser"): box-supervised training of a
// dense box map on real photos and composites, then threshold choice on
// validation photos, BN folding, int8, the LNet .fam files and the SDK check.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "engine/fit.h"
#include "engine/generated_loop.h"
#include "engine/history.h"
#include "loc/loc_data.h"
#include "lnet/lnet.h"
#include "loc/loc_net.h"
#include "model_def.h"
#include "pipeline/lnet_decode.h"
#include "quant/golden.h"
#include "quant/int8.h"
#include "quant/sdk_check.h"
#include "quant/to_modeldef.h"
#include "stages/stages.h"

namespace faceattr::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStage = "loc";

InputSpec loc_input(const Options& o) {
  InputSpec in = o.input;
  in.width = o.loc_input_width;
  in.height = o.loc_input_height;
  return in;
}

torch::Tensor nchw_of(const std::vector<LocSample>& s) {
  const int64_t N = static_cast<int64_t>(s.size()), H = s[0].height, W = s[0].width;
  auto x = torch::empty({N, H, W, 3});
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(x[i].data_ptr<float>(), s[static_cast<size_t>(i)].pixels.data(), sizeof(float) * H * W * 3);
  return x.permute({0, 3, 1, 2}).contiguous();
}

struct LocBatch {
  torch::Tensor x, heat, neg_w, reg, reg_w;
};

LocBatch make_batch(const LocPools& p, const InputSpec& in, const Options& o, int stride, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<LocSample> s;
  const int mh = in.height / stride, mw = in.width / stride;
  const int64_t B = o.loc_batch, cells = static_cast<int64_t>(mh) * mw;
  LocBatch b;
  b.heat = torch::empty({B, mh, mw});
  b.neg_w = torch::empty({B, mh, mw});
  b.reg = torch::empty({B, 4, mh, mw});
  b.reg_w = torch::empty({B, mh, mw});
  for (int64_t i = 0; i < B; ++i) {
    s.push_back(compose_loc_train(p, in, rng));
    const LocTargets t = loc_targets(s.back(), mh, mw, stride, o.loc_offset_range, o.loc_box_min, o.loc_box_max);
    std::memcpy(b.heat[i].data_ptr<float>(), t.heat.data(), sizeof(float) * cells);
    std::memcpy(b.neg_w[i].data_ptr<float>(), t.neg_w.data(), sizeof(float) * cells);
    std::memcpy(b.reg[i].data_ptr<float>(), t.reg.data(), sizeof(float) * cells * 4);
    std::memcpy(b.reg_w[i].data_ptr<float>(), t.reg_w.data(), sizeof(float) * cells);
  }
  b.x = nchw_of(s);
  return b;
}

// Penalty-reduced focal loss on the face score (CenterNet) + BCE on the box channels.
torch::Tensor loc_loss(const torch::Tensor& out, const LocBatch& b, std::map<std::string, double>& stats) {
  auto z = out.select(1, 0);
  auto logp = torch::log_sigmoid(z), log1mp = torch::log_sigmoid(-z), p = torch::sigmoid(z);
  auto pos = b.heat.ge(0.999).to(torch::kFloat32);
  const auto n_pos = std::max(1.0, pos.sum().item<double>());
  auto pos_loss = -(pos * (1 - p).pow(2) * logp).sum();
  auto neg_loss = -((1 - pos) * b.neg_w * (1 - b.heat).pow(4) * p.pow(2) * log1mp).sum();
  auto score = (pos_loss + neg_loss) / n_pos;
  auto bce = torch::binary_cross_entropy_with_logits(out.slice(1, 1, 5), b.reg, {}, {},
                                                      torch::Reduction::None)
                 .sum(1);
  auto reg = (bce * b.reg_w).sum() / std::max(1.0, b.reg_w.sum().item<double>());
  stats["score_loss"] += score.item<double>();
  stats["box_loss"] += reg.item<double>();
  return score + 2.0 * reg;
}

// ---- Validation: letterboxed frames, the SDK's own decoder ----

struct ValFrame {
  LocSample s;
  float k = 1;      // canvas pixels per image pixel
  int kind = 0;     // 0 MTFL, 1 real scene, 2 face crop (CelebA validation identities), 3 objects
};

const char* kKindNames[] = {"mtfl", "real", "crop", "objects"};

std::vector<ValFrame> val_frames(const LocPools& p, const InputSpec& in) {
  std::vector<ValFrame> v;
  auto add = [&](const LocImage& im, int kind) {
    ValFrame f;
    f.s = letterbox_frame(im, in);
    f.k = std::min(static_cast<float>(in.width) / im.img.width, static_cast<float>(in.height) / im.img.height);
    f.kind = kind;
    v.push_back(std::move(f));
  };
  for (const auto& im : p.mtfl_val) add(im, 0);
  for (const auto& im : p.real_val) add(im, 1);
  for (const auto& im : p.celeba_val) add(im, 2);
  for (const auto& ob : p.objects_val) {
    LocImage im;
    im.img = ob;
    add(im, 3);
  }
  return v;
}

float iou(const pipeline::FaceBox& a, const LocBox& b) {
  const float ix = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  return ix * iy / (a.w * a.h + b.w * b.h - ix * iy);
}

bool lenient(const pipeline::FaceBox& a, const LocBox& b) {
  const float cx = a.x + a.w / 2, cy = a.y + a.h / 2;
  const float r = std::sqrt(a.w * a.h) / std::sqrt(b.w * b.h);
  return cx >= b.x && cx < b.x + b.w && cy >= b.y && cy < b.y + b.h && r >= 0.5f && r <= 2.0f;
}

struct KindStats {
  int images = 0, faces = 0, lenient = 0, iou50 = 0, false_faces = 0, images_with_face = 0;
  double recall() const { return faces ? static_cast<double>(lenient) / faces : 0; }
  double recall50() const { return faces ? static_cast<double>(iou50) / faces : 0; }
  double fp_per_image() const { return images ? static_cast<double>(false_faces) / images : 0; }
  double with_face() const { return images ? static_cast<double>(images_with_face) / images : 0; }
};

struct ValResult {
  KindStats k[4];
  double key = 0;
};

// maps: [N, mh, mw, 5] probabilities.
ValResult score_val(const torch::Tensor& maps, const std::vector<ValFrame>& frames,
                    const pipeline::DecodeParams& dp, int stride) {
  const int mh = static_cast<int>(maps.size(1)), mw = static_cast<int>(maps.size(2));
  pipeline::Decoder dec(dp, mh, mw, static_cast<float>(stride), static_cast<float>(stride), 64);
  std::vector<pipeline::FaceBox> boxes(64);
  ValResult r;
  auto m = maps.contiguous();
  for (size_t i = 0; i < frames.size(); ++i) {
    const ValFrame& f = frames[i];
    const float* map = m[static_cast<int64_t>(i)].data_ptr<float>();
    const float min_side = 24.0f * f.k;
    const float* maps_arr[1] = {map};
    const float one = 1.0f;
    const int n = dec.decode_passes(maps_arr, &one, &one, 1, min_side, boxes.data());
    KindStats& ks = r.k[f.kind];
    ks.images += 1;
    ks.images_with_face += n > 0;
    std::vector<bool> used_l(static_cast<size_t>(n), false), used_i(static_cast<size_t>(n), false);
    for (const auto& t : f.s.faces) {
      // Real scenes count faces >= 24 px (image pixels); the others every face.
      const bool counted = f.kind != 1 || t.h >= 24.0f * f.k;
      int bl = -1, bi = -1;
      float best = 0.5f;
      for (int q = 0; q < n; ++q) {
        if (bl < 0 && !used_l[static_cast<size_t>(q)] && lenient(boxes[static_cast<size_t>(q)], t)) bl = q;
        const float v = iou(boxes[static_cast<size_t>(q)], t);
        if (!used_i[static_cast<size_t>(q)] && v >= best) best = v, bi = q;
      }
      if (bl >= 0) used_l[static_cast<size_t>(bl)] = true;
      if (bi >= 0) used_i[static_cast<size_t>(bi)] = true;
      if (!counted) continue;
      ks.faces += 1;
      ks.lenient += bl >= 0;
      ks.iou50 += bi >= 0;
    }
    for (int q = 0; q < n; ++q) {
      bool overlaps = false;
      for (const auto& t : f.s.faces) overlaps = overlaps || iou(boxes[static_cast<size_t>(q)], t) >= 0.1f;
      ks.false_faces += !overlaps;
    }
  }
  // Tuning objective (fixed before looking at results): faces found by the lenient match on
  // each real-photo set, minus penalties past 0.15 false faces per real scene and past 1% of
  // face-free photos showing a face.
  r.key = r.k[0].recall() + r.k[1].recall() + r.k[2].recall() -
          2.0 * std::max(0.0, r.k[1].fp_per_image() - 0.15) - 2.0 * std::max(0.0, r.k[3].with_face() - 0.01);
  return r;
}

nlohmann::json val_json(const ValResult& r) {
  nlohmann::json j;
  for (int k = 0; k < 4; ++k)
    j[kKindNames[k]] = {{"images", r.k[k].images},       {"faces", r.k[k].faces},
                        {"found_lenient", r.k[k].recall()}, {"found_iou50", r.k[k].recall50()},
                        {"false_faces_per_image", r.k[k].fp_per_image()},
                        {"images_with_face", r.k[k].with_face()}};
  j["key"] = r.key;
  return j;
}

std::string val_line(const ValResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "mtfl %.3f/%.3f  real %.3f/%.3f fp/img %.3f  crop %.3f/%.3f  objects with face %.3f  key %.4f",
                r.k[0].recall(), r.k[0].recall50(), r.k[1].recall(), r.k[1].recall50(), r.k[1].fp_per_image(),
                r.k[2].recall(), r.k[2].recall50(), r.k[3].with_face(), r.key);
  return buf;
}

pipeline::DecodeParams base_params(const Options& o) {
  pipeline::DecodeParams p;
  p.dense = 1.0f;
  p.offset_range = o.loc_offset_range;
  p.box_min = o.loc_box_min;
  p.box_max = o.loc_box_max;
  p.nms_iou = 0.3f;
  p.threshold = 0.4f;
  p.crop_w = o.loc_crop_w;
  p.crop_h = o.loc_crop_h;
  p.crop_dy = o.loc_crop_dy;
  return p;
}

struct Tuned {
  pipeline::DecodeParams params;
  ValResult result;
};

Tuned tune_threshold(const torch::Tensor& maps, const std::vector<ValFrame>& frames, const Options& o, int stride,
                     const char* what) {
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

// Sigmoid maps [N, mh, mw, 5] of a logit function over frames (batches of 32).
template <typename F>
torch::Tensor frame_maps(const std::vector<ValFrame>& frames, F logits) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < frames.size(); i += 32) {
    std::vector<LocSample> s;
    for (size_t j = i; j < std::min(frames.size(), i + 32); ++j) s.push_back(frames[j].s);
    out.push_back(torch::sigmoid(logits(nchw_of(s))).permute({0, 2, 3, 1}).contiguous());
  }
  return torch::cat(out, 0);
}

std::string fmt(double v, const char* f = "%.4f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// What both stages start from: the options with data paths, the input, the network, its stride.
struct LocSetup {
  Options o;
  InputSpec in;
  LocNet net{nullptr};
  int stride = 0;
};

LocSetup loc_setup(const Options& o0) {
  LocSetup st;
  st.o = o0;
  resolve_paths(st.o);
  torch::manual_seed(st.o.seed);
  torch::set_num_threads(st.o.threads);
  st.in = loc_input(st.o);
  st.net = LocNet(st.o.loc_width_mult);
  st.stride = loc_stride(st.net);
  if (st.in.width % st.stride || st.in.height % st.stride)
    throw std::runtime_error("localiser input must be a multiple of " + std::to_string(st.stride));
  return st;
}

}  // namespace

void run_loc_train(const Options& o0) {
  LocSetup st = loc_setup(o0);
  const Options& o = st.o;
  const InputSpec& in = st.in;
  LocNet& net = st.net;
  const int stride = st.stride;
  if (!o.loc_init.empty()) {
    load_module(*net, o.loc_init);
    std::fprintf(stderr, "[loc-train] initialised from %s\n", o.loc_init.c_str());
  }
  const auto cost = loc_cost(net, in.width, in.height);
  std::fprintf(stderr, "[loc-train] input %dx%d, stride %d, %.1f M MACs, %.3f M params\n", in.width, in.height,
               stride, cost.macs / 1e6, cost.params / 1e6);
  const LocPools pools = load_loc_pools(o, o.loc_max_mtfl, o.loc_max_celeba);
  const std::vector<ValFrame> frames = val_frames(pools, in);

  // Batches are composed on another thread while the current one trains.
  std::future<LocBatch> next;
  uint64_t counter = 0;
  auto launch = [&](int epoch) {
    const uint64_t seed = o.seed * 1000003ull + static_cast<uint64_t>(epoch) * 7919ull + counter++;
    next = std::async(std::launch::async, [&pools, &in, &o, stride, seed] {
      return make_batch(pools, in, o, stride, seed);
    });
  };
  int launched_epoch = -1;
  StepLoss step = [&](int epoch, int, std::map<std::string, double>& stats) {
    if (launched_epoch != epoch) {  // epoch seeds make a resumed run compose the same batches
      if (next.valid()) next.wait();
      counter = 0;
      launch(epoch);
      launched_epoch = epoch;
    }
    LocBatch b = next.get();
    launch(epoch);
    return loc_loss(net->forward(b.x), b, stats);
  };
  EpochEval eval = [&]() {
    const auto maps = frame_maps(frames, [&](const torch::Tensor& x) { return net->forward(x); });
    pipeline::DecodeParams p = base_params(o);
    std::map<std::string, double> m;
    for (float thr : {0.3f, 0.5f}) {
      p.threshold = thr;
      const ValResult r = score_val(maps, frames, p, stride);
      const std::string t = thr < 0.4f ? "t30_" : "t50_";
      m[t + "mtfl"] = r.k[0].recall();
      m[t + "real"] = r.k[1].recall();
      m[t + "real_fp"] = r.k[1].fp_per_image();
      m[t + "crop"] = r.k[2].recall();
      m[t + "objects"] = r.k[3].with_face();
      m[t + "key"] = r.key;
    }
    return m;
  };
  train_loop(o, kStage, o.loc_epochs, o.loc_steps, o.loc_lr, *net, o.loc_batch, "loc", step, eval);
  if (next.valid()) next.wait();
}

void run_loc_export(const Options& o0) {
  LocSetup st = loc_setup(o0);
  const Options& o = st.o;
  const InputSpec& in = st.in;
  LocNet& net = st.net;
  const int stride = st.stride;
  const std::string ckpt = o.run_dir + "/" + kStage + "/loc.pt";
  if (!fs::exists(ckpt)) throw std::runtime_error("no localiser checkpoint " + ckpt + " (run loc-train first)");
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

  RangeObserver obs;
  obs.percentile = o.calib_percentile;
  {
    std::mt19937 rng(static_cast<uint32_t>(o.seed + 4242));
    for (int done = 0; done < o.loc_calib; done += 32) {
      std::vector<LocSample> s;
      for (int b = 0; b < std::min(32, o.loc_calib - done); ++b) s.push_back(compose_loc_train(pools, in, rng));
      std::vector<torch::Tensor> acts;
      folded_forward(folded, nchw_of(s), &acts);
      obs.observe(acts);
    }
  }
  double in_lo = 1e9, in_hi = -1e9;
  for (int c = 0; c < 3; ++c) {
    in_lo = std::min(in_lo, static_cast<double>((0 - in.mean[c]) / in.std[c]));
    in_hi = std::max(in_hi, static_cast<double>((1 - in.mean[c]) / in.std[c]));
  }
  // The output logits: beyond +-8 every channel is saturated (p < 0.0004 or > 0.9996), so the
  // int8 range stops there and spends its steps on the useful range.
  obs.lo.back() = std::max(obs.lo.back(), -8.0 * obs.batches);
  obs.hi.back() = std::min(obs.hi.back(), 8.0 * obs.batches);
  const QNet q = quantize_conv_stack(folded, in_lo, in_hi, obs, weight_qmax_for_bits(o.int8_weight_bits));
  const auto maps8 = frame_maps(frames, [&](const torch::Tensor& x) { return conv_stack_dequantized(q, x); });
  std::fprintf(stderr, "[loc-export] int8 output logit step %.4f; int8 vs fp32 maps: max |diff| %.3f, mean %.4f\n",
               q.convs.back().out.scale, (maps8 - maps32).abs().max().item<double>(),
               (maps8 - maps32).abs().mean().item<double>());
  const Tuned t8 = tune_threshold(maps8, frames, o, stride, "int8");
  std::fprintf(stderr, "[loc-export] chosen: fp32 thr %.2f: %s\n", t32.params.threshold,
               val_line(t32.result).c_str());
  std::fprintf(stderr, "[loc-export] chosen: int8 thr %.2f: %s\n", t8.params.threshold,
               val_line(t8.result).c_str());

  const auto cost = loc_cost(net, in.width, in.height);
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  ModelInfo info;
  info.kind = "lnet";
  info.input = in;
  auto meta = [&](const Tuned& t, const std::string& prec) {
    const auto& p = t.params;
    std::vector<std::pair<std::string, std::string>> m = {
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
        {"lnet.threshold", fmt(p.threshold, "%.3f")},
        {"lnet.nms_iou", fmt(p.nms_iou, "%.3f")},
        {"lnet.offset_range", fmt(p.offset_range, "%.3f")},
        {"lnet.box_min", fmt(p.box_min, "%.3f")},
        {"lnet.box_max", fmt(p.box_max, "%.3f")},
        {"lnet.crop_w", fmt(p.crop_w, "%.4f")},
        {"lnet.crop_h", fmt(p.crop_h, "%.4f")},
        {"lnet.crop_dy", fmt(p.crop_dy, "%.4f")},
        {"val_mtfl_found_lenient", fmt(t.result.k[0].recall())},
        {"val_real_found_lenient", fmt(t.result.k[1].recall())},
        {"val_real_false_faces_per_image", fmt(t.result.k[1].fp_per_image())},
        {"val_objects_with_face", fmt(t.result.k[3].with_face())},
        {"precision", prec},
        {"date", date}};
    return m;
  };
  const std::string name = o.lnet_name;
  info.name = name + "-fp32";
  info.description = "face localiser (box-supervised dense box map), fp32";
  info.metadata = meta(t32, "fp32");
  const auto bytes32 = modelfile::serialize(build_fp32_fcn_model(folded, info));
  info.name = name + "-int8";
  info.description = "face localiser (box-supervised dense box map), int8 post-training quantised";
  info.metadata = meta(t8, "int8: " + weight_bits_description(o.int8_weight_bits) + ", per-tensor activations (" +
                               std::to_string(o.loc_calib) + " calibration canvases)");
  const auto bytes8 = modelfile::serialize(build_int8_fcn_model(q, info));

  // SDK checks (raw network, every kernel family) on 32 validation frames and the golden inputs.
  const int64_t n_check = std::min<int64_t>(32, static_cast<int64_t>(frames.size()));
  std::vector<LocSample> cs;
  for (int64_t i = 0; i < n_check; ++i) cs.push_back(frames[static_cast<size_t>(i * (frames.size() / n_check))].s);
  const auto xc = nchw_of(cs);
  const auto x_nhwc = xc.permute({0, 2, 3, 1}).contiguous();
  const int G = 4;
  auto g_in = golden_inputs(G, in.height, in.width);
  const auto g_nchw = g_in.permute({0, 3, 1, 2}).contiguous();
  auto nhwc_probs = [](const torch::Tensor& logits) {
    return torch::sigmoid(logits).permute({0, 2, 3, 1}).contiguous().flatten(1);
  };
  const auto e32 = nhwc_probs(folded_forward(folded, xc)), g32 = nhwc_probs(folded_forward(folded, g_nchw));
  const auto e8 = nhwc_probs(conv_stack_dequantized(q, xc)), g8 = nhwc_probs(conv_stack_dequantized(q, g_nchw));
  const double out_step = q.convs.back().out.scale;
  const double bound8 = 0.25 * 4 * out_step;  // 4 output steps through the sigmoid (slope <= 1/4)
  nlohmann::json checks = nlohmann::json::array();
  bool ok = true;
  auto record = [&](const SdkCheck& c, const std::string& model) {
    std::fprintf(stderr, "[loc-export] SDK check %s %s: max |diff| %.2e (bound %.1e, n=%d) %s\n", model.c_str(),
                 c.what.c_str(), c.max_abs_diff, c.bound, c.n, c.ok() ? "ok" : "FAILED");
    checks.push_back(
        {{"model", model}, {"what", c.what}, {"max_abs_diff", c.max_abs_diff}, {"bound", c.bound}, {"n", c.n}});
    ok = ok && c.ok();
  };
  for (auto& c : check_network(bytes32, x_nhwc, e32, 1e-4)) record(c, "fp32");
  for (auto& c : check_network(bytes32, g_in, g32, 1e-4)) record(c, "fp32-golden");
  for (auto* pr : {&e8, &g8}) {
    for (auto& c : check_network(bytes8, pr == &e8 ? x_nhwc : g_in, *pr, 0)) {
      c.bound = c.what == "network/reference" ? 1e-4 : bound8;
      record(c, pr == &e8 ? "int8" : "int8-golden");
    }
  }
  if (!ok) throw std::runtime_error("the SDK disagrees with LibTorch on the exported localiser (see above)");

  fs::create_directories(o.out_dir);
  const std::string stem = o.out_dir + "/" + name;
  modelfile::write_file_atomic(stem + "-fp32.fam", bytes32);
  modelfile::write_file_atomic(stem + "-int8.fam", bytes8);
  const std::string layout = "NHWC, already normalised (the network input, not pixels); outputs: the [h][w][5] box map", source = "LibTorch (faceattr_train loc-export)";
  write_golden(stem + "-fp32.fam.golden.json", g32, layout, source);
  write_golden(stem + "-int8.fam.golden.json", g8, layout, source, out_step / 4);

  nlohmann::json rep;
  rep["input"] = {in.width, in.height};
  rep["stride"] = stride;
  rep["macs"] = cost.macs;
  rep["params"] = cost.params;
  rep["fold_max_diff"] = fold_diff;
  rep["fp32"] = {{"threshold", t32.params.threshold}, {"validation", val_json(t32.result)}};
  rep["int8"] = {{"threshold", t8.params.threshold}, {"validation", val_json(t8.result)}};
  rep["fp32_bytes"] = bytes32.size();
  rep["int8_bytes"] = bytes8.size();
  rep["sdk_checks"] = checks;
  rep["note"] =
      "validation: MTFL lines with index % 10 == 0, even-numbered scenes_real photos (faces >= 24 px), CelebA "
      "aligned faces of validation identities as whole frames, held-out object photos (index % 10 == 0); "
      "lenient match = predicted centre inside the true box, side within x2";
  fs::create_directories(o.run_dir + "/" + kStage);
  write_text_atomic(o.run_dir + "/" + kStage + "/export-report.json", rep.dump(2) + "\n");
  std::fprintf(stderr, "[loc-export] wrote %s-fp32.fam (%zu bytes), %s-int8.fam (%zu bytes)\n", stem.c_str(),
               bytes32.size(), stem.c_str(), bytes8.size());
}

}  // namespace faceattr::train
