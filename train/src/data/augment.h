// Sample -> network input, with the training augmentation. The pixels come
// from faceattr::image::crop_resize_normalize, the SDK's own preprocessing, so
// an un-augmented sample is exactly what the SDK feeds the network.
#pragma once

#include <cstdint>
#include <random>

#include "data/dataset.h"

namespace faceattr::train {

struct InputSpec {
  int width = 64, height = 80;
  float mean[3] = {0.5f, 0.5f, 0.5f};
  float std[3] = {0.25f, 0.25f, 0.25f};
  float aspect() const { return static_cast<float>(width) / static_cast<float>(height); }
};

// Covers the framing gap between 89x109 aligned training crops and unaligned
// face crops at inference (looser/tighter boxes, off-centre, other aspect).
struct AugmentSpec {
  bool enabled = false;
  float scale_min = 0.70f, scale_max = 1.10f;  // box width relative to the base box
  float aspect_jitter = 0.10f;                 // log-uniform +-
  float shift = 0.08f;                         // centre shift, fraction of box size
  bool flip = true;
  float brightness = 0.20f, contrast = 0.25f, saturation = 0.30f, hue_gain = 0.06f;
  float gray_prob = 0.05f;
  float blur_prob = 0.15f;
  float eval_scale = 1.0f;  // box scale used when !enabled (1 = the SDK's framing)
};

// Writes height*width*3 floats (NHWC, normalised) to `dst`. `rng` drives all
// random choices. Throws std::runtime_error if preprocessing fails.
void make_input(const RgbImage& img, const FaceFrame& frame, const InputSpec& in, const AugmentSpec& aug,
                std::mt19937& rng, float* dst);

}  // namespace faceattr::train
