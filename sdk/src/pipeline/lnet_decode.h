// LNet response map -> face boxes. Pure C++, no allocation after construction,
// shared by the SDK pipeline and the trainer (which tunes and validates the
// decoder on scenes composed from training images). docs/model-format.md
// ("LNet") describes the metadata keys that set DecodeParams.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"
#include "util/status.h"

namespace faceattr::pipeline {

struct DecodeParams {
  float threshold = 0.5f;        // lnet.threshold: a face needs a peak response >= this
  float region_fraction = 0.5f;  // lnet.region_fraction: its region = connected cells >= fraction * peak
  float box_scale = 1.0f;        // lnet.box_scale: face box side = box_scale * sqrt(region area)
  float box_aspect = 1.0f;       // lnet.box_aspect: box width / height
  float nms_iou = 0.3f;          // lnet.nms_iou: weaker boxes overlapping a kept one more than this go
  // Coarse pass for large faces: LNet also runs on the frame letterboxed at half size; that
  // map's peaks >= half_threshold are candidates too. 0 = one pass (no coarse map).
  float half_threshold = 0.0f;  // lnet.half_threshold
  // Box side of a coarse-pass candidate without the size model: half_box_scale x sqrt(its
  // region's area in fine-pass pixels); 0 = box_scale.
  float half_box_scale = 0.0f;  // lnet.half_box_scale
  // Box size. size_bias == 0: side = box_scale * sqrt(region area) (the region's extent).
  // size_bias > 0: side = exp(size_bias + size_w1 * logit(p1) + size_w2 * logit(p2)), where
  // p1 / p2 are the strongest responses of the fine / coarse map in the 3x3 cells around the
  // box centre (the face's response across scales tells its size; p2 = p1 without a coarse map).
  float size_bias = 0.0f;  // lnet.size_bias
  float size_w1 = 0.0f;    // lnet.size_w1
  float size_w2 = 0.0f;    // lnet.size_w2
  // Image pyramid (a net trained on one band of face sizes answers most at the level where the
  // face falls into that band): LNet runs on the frame letterboxed at 1, 1/f, 1/f^2, ... (f =
  // pyramid_factor) for pyramid_levels levels (< 2: off, the decoder above). A face is a cell
  // >= threshold that is a maximum among its 8 neighbours and over the same spot on the adjacent
  // levels; its level, refined by a parabola through the three levels' logits, gives the side
  // pyramid_side x f^level (LNet-input pixels), its centre the response-weighted centroid of the
  // 3x3 cells (weights: response - region_fraction x peak). NMS also drops a weaker box whose
  // centre lies in a stronger one. box_scale, half_* and size_* are unused then.
  float pyramid_levels = 0.0f;         // lnet.pyramid_levels (integer 0..8)
  float pyramid_factor = 1.41421356f;  // lnet.pyramid_factor
  float pyramid_side = 0.0f;           // lnet.pyramid_side
  // Dense box map (lnet.dense = 1; replaces the decoders above): the network's output has 5
  // channels per cell, all sigmoid: face score p, centre offsets ox, oy and sides sw, sh. Cell
  // (i, j) proposes the box centred at ((j + 0.5 + offset_range * (2 ox - 1)) * cell_w, (i + 0.5 +
  // offset_range * (2 oy - 1)) * cell_h), w = box_min * (box_max / box_min)^sw (h likewise with
  // sh), scored p. A face is a cell with p >= threshold that no 8-neighbour exceeds; NMS at
  // nms_iou (strongest first). One pass per frame.
  float dense = 0.0f;         // lnet.dense (0 or 1)
  float offset_range = 1.0f;  // lnet.offset_range (cells)
  float box_min = 4.0f;       // lnet.box_min (LNet-input pixels)
  float box_max = 512.0f;     // lnet.box_max
  // ANet framing of a face box (frame pixels, side S = sqrt(w h), centre c): the crop handed
  // to ANet is centred at (c_x, c_y + crop_dy S), crop_w S wide and crop_h S tall, then
  // centre-cropped to ANet's aspect. crop_w = 0 (absent): the box itself, centre-cropped.
  float crop_w = 0.0f;   // lnet.crop_w
  float crop_h = 0.0f;   // lnet.crop_h
  float crop_dy = 0.0f;  // lnet.crop_dy

