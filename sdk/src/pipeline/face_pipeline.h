// Frame -> faces -> attributes: the orchestration behind faceattr_session_predict.
//
//   localising (an LNet loaded and options.localize):
//     frame -> letterboxed LNet input, one per LNet pass -> LNet -> HWC maps
//     (channels() floats per cell) -> Decoder -> face boxes (frame pixels)
//     -> per face: its ANet crop (anet_crop_of) -> ANet -> probabilities
//   whole-image mode (no LNet, or options.localize off):
//     frame centre-cropped to ANet's aspect -> ANet -> one face (none when the
//     frame's shorter side is under FACEATTR_MIN_WHOLE_IMAGE_SIDE)
//
// The stages are public so that a caller running the networks elsewhere (the
// browser module's WebGPU backend, wasm/webgpu_stages.cpp) uses the same
// letterbox, decoding, framing and resampling as the CPU path. Every method
// assumes a valid image (image::validate_image at the API boundary) and
// allocates nothing after load().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "image/preprocess.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "pipeline/explain.h"
#include "pipeline/lnet_decode.h"
#include "util/log.h"
#include "util/status.h"

namespace faceattr::pipeline {

// A face found by LNet: its box in frame pixels, its score in [0, 1] and the box
// of the frame that ANet reads (anet_crop_of the face box).
struct FaceCrop {
  image::CropBox frame, anet;
  float score = 0;
};

// Largest box of `aspect` (width / height) centred in `b`.
image::CropBox centre_crop_of(const image::CropBox& b, float aspect);

// ANet's crop of a face box (frame pixels), by the decoder's framing parameters:
// with p.crop_w > 0, side S = sqrt(w h), the box crop_w S wide and crop_h S tall
// centred at (centre x, centre y + crop_dy S); with crop_w = 0 the face box itself.
// Either is then centre-cropped to ANet's aspect (centre_crop_of).
image::CropBox anet_crop_of(const image::CropBox& face, const DecodeParams& p, float anet_aspect);

// The second ANet view's box (before its mirroring): `crop` shrunk to
// FACEATTR_SECOND_VIEW_SCALE of its size about its centre.
image::CropBox second_view_of(const image::CropBox& crop);

// Mirrors ANet's f32 [1, height, width, 3] input left to right in place.
void mirror_input(float* input, int width, int height);

// The probabilities of two views combined: the sigmoid of the mean of their log-odds
// (each p clamped to [2^-20, 1 - 2^-20] first). `out` may alias `a`.
void combine_views(const float* a, const float* b, size_t n, float* out);

// Geometry of an LNet's output map: map_h x map_w cells of `channels` floats (HWC), each
// cell cell_w x cell_h LNet-input pixels.
struct LnetGeometry {
  int map_w = 0, map_h = 0, channels = 1;
  float cell_w = 0, cell_h = 0;
  size_t floats() const { return static_cast<size_t>(map_w) * static_cast<size_t>(map_h) * channels; }
  size_t cells() const { return static_cast<size_t>(map_w) * static_cast<size_t>(map_h); }
};

// The LNet contract (docs/model-format.md, "LNet models"): one f32 output [1, map_h, map_w, C]
// with C = DecodeParams::channels() of its lnet.* metadata, input sides multiples of the map
// sides, an image pyramid that keeps a pixel at its last level. FACEATTR_ERR_MODEL_FORMAT
// otherwise. Fills the decoder parameters and the map geometry.
Status check_lnet(const model::Model& lnet, DecodeParams* params, LnetGeometry* geometry);

// Faces whose box is longer than this many times the frame's longer side are dropped.
inline constexpr float kMaxFaceToFrame = 4.0f;

struct PipelineOptions {
  int max_faces = 32;      // faces per frame when localising
  int min_face_size = 24;  // frame pixels, shorter box side
  bool localize = true;    // with an LNet: localise (else whole-image mode)
  int anet_views = 1;      // 1, or 2: also second_view_of(crop), mirrored (faceattr_session_params)
  faceattr_abort_callback abort_callback = nullptr;
  void* abort_user_data = nullptr;
};

class FacePipeline {
 public:
  static constexpr int kMaxPasses = 8;

