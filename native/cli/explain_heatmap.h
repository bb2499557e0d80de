// `faceattr explain --out DIR`: an attribute's class-activation map drawn over the photo.
#pragma once

#include <string>

#include "faceattr/faceattr.h"
#include "image_decode.h"

namespace faceattr::cli {

// Writes `photo` as a PNG at `path` with e's map (contrast * (map - average map), where
// the model has one: the values the peak is taken on) upsampled bilinearly over its box
// (cell centres at the cells' receptive-field centres, edges clamped), its values
// scaled from the minimum to the maximum, blended as a colour heat map
// (blue -> red, half opacity at the maximum), the face box `face_box` (x, y, w, h)
// outlined in white and the peak marked. Throws Error when the file cannot be written.
void write_heatmap_png(const std::string& path, const RgbImage& photo, const faceattr_explanation& e,
                       const float face_box[4]);

}  // namespace faceattr::cli
