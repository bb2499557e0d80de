// anet-joint: fine-tunes a shipped ANet on the crops the shipped localiser cuts
// (the paper's joint fine-tuning, train/README.md "Joint fine-tuning"). The
// localiser runs through the SDK's public C API on every training image; ANet
// reads the crop the LNet's framing (lnet.crop_*) derives from its box, with
// jitter. Sources: CelebA aligned training images (all 40 attributes), MTFL
// training photos (Male, Smiling, Eyeglasses) and, with `utkface_dir`, UTKFace
// chips of the train split (Male; Young from the age; `joint_utk_repeat` times each);
// the heads a source has no label for are masked. With a teacher (`joint_teacher`, a
// larger ANet's fp32 file of any input size, or several averaged), the student also learns the teacher's
// probabilities on each training view (soft distillation), or takes its confident answers as labels where its
// source has none (pseudo-labels); `joint_lfw` adds the unlabelled LFW faces. The result goes to
// <run>/finetune/anet.pt for `export --head finetuned`.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "data/folders.h"
#include "data/jpeg.h"
#include "data/loc_data.h"
#include "data/utkface.h"
#include "engine/dist.h"
#include "engine/evaluate.h"
#include "engine/fit.h"
#include "engine/splits.h"
#include "faceattr/faceattr.h"
#include "model/anet.h"
#include "model/model.h"
#include "pipeline/face_pipeline.h"
#include "pipeline/lnet_decode.h"
#include "quant/folded.h"
#include "stages/stages.h"
#include "util/progress.h"

