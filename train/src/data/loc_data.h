// Training and validation data of the box-supervised localiser (train/README.md,
// "Localiser"): real photos with face boxes (MTFL, boxes from 5 landmarks; the
// odd-numbered half of scenes_real), CelebA aligned faces (their alignment fixes
// the box) pasted at every scale on object photos, and face-free object photos.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/jpeg.h"
#include "engine/options.h"

namespace faceattr::train {

// The canonical face box of 5 landmarks (left eye, right eye, nose, left and
// right mouth corner): E = eye midpoint, M = mouth midpoint, s = max(|M - E|,
// |right eye - left eye|); a square of side 2.8 s centred at E + 0.3 (M - E).
struct FaceSquare {
  float cx = 0, cy = 0, side = 0;
};
FaceSquare canonical_face_box(const float lx[5], const float ly[5]);

struct LocFace {
  FaceSquare box;  // source pixels
  bool has_landmarks = false;
  float lx[5] = {}, ly[5] = {};
};

struct LocImage {
  RgbImage img;
  std::vector<LocFace> faces;
  std::string name;
  // Labels of MTFL photos (-1 unknown): male, smiling, glasses (0/1).
  int male = -1, smiling = -1, glasses = -1;
};

struct LocPools {
  std::vector<LocImage> mtfl_train, mtfl_val;        // MTFL lines, index % 10 != 0 / == 0
  std::vector<LocImage> real_train, real_val;        // scenes_real, odd / even scene number
  std::vector<LocImage> celeba;                      // aligned 89x109 faces (train split)
  std::vector<LocImage> celeba_val;                  // aligned faces of validation identities (id % 10 == 0)
  std::vector<RgbImage> objects_train, objects_val;  // index % 10 != 0 / == 0
};

// MTFL's training.txt (paths relative to its folder), decoded on `threads` threads:
// split 0 = lines with index % 10 != 0 (training), 1 = index % 10 == 0 (held out), 2 = all.
// max_lines > 0 keeps the first max_lines of the split.
std::vector<LocImage> read_mtfl(const std::string& file, int max_lines, int split, int threads);

// Loads everything into memory (JPEG decoding on `threads` threads). Caps of 0 = all.
LocPools load_loc_pools(const Options& o, int max_mtfl, int max_celeba);

struct LocBox {
  float x = 0, y = 0, w = 0, h = 0;  // canvas pixels
};

struct LocSample {
  int width = 0, height = 0;
  std::vector<float> pixels;  // HWC, normalised with the input spec; letterbox = 0
  std::vector<LocBox> faces;  // canonical face boxes (square)
};

// A random training canvas of in.width x in.height: an MTFL photo, a real scene, CelebA
// faces pasted on an object photo, a frame-filling face, or objects only.
LocSample compose_loc_train(const LocPools& p, const InputSpec& in, std::mt19937& rng);

// A frame as the SDK sees it: `img` letterboxed at the top-left of in.width x
// in.height (scale min(W / w, H / h), area-averaged), rest 0; boxes scaled alike.
LocSample letterbox_frame(const LocImage& img, const InputSpec& in);
LocSample letterbox_frame(const RgbImage& img, const InputSpec& in);

// CenterNet-style targets on the map (stride `stride`): heat [mh, mw] (1 at each face's
// centre cell, a Gaussian around it), regression targets [4, mh, mw] in [0, 1] and their
// weights [mh, mw] (centre cell and its neighbours), ignore mask for negatives [mh, mw].
struct LocTargets {
  std::vector<float> heat, reg, reg_w, neg_w;
};
LocTargets loc_targets(const LocSample& s, int mh, int mw, int stride, float offset_range, float box_min,
                       float box_max);

}  // namespace faceattr::train