  // Loads ANet and, when `lnet` is not null, the LNet (checked with check_lnet; moved
  // from), and plans every buffer predict uses. `ctx` and its pools must outlive the
  // pipeline (or its release()).
  Status load(model::Model&& anet, model::Model* lnet, kernels::Family family,
              const kernels::ExecContext& ctx, const Logger* logger, const PipelineOptions& options);
  // Frees the networks (before the thread pools their kernels use go).
  void release();

  bool has_lnet() const { return has_lnet_; }
  // Whether predict localises faces (an LNet and options.localize).
  bool localizes() const { return has_lnet_ && options_.localize; }
  const Network& anet() const { return anet_; }
  const Network& lnet() const { return lnet_; }  // loaded only with has_lnet()
  size_t n_attributes() const { return n_attributes_; }
  // Faces predict can return: max_faces when localising, else 1.
  int face_slots() const { return localizes() ? options_.max_faces : 1; }
  const PipelineOptions& options() const { return options_; }

  // --- Decision thresholds (faceattr_threshold_policy) ---
  // The ANet's thresholds for `policy` (a faceattr_threshold_policy value): n_attributes()
  // floats, or null when the model has none for it (or the value is unknown).
  const float* thresholds_of(int policy) const;
  // The policy present[] is decided with (ACCURACY after load), and its thresholds. `policy`
  // must be one thresholds_of() has. Atomic: a reader on another thread sees the old policy
  // or the new one.
  faceattr_threshold_policy threshold_policy() const { return policy_.load(std::memory_order_relaxed); }
  void set_threshold_policy(faceattr_threshold_policy policy) {
    policy_.store(policy, std::memory_order_relaxed);
  }
  const float* thresholds() const { return thresholds_of(threshold_policy()); }

  // --- The whole pipeline (CPU networks) ---
  // Finds the faces of `image` and predicts their attributes into faces()[0, *n_faces);
  // adds the stage times to `t`.
  Status predict(const faceattr_image& image, int32_t* n_faces, faceattr_timings* t);
  // ANet alone on `image` taken as one face crop (whole_image_box); fills `probs`
  // (n_attributes floats). Leaves faces() and the response map alone.
  Status predict_crop(const faceattr_image& image, float* probs, faceattr_timings* t);
  const faceattr_face* faces() const { return faces_.data(); }
  // Class-activation maps of face `face` of the last successful predict (faceattr_session_explain).
  Status explain(int face, const int32_t* attributes, int n, faceattr_explanation* out) {
    const size_t f = face >= 0 && face < face_slots() ? static_cast<size_t>(face) : 0;
    return explainer_.explain(face, attributes, n, probs_.data() + f * n_attributes_,
                              present_.data() + f * n_attributes_, out);
  }
  // LNet's face score map (channel 0) of the last successful localising predict, or null.
  const faceattr_response_map* response_map() const { return response_valid_ ? &response_map_ : nullptr; }

  // --- Local search (faceattr_tracker): a tracked face looked for near its last box ---
  // Plans a second copy of the LNet at an input of `cells` x `cells` map cells
  // (model::reshape_input) and a decoder for its map. An odd count puts the window's
  // centre, where the tracked face is expected, at a cell's centre rather than on a
  // corner between four cells. FACEATTR_ERR_UNSUPPORTED without an LNet. May allocate;
  // a second call with the same count does nothing.
  Status plan_local_search(int cells);
  // The local LNet's input size (0 when not planned).
  int local_input_width() const { return local_cells_ * static_cast<int>(geometry_.cell_w); }
  int local_input_height() const { return local_cells_ * static_cast<int>(geometry_.cell_h); }
  // Runs the local LNet on the `window` of `image` (frame pixels; past the border
  // the edge repeats) and writes into *found the face there that overlaps `expect` most
  // (ties: the stronger), with its ANet crop; found->score = 0 when there is none.
  Status search_near(const faceattr_image& image, const image::CropBox& window, const image::CropBox& expect,
                     FaceCrop* found, faceattr_timings* t);
  // Runs ANet on crops[0 .. n) into face slots 0 .. n - 1, as predict stores its faces (explain
  // and faces() then describe them). n <= face_slots().
  Status predict_crops(const faceattr_image& image, const FaceCrop* crops, int n, faceattr_timings* t);
  // ANet's pooled feature vector (GlobalAvgPool output, real values) of face slot `slot` of the
  // last predict: feature_size() floats (0 when the ANet's tail is not explainable).
  int feature_size() const { return explainer_.feature_size(); }
  void features(int slot, float* out) const { explainer_.pooled(slot, out); }