namespace faceattr::train {
namespace fs = std::filesystem;
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// One training or validation face: its image, the crop ANet reads (frame pixels) and its
// labels with a mask (0 = this source has no label for that attribute).
struct JointFace {
  const RgbImage* img = nullptr;
  image::CropBox crop;
  std::vector<float> attrs, mask;
  bool localised = false;  // the crop comes from the localiser (else from the landmarks)
};

// Bilinear sample of `src` at (x, y) with coordinates clamped to [x0, x1] x [y0, y1] (the
// SDK replicates edge pixels past the frame border).
inline void sample_clamped(const RgbImage& s, float x, float y, float x0, float y0, float x1, float y1,
                           float* rgb) {
  x = std::clamp(x, x0, x1);
  y = std::clamp(y, y0, y1);
  const int ix = std::min(static_cast<int>(x), s.width - 1), iy = std::min(static_cast<int>(y), s.height - 1);
  const int jx = std::min(ix + 1, s.width - 1), jy = std::min(iy + 1, s.height - 1);
  const float fx = x - ix, fy = y - iy;
  const uint8_t* p00 = &s.pixels[(static_cast<size_t>(iy) * s.width + ix) * 3];
  const uint8_t* p01 = &s.pixels[(static_cast<size_t>(iy) * s.width + jx) * 3];
  const uint8_t* p10 = &s.pixels[(static_cast<size_t>(jy) * s.width + ix) * 3];
  const uint8_t* p11 = &s.pixels[(static_cast<size_t>(jy) * s.width + jx) * 3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = (p00[c] * (1 - fx) + p01[c] * fx) * (1 - fy) + (p10[c] * (1 - fx) + p11[c] * fx) * fy;
}

// The crop `b` of `f.img` resampled to the network input (normalised, CHW into `dst`),
// area-averaged 3x3 per output pixel. `valid` limits the image (a tighter chip of it).
void render(const RgbImage& img, const image::CropBox& b, const image::CropBox& valid, const InputSpec& in,
            bool flip, float* dst) {
  const int W = in.width, H = in.height;
  const float sx = b.w / W, sy = b.h / H;
  const float x0 = std::max(0.0f, valid.x), y0 = std::max(0.0f, valid.y);
  const float x1 = std::min(img.width - 1.0f, valid.x + valid.w - 1),
              y1 = std::min(img.height - 1.0f, valid.y + valid.h - 1);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      float acc[3] = {0, 0, 0};
      const int xx = flip ? W - 1 - x : x;
      for (int j = 0; j < 3; ++j)
        for (int i = 0; i < 3; ++i) {
          float rgb[3];
          sample_clamped(img, b.x + (xx + (i + 0.5f) / 3) * sx - 0.5f, b.y + (y + (j + 0.5f) / 3) * sy - 0.5f,
                         x0, y0, x1, y1, rgb);
          acc[0] += rgb[0], acc[1] += rgb[1], acc[2] += rgb[2];
        }
      for (int c = 0; c < 3; ++c)
        dst[(static_cast<size_t>(c) * H + y) * W + x] = (acc[c] / 9.0f / 255.0f - in.mean[c]) / in.std[c];
    }
}

float uni(std::mt19937& rng, float a, float b) { return std::uniform_real_distribution<float>(a, b)(rng); }

// Training view of a face: the localiser crop jittered in scale and position, sometimes cut
// to a tight chip around the face first (frame-filling faces), mirrored, colour-jittered.
void training_view(const JointFace& f, const InputSpec& in, std::mt19937& rng, float* dst) {
  image::CropBox b = f.crop;
  const float s = std::exp(uni(rng, -0.12f, 0.12f));
  const float cx = b.x + b.w / 2 + uni(rng, -0.05f, 0.05f) * b.w,
              cy = b.y + b.h / 2 + uni(rng, -0.05f, 0.05f) * b.h;
  b.w *= s, b.h *= s;
  b.x = cx - b.w / 2, b.y = cy - b.h / 2;
  image::CropBox valid{0, 0, static_cast<float>(f.img->width), static_cast<float>(f.img->height)};
  if (uni(rng, 0, 1) < 0.25f) {  // a tight chip: the face box side x 1.0..1.4 around the face
    const float side = f.crop.h / 1.9f * uni(rng, 1.0f, 1.4f);
    valid = {cx - side / 2, cy + 0.12f * f.crop.h / 1.9f - side / 2, side, side};
  }
  render(*f.img, b, valid, in, uni(rng, 0, 1) < 0.5f, dst);
  // Colour: brightness, contrast (per image), in normalised units.
  const float br = uni(rng, -0.15f, 0.15f) / in.std[0], ct = std::exp(uni(rng, -0.2f, 0.2f));
  for (int i = 0; i < 3 * in.width * in.height; ++i) dst[i] = dst[i] * ct + br;
}

// The localiser's ANet crop of each image (the face closest to `hint`, a canonical box in
// image pixels, when given; else the strongest face). Returns whether a face was used.
struct Localiser {
  faceattr_session* s = nullptr;
  pipeline::DecodeParams params;
  float aspect = 0.8f;
  Localiser(const std::string& anet_path, const std::string& lnet_path, int threads) {
    const auto a = read_bytes(anet_path), l = read_bytes(lnet_path);
    faceattr_session_params p = faceattr_session_default_params();
    p.n_threads = threads;
    p.min_face_size = 8;
    if (faceattr_session_create(a.data(), a.size(), l.data(), l.size(), &p, &s) != FACEATTR_OK)
      throw std::runtime_error("localiser session: " + std::string(faceattr_last_error()));
    model::Model m;
    if (!model::load_model(l.data(), l.size(), &m).is_ok() ||
        !pipeline::decode_params_from_model(m, &params).is_ok())
      throw std::runtime_error("cannot read the LNet's framing from " + lnet_path);
    model::Model am;
    if (!model::load_model(a.data(), a.size(), &am).is_ok())
      throw std::runtime_error("cannot read " + anet_path);
    aspect = static_cast<float>(am.input_width) / static_cast<float>(am.input_height);
  }
  ~Localiser() { faceattr_session_free(s); }
  bool crop(const RgbImage& img, const FaceSquare* hint, image::CropBox* out) {
    const faceattr_image fi{img.pixels.data(), img.width, img.height, img.width * 3, FACEATTR_PIXEL_RGB};
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    if (faceattr_session_predict(s, &fi, &faces, &n) != FACEATTR_OK || n == 0) return false;
    int best = 0;
    if (hint) {
      float best_d = 1e30f;
      for (int k = 0; k < n; ++k) {
        const float dx = faces[k].box[0] + faces[k].box[2] / 2 - hint->cx;
        const float dy = faces[k].box[1] + faces[k].box[3] / 2 - hint->cy;
        const float d = dx * dx + dy * dy;
        if (d < best_d) best_d = d, best = k;
      }
      const float side = std::sqrt(faces[best].box[2] * faces[best].box[3]);
      if (std::sqrt(best_d) > 0.5f * hint->side || side < 0.5f * hint->side || side > 2.0f * hint->side)
        return false;
    }
    const image::CropBox face{faces[best].box[0], faces[best].box[1], faces[best].box[2], faces[best].box[3]};
    *out = pipeline::anet_crop_of(face, params, aspect);
    return true;
  }
  image::CropBox crop_of_box(const FaceSquare& b) const {
    return pipeline::anet_crop_of({b.cx - b.side / 2, b.cy - b.side / 2, b.side, b.side}, params, aspect);
  }
};

}  // namespace