  // Floats per map cell of the network output: 5 for a dense box map, else 1.
  int channels() const { return dense > 0.5f ? 5 : 1; }
};

// A face box in LNet-input pixels (x, y top-left), score = peak response in [0, 1].
struct FaceBox {
  float x = 0, y = 0, w = 0, h = 0, score = 0;
};

// Reads the lnet.* metadata of an LNet model (defaults for absent keys);
// refuses unparsable or out-of-range values with FACEATTR_ERR_MODEL_FORMAT.
Status decode_params_from_model(const model::Model& lnet, DecodeParams* out);

// Range checks of decode_params_from_model (for parameters from elsewhere).
Status validate_decode_params(const DecodeParams& p);

class Decoder {
 public:
  // Sizes all scratch for a map_h x map_w map whose cell (i, j) centre sits at
  // ((j + 0.5) * cell_w, (i + 0.5) * cell_h) LNet-input pixels. May allocate.
  // Non-positive sizes give a decoder that finds nothing.
  Decoder(const DecodeParams& p, int map_h, int map_w, float cell_w, float cell_h, int max_faces);

  // Maps are HWC with params().channels() floats per cell (channel 0: the face response).
  // Finds up to max_faces faces, strongest first; returns their count. Boxes
  // whose shorter side is below min_side LNet-input pixels are dropped.
  // Non-finite map values count as 0. Allocates nothing.
  // coarse: optional map (same size) of the coarse pass, whose input pixel (x, y) is
  // (x * ratio_x, y * ratio_y) here (2 for a half-size letterbox); used only when
  // params().half_threshold > 0 (see wants_coarse_map), for candidates and for sizes.
  int decode(const float* map, float min_side, FaceBox* out, const float* coarse = nullptr,
             float ratio_x = 2.0f, float ratio_y = 2.0f);

  // Whether decode makes use of a coarse map (the caller may skip that LNet pass otherwise).
  bool wants_coarse_map() const { return p_.half_threshold > 0.0f && !pyramid() && !dense(); }

  // LNet passes per frame: the pyramid's levels, 2 with a coarse map, else 1. Pass k runs on
  // the frame letterboxed at 1 / pass_shrink(k) of the input (pass 0: 1).
  int passes() const;
  float pass_shrink(int pass) const;
  bool pyramid() const { return p_.pyramid_levels >= 2.0f && !dense(); }
  bool dense() const { return p_.dense > 0.5f; }

  // Decodes the maps of all passes (passes() of them, same size): pass k's input pixel (x, y)
  // is pass 0's (x * ratio_x[k], y * ratio_y[k]). With fewer maps than passes() the decoder
  // uses what it has. Allocates nothing.
  int decode_passes(const float* const* maps, const float* ratio_x, const float* ratio_y, int n_maps,
                    float min_side, FaceBox* out);

  const DecodeParams& params() const { return p_; }

 private:
  struct Candidate {
    float cx, cy, score;
    int count;    // region cells
    bool coarse;  // from the coarse map (cells ratio_x x ratio_y times larger)
  };
  // Peaks >= thr of `map` -> flood-filled regions -> candidates_[n..), centres scaled by ratio.
  int add_regions(const float* map, float thr, float ratio_x, float ratio_y, bool coarse, int n);
  float near_peak(const float* map, float x, float y) const;  // max over the 3x3 cells around pixel (x, y)
  int decode_pyramid(const float* const* maps, const float* ratio_x, const float* ratio_y, int n_maps,
                     float min_side, FaceBox* out);
  int decode_dense(const float* map, float min_side, FaceBox* out);
  int sort_and_suppress(int n_box, FaceBox* out, bool centre_rule);

  DecodeParams p_;
  int map_h_, map_w_;
  float cell_w_, cell_h_;
  int max_faces_;
  std::vector<int32_t> label_;         // per cell: owning region, -1 = none
  std::vector<int32_t> stack_;         // flood-fill stack
  std::vector<int32_t> peaks_;         // peak cells, strongest first
  std::vector<Candidate> candidates_;  // both passes, before sizing
  std::vector<FaceBox> boxes_;         // sized candidates, before NMS
};

}  // namespace faceattr::pipeline
