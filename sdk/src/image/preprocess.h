// Pixel buffer -> network input. Shared by the SDK pipeline and the trainer
// (which links the SDK so that training and inference see identical pixels).
#pragma once

#include <cstdint>

#include "faceattr/faceattr.h"
#include "util/status.h"

namespace faceattr {
class ThreadPool;
}

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

// Intersection over union of two boxes (0 when both are empty).
float box_iou(const CropBox& a, const CropBox& b);

// Which implementation resamples. Simd (Highway, resample_simd.cpp) when the SDK is
// built with it (FACEATTR_WITH_SIMD), else, and for a single output pixel wider than
// its 1024-pixel scratch row, the scalar Reference (one output pixel at a time). Same
// taps and float weights; only the order of the float sums differs (separable:
// vertical taps first, then horizontal), so the two agree to float rounding
// (tests/unit/test_preprocess_simd.cpp). Simd gives the same bits on every x86 and ARM
// target and in wasm. Sessions use Simd whatever their kernel backend, so backends differ
// only in their network kernels (int8 outputs of the WebGPU and wasm backends are
// compared with the reference backend's exactly, where one input rounding step shows).
enum class Resampler { Simd, Reference };

// Resamples `box` of `src` to out_w x out_h RGB and normalises:
// dst[(y * out_w + x) * 3 + c] = (p / 255 - mean[c]) / std[c], NHWC, RGB order
// whatever src's format. When shrinking, each output pixel averages the source
// area it covers (anti-aliased); when enlarging, bilinear. No allocation.
// `pool` (optional): the Simd resampler splits the output rows over its threads
// (rows are independent: the same values as one thread).
Status crop_resize_normalize(const faceattr_image& src, const CropBox& box, int out_w, int out_h,
                             const float mean[3], const float std[3], float* dst,
                             Resampler resampler = Resampler::Simd, ThreadPool* pool = nullptr);

// LNet input geometry (docs/model-format.md, "LNet models"): the w x h frame,
// scaled with its aspect kept, fills content_w x content_h pixels at the
// top-left of the out_w x out_h input. The content size is rounded to whole
// pixels, so the exact per-axis scales are scale_x = content_w / w and
// scale_y = content_h / h (input pixels per frame pixel): frame x = input x / scale_x.
struct Letterbox {
  int content_w = 0, content_h = 0;
  float scale_x = 0, scale_y = 0;
};
Letterbox letterbox_geometry(int w, int h, int out_w, int out_h);

// Resamples the whole of `src` into the content rectangle of an out_w x out_h
// NHWC input (as crop_resize_normalize), and writes exactly 0.0f to the rest
// (the letterbox is 0 after normalisation, whatever mean/std). No allocation.
// shrink > 1: the content fits (out_w / shrink) x (out_h / shrink) instead, rounded down
// for integer shrinks and to the nearest pixel otherwise (LNet's coarse pass and image
// pyramid: the frame at 1/shrink of its letterboxed size). shrink < 1, NaN or beyond the
// output size: FACEATTR_ERR_INVALID_ARGUMENT.
// `pool` as for crop_resize_normalize.
Status letterbox_normalize(const faceattr_image& src, int out_w, int out_h, const float mean[3],
                           const float std[3], float* dst, Letterbox* geometry, float shrink = 1,
                           Resampler resampler = Resampler::Simd, ThreadPool* pool = nullptr);

}  // namespace faceattr::image
