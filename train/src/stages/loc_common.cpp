#include "stages/loc_common.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace faceattr::train::loc {
namespace {

InputSpec loc_input(const Options& o) {
  InputSpec in = o.input;
  in.width = o.loc_input_width;
  in.height = o.loc_input_height;
  return in;
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

}  // namespace

torch::Tensor nchw_of(const std::vector<LocSample>& s) {
  const int64_t N = static_cast<int64_t>(s.size()), H = s[0].height, W = s[0].width;
  auto x = torch::empty({N, H, W, 3});
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(x[i].data_ptr<float>(), s[static_cast<size_t>(i)].pixels.data(), sizeof(float) * H * W * 3);
  return x.permute({0, 3, 1, 2}).contiguous();
}

std::vector<ValFrame> val_frames(const LocPools& p, const InputSpec& in) {
  std::vector<ValFrame> v;
  auto add = [&](const LocImage& im, int kind) {
    ValFrame f;
    f.s = letterbox_frame(im, in);
    f.k =
        std::min(static_cast<float>(in.width) / im.img.width, static_cast<float>(in.height) / im.img.height);
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

std::string val_line(const ValResult& r) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
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

}  // namespace faceattr::train::loc
