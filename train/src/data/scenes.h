// Composed "in the wild" scenes for LNet (train/README.md, "LNet"): training
// faces pasted at random scale and position on object photos, with image-level
// tags (union of the faces' 40 attributes + "face present") as the only
// training signal; the pasted rectangles are kept for evaluation (and for the
// --box-supervision comparison).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/jpeg.h"
#include "engine/options.h"

namespace faceattr::train {

struct FaceSource {
  RgbImage img;
  std::vector<float> attrs;  // 40 x 0/1; empty for LFW (face tag only)
  // The face's "test-crop" square in source pixels: a square whose central
  // width-0.8 box is ANet's un-augmented framing (the SDK's centre crop of a
  // face crop), i.e. how a ~square unaligned face crop frames the face.
  float cx = 0, cy = 0, side = 0;
};

struct ScenePools {
  std::vector<std::string> attribute_names;  // 40 CelebA names; tag 40 = "face"
  std::vector<FaceSource> train_faces;       // CelebA training split (+ LFW)
  std::vector<FaceSource> val_faces;         // CelebA validation identities (id % mod == 0)
  std::vector<RgbImage> train_objects;       // backgrounds/distractors (objects with index % 10 != 0)
  std::vector<RgbImage> val_objects;         // held-out backgrounds (index % 10 == 0)
  std::vector<RgbImage> all_objects;         // object pre-training (self-supervised)
};

// Decodes everything into memory. max_celeba/max_lfw cap the pools (0 = all).
ScenePools load_scene_pools(const Options& o, int max_celeba, int max_lfw);

struct FaceRect {
  float x = 0, y = 0, w = 0, h = 0;  // network-input pixels
};

struct Scene {
  int width = 0, height = 0;    // network input size
  std::vector<float> pixels;    // HWC RGB, already normalised (letterbox = 0)
  std::vector<FaceRect> faces;  // pasted face rectangles (evaluation / --box-supervision only)
  std::vector<float> tags;      // n_attributes + 1 (last = face present)
};

// Training scene: 0-3 faces, feathered or (sometimes) hard-edged, plus object
// patches pasted the same way as distractors, 4:3 or letterboxed 16:9.
// large_prob: share of scenes holding instead one large face, its height drawn
// 0.45..large_max of the frame height, placed so that up to a quarter of it
// may be cut by the border (webcam framing; 0 = the old 14-84 px range only).
// face_min / face_max: width range of the ordinary faces (log-uniform, input pixels).
Scene compose_train_scene(const ScenePools& p, const InputSpec& in, std::mt19937& rng,
                          float large_prob = 0.0f, float large_max = 1.1f, float face_min = 14.0f,
                          float face_max = 84.0f);

// Hide-and-Seek (Singh & Lee, ICCV 2017) on a composed scene: a grid of square
// patches, side drawn from patch_sizes (one per scene; 0 or negative = nothing
// hidden in this scene), grid offset random; each patch is set with probability
// prob to 0 (the normalised mean, as the letterbox). Tags and rectangles stay as
// they are. Draws nothing from rng when prob <= 0 or patch_sizes is empty.
// Returns the number of pixels hidden.
int hide_patches(Scene& s, float prob, const std::vector<int>& patch_sizes, std::mt19937& rng);

// Validation scene `index` (deterministic): the evaluation protocol at the
// network's scale: held-out faces framed as square test-crop-like images,
// pasted whole and hard-edged at 24-70 px wide (48-140 px on 320x240) on a
// held-out object photo; 10% face-free, 10% two faces (never overlapping).
// face_free: no face whatever the index (extra negatives for the false-face rate).
Scene compose_val_scene(const ScenePools& p, const InputSpec& in, uint64_t seed, int index,
                        bool face_free = false);

// Large-face validation scene `index` (deterministic): one held-out face (the
// same validation identities), its test-crop square 0.45..large_max of the
// frame height, hard-edged on a held-out object photo, up to a fifth of it cut
// by the border. The recorded rectangle is the pasted square clipped to the frame.
Scene compose_large_val_scene(const ScenePools& p, const InputSpec& in, uint64_t seed, int index,
                              float large_max);

// Photometric jitter of RGB floats in [0, 255] (HWC): brightness +-brightness x 255, contrast
// x (1 +- contrast), saturation x (1 +- saturation) around the mean, grey with probability 0.05.
void colour_jitter(std::vector<float>& px, std::mt19937& rng, float brightness, float contrast,
                   float saturation);

// Square crop of `side` centred at (cx, cy) of `src` (mirrored past the border),
// resampled to w x h (bilinear; area-averaged via supersampling when shrinking).
void sample_square(const RgbImage& src, float cx, float cy, float sw, float sh, int w, int h,
                   std::vector<float>& out);

}  // namespace faceattr::train