void run_anet_joint(const Options& o0) {
  Options o = o0;
  resolve_paths(o);
  torch::manual_seed(o.seed);
  torch::set_num_threads(o.threads);
  const std::string anet_path = o.from_model.empty() ? "models/anet-fp32.fam" : o.from_model;
  const InputSpec in = o.input;

  // ANet from the fp32 file: BN folded into the convs, so each BN is the identity plus the
  // folded bias (mean 0, var 1 - eps) and stays in eval mode while fine-tuning.
  std::string head;
  const FoldedNet folded = folded_from_model_file(anet_path, &head);
  const int n_attr = static_cast<int>(folded.fc_weight.size(0));
  ANet net(n_attr, o.width_mult, o.dropout);
  {
    torch::NoGradGuard ng;
    if (net->layers.size() != folded.convs.size())
      throw std::runtime_error(anet_path + ": not the config's ANet");
    for (size_t i = 0; i < folded.convs.size(); ++i) {
      auto& l = net->layers[i];
      l->conv->weight.copy_(folded.convs[i].weight);
      l->bn->weight.fill_(1.0);
      l->bn->bias.copy_(folded.convs[i].bias);
      l->bn->running_mean.zero_();
      l->bn->running_var.fill_(1.0 - l->bn->options.eps());
    }
    net->head->weight.copy_(folded.fc_weight);
    net->head->bias.copy_(folded.fc_bias);
    net->eval();
    auto x = torch::randn({4, 3, in.height, in.width});
    const double d = (net->forward(x) - folded.logits(x)).abs().max().item<double>();
    std::fprintf(stderr, "[anet-joint] %s loaded: max |logit diff| vs the folded file %.2e\n",
                 anet_path.c_str(), d);
    if (d > 1e-3) throw std::runtime_error("ANet rebuilt from " + anet_path + " differs from the file");
  }

  // The teacher: fixed fp32 ANet files of any width and input size (the student's aspect);
  // several (comma-separated, one input spec) form an ensemble whose probability is the mean
  // of theirs. A teacher with another input size reads the same view rendered at its size.
  std::vector<FoldedNet> teachers;
  InputSpec tin = in;
  if (!o.joint_teacher.empty()) {
    if (!(o.joint_pseudo == 0 || (o.joint_pseudo > 0.5 && o.joint_pseudo < 1)))
      throw std::runtime_error("--joint-pseudo must be 0 (soft distillation) or in (0.5, 1)");
    if (!(o.joint_distill >= 0)) throw std::runtime_error("--joint-distill must be >= 0");
    const auto sb = read_bytes(anet_path);
    model::Model sm;
    if (!model::load_model(sb.data(), sb.size(), &sm).is_ok())
      throw std::runtime_error("cannot read " + anet_path);
    std::stringstream list(o.joint_teacher);
    for (std::string path; std::getline(list, path, ',');) {
      std::string th;
      teachers.push_back(folded_from_model_file(path, &th));
      if (teachers.back().fc_weight.size(0) != n_attr)
        throw std::runtime_error(path + ": the teacher has " +
                                 std::to_string(teachers.back().fc_weight.size(0)) +
                                 " outputs, the student " + std::to_string(n_attr));
      const auto tb = read_bytes(path);
      model::Model tm;
      if (!model::load_model(tb.data(), tb.size(), &tm).is_ok())
        throw std::runtime_error("cannot read " + path);
      InputSpec t;
      t.width = tm.input_width, t.height = tm.input_height;
      for (int c = 0; c < 3; ++c) t.mean[c] = tm.mean[c], t.std[c] = tm.std[c];
      if (teachers.size() == 1) {
        tin = t;
      } else if (t.width != tin.width || t.height != tin.height) {
        throw std::runtime_error(path + ": the teachers' input sizes differ");
      }
      if (std::abs(t.aspect() / static_cast<float>(sm.input_width) * static_cast<float>(sm.input_height) -
                   1.0f) > 0.01f)
        throw std::runtime_error(path + ": the teacher's input aspect differs from the student's");
    }
  } else if (o.joint_pseudo != 0 || !o.joint_lfw.empty()) {
    throw std::runtime_error("--joint-pseudo and --joint-lfw need --joint-teacher");
  }
  // The teacher's probabilities for a batch (no gradient).
  auto teacher_probs = [&](const torch::Tensor& x) {
    torch::NoGradGuard ng;
    torch::Tensor q = torch::sigmoid(teachers[0].logits(x));
    for (size_t k = 1; k < teachers.size(); ++k) q = q + torch::sigmoid(teachers[k].logits(x));
    return q / static_cast<double>(teachers.size());
  };

  Localiser loc(anet_path, o.joint_lnet, o.threads);
  AttributeSplits splits = make_attribute_splits(o);
  const auto names = splits.attribute_names;
  auto index_of = [&](const char* n) {
    for (size_t a = 0; a < names.size(); ++a)
      if (names[a] == n) return static_cast<int>(a);
    throw std::runtime_error(std::string("attribute ") + n + " missing");
  };
  const int i_male = index_of("Male"), i_smile = index_of("Smiling"), i_glasses = index_of("Eyeglasses"),
            i_young = index_of("Young");

  // Images and their localiser crops.
  std::vector<RgbImage> celeba_imgs;
  std::vector<JointFace> train, val_celeba, val_mtfl, val_utk;
  int fallback = 0, total = 0;
  auto add_celeba = [&](const Dataset& ds, std::vector<JointFace>& dst, size_t cap, size_t first) {
    Progress bar("[anet-joint] localising CelebA", std::min(cap, ds.samples.size()));
    for (size_t i = 0; i < ds.samples.size() && i < cap; ++i) {
      celeba_imgs[first + i] = decode_jpeg_file(ds.samples[i].path);
      const RgbImage& img = celeba_imgs[first + i];
      JointFace f;
      f.img = &img;
      f.attrs = ds.samples[i].attrs;
      f.mask.assign(f.attrs.size(), 1.0f);
      // The aligned crop's mean landmarks fix the canonical box (loc_data.cpp).
      const float lx[5] = {34.5f, 54.0f, 44.5f, 36.0f, 53.0f}, ly[5] = {55.5f, 55.5f, 67.5f, 76.0f, 76.0f};
      float sx[5], sy[5];
      for (int k = 0; k < 5; ++k) sx[k] = lx[k] * img.width / 89.0f, sy[k] = ly[k] * img.height / 109.0f;
      const FaceSquare hint = canonical_face_box(sx, sy);
      f.localised = loc.crop(img, &hint, &f.crop);
      if (!f.localised) f.crop = loc.crop_of_box(hint), ++fallback;
      ++total;
      dst.push_back(f);
      if (i % 256 == 0) bar.update(i);
    }
    bar.finish();
  };
  const size_t n_val_celeba = std::min<size_t>(1024, splits.val.samples.size());
  celeba_imgs.resize(splits.train.samples.size() + n_val_celeba);
  add_celeba(splits.train, train, splits.train.samples.size(), 0);
  add_celeba(splits.val, val_celeba, n_val_celeba, splits.train.samples.size());

  const std::string mtfl_file = o.data_root + "/mtfl/training.txt";
  const std::vector<LocImage> mtfl_train = read_mtfl(mtfl_file, 0, 0, o.threads);
  const std::vector<LocImage> mtfl_val = read_mtfl(mtfl_file, 0, 1, o.threads);
  auto add_mtfl = [&](const std::vector<LocImage>& src, std::vector<JointFace>& dst) {
    Progress bar("[anet-joint] localising MTFL", src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      JointFace f;
      f.img = &src[i].img;
      f.attrs.assign(static_cast<size_t>(n_attr), 0.0f);
      f.mask.assign(static_cast<size_t>(n_attr), 0.0f);
      f.attrs[static_cast<size_t>(i_male)] = static_cast<float>(src[i].male);
      f.attrs[static_cast<size_t>(i_smile)] = static_cast<float>(src[i].smiling);
      f.attrs[static_cast<size_t>(i_glasses)] = static_cast<float>(src[i].glasses);
      for (int a : {i_male, i_smile, i_glasses}) f.mask[static_cast<size_t>(a)] = 1.0f;
      f.localised = loc.crop(src[i].img, &src[i].faces[0].box, &f.crop);
      if (!f.localised) f.crop = loc.crop_of_box(src[i].faces[0].box), ++fallback;
      ++total;
      dst.push_back(f);
      if (i % 256 == 0) bar.update(i);
    }
    bar.finish();
  };
  add_mtfl(mtfl_train, train);
  add_mtfl(mtfl_val, val_mtfl);

  // UTKFace chips: Male for every age (0.5 under joint_child_age); Young = age < 30, not young
  // from 40, masked between (utk_labels).
  std::vector<RgbImage> utk_imgs;
  size_t n_utk_train = 0;
  if (!o.utkface_dir.empty()) {
    const std::vector<UtkChip> chips = list_utk_chips(o.utkface_dir);
    utk_imgs.resize(chips.size());
    Progress bar("[anet-joint] localising UTKFace", chips.size());
    for (size_t i = 0; i < chips.size(); ++i) {
      utk_imgs[i] = decode_jpeg_file(chips[i].path);
      const RgbImage& img = utk_imgs[i];
      JointFace f;
      f.img = &img;
      f.attrs.assign(static_cast<size_t>(n_attr), 0.0f);
      f.mask.assign(static_cast<size_t>(n_attr), 0.0f);
      // Validation keeps every chip's own sex: it measures accuracy, children included.
      const UtkLabels l = utk_labels(chips[i], chips[i].dev ? 0 : o.joint_child_age);
      f.attrs[static_cast<size_t>(i_male)] = l.male;
      f.mask[static_cast<size_t>(i_male)] = 1.0f;
      if (l.young_known) {
        f.attrs[static_cast<size_t>(i_young)] = l.young;
        f.mask[static_cast<size_t>(i_young)] = 1.0f;
      }
      // The chips are aligned: the face fills about 60% of the chip around its centre.
      const FaceSquare hint{img.width * 0.5f, img.height * 0.5f, img.width * 0.6f};
      f.localised = loc.crop(img, &hint, &f.crop);
      if (!f.localised) f.crop = loc.crop_of_box(hint), ++fallback;
      ++total;
      if (chips[i].dev) {
        val_utk.push_back(f);
      } else {
        for (int r = 0; r < std::max(1, o.joint_utk_repeat); ++r) train.push_back(f);
        ++n_utk_train;
      }
      if (i % 256 == 0) bar.update(i);
    }
    bar.finish();
  }
  // LFW faces (112x112 deep-funneled, the face about 45% of the width around (0.5, 0.47)):
  // no labels, only the teacher's answers.
  std::vector<RgbImage> lfw_imgs;
  size_t n_lfw = 0;
  if (!o.joint_lfw.empty()) {
    const LfwSet lfw = load_lfw(o.joint_lfw, 1);
    if (lfw.images.empty()) throw std::runtime_error("no LFW images in " + o.joint_lfw);
    lfw_imgs.resize(lfw.images.size());
    Progress bar("[anet-joint] localising LFW", lfw.images.size());
    for (size_t i = 0; i < lfw.images.size(); ++i) {
      lfw_imgs[i] = decode_jpeg_file(lfw.images[i].path);
      const RgbImage& img = lfw_imgs[i];
      JointFace f;
      f.img = &img;
      f.attrs.assign(static_cast<size_t>(n_attr), 0.0f);
      f.mask.assign(static_cast<size_t>(n_attr), 0.0f);
      const FaceSquare hint{img.width * 0.5f, img.height * 0.47f, img.width * 0.45f};
      f.localised = loc.crop(img, &hint, &f.crop);
      if (!f.localised) f.crop = loc.crop_of_box(hint), ++fallback;
      ++total;
      train.push_back(f);
      ++n_lfw;
      if (i % 256 == 0) bar.update(i);
    }
    bar.finish();
  }
  // The chips come in name order, i.e. by age: shuffle them so that the 2-fold threshold
  // calibration of the validation figures fits and scores halves of the same ages.
  std::shuffle(val_utk.begin(), val_utk.end(), std::mt19937(static_cast<uint32_t>(o.seed + 5)));
  std::fprintf(
      stderr,
      "[anet-joint] %zu training faces (%zu CelebA, %zu MTFL, %zu UTKFace, %zu LFW), validation %zu CelebA + "
      "%zu MTFL + %zu UTKFace; %d of %d crops from landmarks or the chip centre (no localiser face "
      "there)\n",
      train.size(), splits.train.samples.size(), mtfl_train.size(), n_utk_train, n_lfw, val_celeba.size(),
      val_mtfl.size(), val_utk.size(), fallback, total);

  // Positive weights (sqrt of neg/pos over the labelled faces), as the fine-tuning stage.
  std::vector<float> pos_w(static_cast<size_t>(n_attr), 1.0f);
  for (int a = 0; a < n_attr; ++a) {
    double pos = 0, n = 0;
    for (const auto& f : train)
      if (f.mask[static_cast<size_t>(a)] > 0) pos += f.attrs[static_cast<size_t>(a)], n += 1;
    pos_w[static_cast<size_t>(a)] =
        static_cast<float>(std::clamp(std::sqrt((n - pos + 1) / (pos + 1)), 0.05, 20.0));
  }
  const auto pos_t = torch::tensor(pos_w);

  // A batch of views; with `xt`, the same views at the teacher's input size too (the same
  // random draws, so the same crop, mirror and colour).
  const bool teacher_size = tin.width != in.width || tin.height != in.height;
  auto batch_of = [&](const std::vector<JointFace>& set, size_t first, size_t count, std::mt19937* rng,
                      torch::Tensor* xt = nullptr) {
    auto x = torch::empty({static_cast<int64_t>(count), 3, in.height, in.width});
    if (xt && teacher_size) *xt = torch::empty({static_cast<int64_t>(count), 3, tin.height, tin.width});
    auto y = torch::empty({static_cast<int64_t>(count), n_attr}),
         m = torch::empty({static_cast<int64_t>(count), n_attr});
    for (size_t k = 0; k < count; ++k) {
      const JointFace& f = set[(first + k) % set.size()];
      float* dst = x[static_cast<int64_t>(k)].data_ptr<float>();
      float* dst_t = xt && teacher_size ? (*xt)[static_cast<int64_t>(k)].data_ptr<float>() : nullptr;
      if (rng) {
        std::mt19937 same = *rng;
        training_view(f, in, *rng, dst);
        if (dst_t) training_view(f, tin, same, dst_t);
      } else {
        const image::CropBox all{0, 0, static_cast<float>(f.img->width), static_cast<float>(f.img->height)};
        render(*f.img, f.crop, all, in, false, dst);
        if (dst_t) render(*f.img, f.crop, all, tin, false, dst_t);
      }
      std::memcpy(y[static_cast<int64_t>(k)].data_ptr<float>(), f.attrs.data(), sizeof(float) * n_attr);
      std::memcpy(m[static_cast<int64_t>(k)].data_ptr<float>(), f.mask.data(), sizeof(float) * n_attr);
    }
    if (xt && !teacher_size) *xt = x;
    return std::make_tuple(x, y, m);
  };
  // Validation: CelebA (40 attributes, 2-fold calibrated thresholds) and MTFL's three.
  auto evaluate_with = [&](const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                           bool teacher_view) {
    torch::NoGradGuard ng;
    std::map<std::string, double> r;
    for (auto* set : {&val_celeba, &val_mtfl, &val_utk}) {
      if (set->empty()) continue;
      std::vector<torch::Tensor> ps, ts, ms;
      for (size_t i = 0; i < set->size(); i += 128) {
        torch::Tensor xt;
        auto [x, y, m] =
            batch_of(*set, i, std::min<size_t>(128, set->size() - i), nullptr, teacher_view ? &xt : nullptr);
        ps.push_back(torch::sigmoid(logits_of(teacher_view ? xt : x)));
        ts.push_back(y);
        ms.push_back(m);
      }
      auto p = torch::cat(ps), t = torch::cat(ts), mk = torch::cat(ms);
      if (set == &val_celeba) {
        r["val_celeba_acc"] = mean_of(cross_calibrated_accuracy(p, t));
        r["val_celeba_balanced_acc"] = mean_of(cross_balanced_accuracy(p, t));
      } else if (set == &val_utk) {
        for (auto [a, n] : {std::pair{i_male, "male"}, std::pair{i_young, "young"}}) {
          auto keep = mk.select(1, a) > 0;
          auto pa = p.select(1, a).index({keep}).unsqueeze(1), ta = t.select(1, a).index({keep}).unsqueeze(1);
          r[std::string("val_utk_") + n] = mean_of(cross_calibrated_accuracy(pa, ta));
        }
      } else {
        for (auto [a, n] :
             {std::pair{i_male, "male"}, std::pair{i_smile, "smiling"}, std::pair{i_glasses, "glasses"}}) {
          auto pa = p.select(1, a).unsqueeze(1), ta = t.select(1, a).unsqueeze(1);
          r[std::string("val_mtfl_") + n] = mean_of(cross_calibrated_accuracy(pa, ta));
        }
      }
    }
    return r;
  };
  auto evaluate_sets = [&]() {
    net->eval();
    return evaluate_with([&](const torch::Tensor& x) { return net->forward(x); }, false);
  };
  if (dist::is_root()) {
    auto report = [&](const char* who, std::map<std::string, double> r0) {
      std::fprintf(stderr,
                   "[anet-joint] %s: CelebA val %.4f, MTFL val Male %.4f Smiling %.4f Eyeglasses %.4f, "
                   "UTKFace val Male %.4f Young %.4f\n",
                   who, r0["val_celeba_acc"], r0["val_mtfl_male"], r0["val_mtfl_smiling"],
                   r0["val_mtfl_glasses"], r0["val_utk_male"], r0["val_utk_young"]);
    };
    report("before", evaluate_sets());
    if (!teachers.empty())
      report(
          "teacher",
          evaluate_with([&](const torch::Tensor& x) { return torch::logit(teacher_probs(x), 1e-7); }, true));
  }

  std::mt19937 shuffle_rng(static_cast<uint32_t>(o.seed + 77));
  std::vector<size_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<JointFace> shuffled;
  const int batch = o.batch_size;
  const int steps = static_cast<int>(train.size() / static_cast<size_t>(batch));
  const int share = dist::local_batch(batch, "--batch");  // this rank's part of each batch
  int shuffled_epoch = 0;
  GenerateFn step = [&](int epoch, int s, std::map<std::string, double>& stats) {
    if (shuffled_epoch != epoch) {
      std::mt19937 er(static_cast<uint32_t>(o.seed * 31 + static_cast<uint64_t>(epoch)));
      std::shuffle(order.begin(), order.end(), er);
      shuffled.clear();
      for (size_t i : order) shuffled.push_back(train[i]);
      shuffled_epoch = epoch;
    }
    net->train();
    for (auto& l : net->layers) l->bn->eval();  // folded statistics stay fixed
    std::mt19937 rng(static_cast<uint32_t>(
        dist::rank_seed(o.seed * 7919 + static_cast<uint64_t>(epoch) * 100003 + static_cast<uint64_t>(s))));
    torch::Tensor xt;
    auto [x, y, m] = batch_of(shuffled,
                              static_cast<size_t>(s) * static_cast<size_t>(batch) +
                                  static_cast<size_t>(dist::rank()) * static_cast<size_t>(share),
                              static_cast<size_t>(share), &rng, teachers.empty() ? nullptr : &xt);
    const auto logits = net->forward(x);
    if (teachers.empty()) {
      auto l = torch::binary_cross_entropy_with_logits(logits, y, {}, pos_t, torch::Reduction::None);
      return (l * m).sum() / m.sum().clamp_min(1.0);
    }
    const torch::Tensor q = teacher_probs(xt);
    if (o.joint_pseudo > 0) {
      const auto add = ((q >= o.joint_pseudo) | (q <= 1.0 - o.joint_pseudo)) & (m == 0);
      y = torch::where(add, (q >= 0.5).to(torch::kFloat32), y);
      m = torch::where(add, torch::ones_like(m), m);
      stats["pseudo_labelled"] += add.to(torch::kFloat32).mean().item<double>();
    }
    auto l = torch::binary_cross_entropy_with_logits(logits, y, {}, pos_t, torch::Reduction::None);
    auto loss = (l * m).sum() / m.sum().clamp_min(1.0);
    if (o.joint_pseudo == 0) {
      const auto soft = torch::binary_cross_entropy_with_logits(logits, q);
      stats["distill_loss"] += soft.item<double>();
      loss = loss + o.joint_distill * soft;
    }
    return loss;
  };
  GeneratedBatches batches(steps, share, step);
  fit(o, generated_fit_config(o, "joint", o.joint_epochs, o.joint_lr, "anet", net.ptr()), batches,
      torch::kCPU, evaluate_sets);
  if (!dist::is_root()) return;
  fs::create_directories(o.run_dir + "/finetune");
  save_module_atomic(*net, o.run_dir + "/finetune/anet.pt");
  std::fprintf(stderr, "[anet-joint] wrote %s/finetune/anet.pt (export with --head finetuned)\n",
               o.run_dir.c_str());
}

}  // namespace faceattr::train
