// Pixel buffer -> network input. Shared by the SDK pipeline and the trainer
// (which links the SDK so that training and inference see identical pixels).
#pragma once

#include <cstdint>

#include "faceattr/faceattr.h"
#include "util/status.h"

namespace faceattr::image {

// A box in source-image pixels; may extend past the image (outside pixels
// replicate the nearest edge pixel).
struct CropBox {
  float x = 0, y = 0, w = 0, h = 0;
};

int channels_of(faceattr_pixel_format f);  // 3 or 4; 0 for an unknown format

// Checks pointer, sizes, stride and format; refuses width*height > max_pixels
// before anything is allocated.
Status validate_image(const faceattr_image& img, int64_t max_pixels);

// Largest box of aspect `aspect` (= width / height) centred in a w x h image.
CropBox centre_crop_box(int w, int h, float aspect);

// Resamples `box` of `src` to out_w x out_h RGB and normalises:
// dst[(y * out_w + x) * 3 + c] = (p / 255 - mean[c]) / std[c], NHWC, RGB order
// whatever src's format. When shrinking, each output pixel averages the source
// area it covers (anti-aliased); when enlarging, bilinear. No allocation.
Status crop_resize_normalize(const faceattr_image& src, const CropBox& box, int out_w, int out_h,
                             const float mean[3], const float std[3], float* dst);

}  // namespace faceattr::image