  // --- Stages, for callers that run the networks elsewhere ---
  // LNet runs lnet_passes() times per frame (1; 2 for a decoder with a coarse pass; the
  // levels of an image-pyramid decoder); pass k reads the frame letterboxed at
  // 1 / lnet_pass_shrink(k) of LNet's input. 0 passes without an LNet.
  int lnet_passes() const;
  float lnet_pass_shrink(int pass) const;
  bool lnet_wants_coarse_pass() const;  // lnet_passes() == 2, not a pyramid
  const LnetGeometry& lnet_geometry() const { return geometry_; }
  // Letterboxes `image` for pass `pass` into `dst` (LNet's [1, H, W, 3] f32 input).
  // FACEATTR_ERR_UNSUPPORTED without an LNet.
  Status lnet_input(const faceattr_image& image, int pass, float* dst, image::Letterbox* g) const;
  // Decodes the HWC maps of `n_maps` passes (pass k letterboxed by gs[k]) into at most
  // max_faces faces in `out`, strongest first, each with its ANet crop; returns the count.
  // With fewer maps than lnet_passes() the decoder uses what it has.
  int faces_of_maps(const float* const* maps, const image::Letterbox* gs, int n_maps, FaceCrop* out);
  // Copies channel 0 (the face score) of an HWC map into `out` (cells() floats).
  void score_channel(const float* map, float* out) const;
  // A map cell in frame pixels, for a frame letterboxed by `g` (as the response map reports it).
  float response_cell_width(const image::Letterbox& g) const { return geometry_.cell_w / g.scale_x; }
  float response_cell_height(const image::Letterbox& g) const { return geometry_.cell_h / g.scale_y; }
  // The whole-image face: `w` x `h` centre-cropped to ANet's aspect.
  image::CropBox whole_image_box(int w, int h) const;
  // Resamples `box` of `image` into an ANet input ([1, H, W, 3] f32) at `dst`.
  Status anet_input(const faceattr_image& image, const image::CropBox& box, float* dst) const;
  // ANet view `view` of the face crop `box`: 0 is anet_input(box); 1 (the second view of
  // anet_views = 2) is anet_input(second_view_of(box)) mirrored.
  Status anet_view_input(const faceattr_image& image, const image::CropBox& box, int view, float* dst) const;
  int anet_views() const { return options_.anet_views; }

 private:
  // Runs ANet on `box` of `image` (each of its views); keeps what explain needs in face slot
  // `slot` (-1: none), from the first view. The probabilities are then at anet_probs().
  Status run_anet(const faceattr_image& image, const image::CropBox& box, int slot, faceattr_timings* t);
  const float* anet_probs() const { return options_.anet_views == 2 ? views_.data() : anet_.output_ptr(); }
  void store_face(size_t slot, const image::CropBox& box, float score);
  Status localise(const faceattr_image& image, int32_t* n_faces, faceattr_timings* t);

  PipelineOptions options_;
  kernels::ExecContext ctx_;
  Network anet_;
  Network lnet_;
  bool has_lnet_ = false;
  float anet_aspect_ = 1.0f;
  std::atomic<faceattr_threshold_policy> policy_{FACEATTR_THRESHOLDS_ACCURACY};

  LnetGeometry geometry_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<FaceBox> boxes_;   // max_faces
  std::vector<FaceCrop> crops_;  // max_faces
  std::vector<float> maps_;      // the maps of all passes (passes reuse LNet's arena)

  // Local search: the LNet at local_cells_ x local_cells_ map cells, its decoder and boxes.
  int local_cells_ = 0;
  Network local_lnet_;
  std::unique_ptr<Decoder> local_decoder_;
  std::vector<FaceBox> local_boxes_;

  // Results, sized at load: face_slots() faces of n_attributes values each.
  size_t n_attributes_ = 0;
  std::vector<float> probs_;
  std::vector<float> views_;  // anet_views 2: the first view's probabilities, then the combined ones
  std::vector<uint8_t> present_;
  std::vector<faceattr_face> faces_;
  std::vector<float> response_;  // channel 0 of pass 0's map
  faceattr_response_map response_map_{};
  bool response_valid_ = false;
  Explainer explainer_;
};

}  // namespace faceattr::pipeline
