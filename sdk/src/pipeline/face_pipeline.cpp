// Frame -> faces -> attributes (see face_pipeline.h).
#include "pipeline/face_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

namespace faceattr::pipeline {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string shape_string(const std::vector<int32_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return "[" + s + "]";
}

}  // namespace

image::CropBox centre_crop_of(const image::CropBox& b, float aspect) {
  image::CropBox c = b;
  if (b.w >= b.h * aspect) {
    c.w = b.h * aspect;
  } else {
    c.h = b.w / aspect;
  }
  c.x = b.x + (b.w - c.w) * 0.5f;
  c.y = b.y + (b.h - c.h) * 0.5f;
  return c;
}

image::CropBox second_view_of(const image::CropBox& crop) {
  const float k = FACEATTR_SECOND_VIEW_SCALE;
  return image::CropBox{crop.x + crop.w * (1.0f - k) * 0.5f, crop.y + crop.h * (1.0f - k) * 0.5f, crop.w * k,
                        crop.h * k};
}

void mirror_input(float* input, int width, int height) {
  const size_t w = static_cast<size_t>(width);
  for (size_t y = 0; y < static_cast<size_t>(height); ++y) {
    float* row = input + y * w * 3;
    for (size_t x = 0; x < w / 2; ++x)
      for (size_t c = 0; c < 3; ++c) std::swap(row[x * 3 + c], row[(w - 1 - x) * 3 + c]);
  }
}

void combine_views(const float* a, const float* b, size_t n, float* out) {
  // 2^-20 and 1 - 2^-20 are both exact floats: certain and certainly-not views cancel.
  constexpr float lo = 1.0f / 1048576.0f, hi = 1.0f - lo;
  for (size_t i = 0; i < n; ++i) {
    const float pa = std::min(hi, std::max(lo, a[i])), pb = std::min(hi, std::max(lo, b[i]));
    const float l = 0.5f * (std::log(pa / (1.0f - pa)) + std::log(pb / (1.0f - pb)));
    out[i] = 1.0f / (1.0f + std::exp(-l));
  }
}

image::CropBox anet_crop_of(const image::CropBox& face, const DecodeParams& p, float anet_aspect) {
  if (!(p.crop_w > 0.0f) || !(p.crop_h > 0.0f)) return centre_crop_of(face, anet_aspect);
  const float side = std::sqrt(face.w * face.h);
  const float cx = face.x + 0.5f * face.w;
  const float cy = face.y + 0.5f * face.h + p.crop_dy * side;
  const float w = p.crop_w * side, h = p.crop_h * side;
  return centre_crop_of(image::CropBox{cx - 0.5f * w, cy - 0.5f * h, w, h}, anet_aspect);
}

Status check_lnet(const model::Model& m, DecodeParams* params, LnetGeometry* geometry) {
  FACEATTR_RETURN_IF_ERROR(decode_params_from_model(m, params));
  if (m.outputs.size() != 1)
    return model_format_error("LNet model must have exactly one output (the response map), got " +
                              std::to_string(m.outputs.size()));
  const model::Tensor& out = m.tensors[static_cast<size_t>(m.outputs[0])];
  const auto& d = out.shape;
  const int channels = params->channels();
  if (out.dtype != model::DType::F32 || d.size() != 4 || d[0] != 1 || d[1] < 1 || d[2] < 1 ||
      d[3] != channels)
    return model_format_error("LNet output '" + out.name + "' must be f32 [1,map_h,map_w," +
                              std::to_string(channels) + "] (metadata lnet.dense = " +
                              (params->dense > 0.5f ? "1: a dense box map, 5 channels" : "0: 1 channel") +
                              " per cell), got " + (out.dtype == model::DType::F32 ? "f32 " : "non-f32 ") +
                              shape_string(d));
  if (m.input_width % d[2] != 0 || m.input_height % d[1] != 0)
    return model_format_error("LNet input " + std::to_string(m.input_width) + "x" +
                              std::to_string(m.input_height) + " is not a multiple of its response map " +
                              std::to_string(d[2]) + "x" + std::to_string(d[1]));
  if (params->pyramid_levels >= 2.0f && !(params->dense > 0.5f)) {
    // Every pyramid level must keep at least one input pixel each way.
    const double smallest = std::pow(static_cast<double>(params->pyramid_factor),
                                     static_cast<double>(params->pyramid_levels) - 1.0);
    if (smallest > std::min(m.input_width, m.input_height))
      return model_format_error(
          "LNet metadata lnet.pyramid_levels / lnet.pyramid_factor: the last level shrinks the " +
          std::to_string(m.input_width) + "x" + std::to_string(m.input_height) + " input " +
          std::to_string(smallest) + " times");
  }
  geometry->map_h = d[1];
  geometry->map_w = d[2];
  geometry->channels = channels;
  geometry->cell_w = static_cast<float>(m.input_width / d[2]);
  geometry->cell_h = static_cast<float>(m.input_height / d[1]);
  return Status::ok();
}

Status FacePipeline::load(model::Model&& anet, model::Model* lnet, kernels::Family family,
                          const kernels::ExecContext& ctx, const Logger* logger,
                          const PipelineOptions& options) {
  options_ = options;
  ctx_ = ctx;
  DecodeParams decode_params;
  if (lnet != nullptr) FACEATTR_RETURN_IF_ERROR(check_lnet(*lnet, &decode_params, &geometry_));
  FACEATTR_RETURN_IF_ERROR(anet_.load(std::move(anet), family, ctx, logger));
  const model::Model& am = anet_.model();
  anet_aspect_ = static_cast<float>(am.input_width) / static_cast<float>(am.input_height);
  if (lnet != nullptr) {
    FACEATTR_RETURN_IF_ERROR(lnet_.load(std::move(*lnet), family, ctx, logger));
    has_lnet_ = true;
    decoder_.reset(new (std::nothrow) Decoder(decode_params, geometry_.map_h, geometry_.map_w,
                                              geometry_.cell_w, geometry_.cell_h, options.max_faces));
    if (!decoder_) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot allocate the LNet decoder");
    boxes_.resize(static_cast<size_t>(options.max_faces));
    crops_.resize(static_cast<size_t>(options.max_faces));
    const int passes = std::min(kMaxPasses, decoder_->passes());
    maps_.assign(geometry_.floats() * static_cast<size_t>(passes), 0.0f);
    response_.assign(geometry_.cells(), 0.0f);
  }
  n_attributes_ = am.attribute_names.size();
  explainer_.plan(am, face_slots());
  if (logger && !explainer_.concepts_warning().empty())
    logger->log(FACEATTR_LOG_WARN, "%s", explainer_.concepts_warning().c_str());
  if (logger && !explainer_.average_maps_warning().empty())
    logger->log(FACEATTR_LOG_WARN, "%s", explainer_.average_maps_warning().c_str());
  const size_t slots = static_cast<size_t>(face_slots());
  probs_.assign(slots * n_attributes_, 0.0f);
  views_.assign(options.anet_views == 2 ? n_attributes_ : 0, 0.0f);
  present_.assign(slots * n_attributes_, 0);
  faces_.assign(slots, faceattr_face{});
  for (size_t f = 0; f < slots; ++f) {
    faces_[f].probs = probs_.data() + f * n_attributes_;
    faces_[f].present = present_.data() + f * n_attributes_;
  }
  return Status::ok();
}

const float* FacePipeline::thresholds_of(int policy) const {
  const model::Model& m = anet_.model();
  if (policy == FACEATTR_THRESHOLDS_ACCURACY) return m.thresholds.data();
  if (policy == FACEATTR_THRESHOLDS_BALANCED && !m.balanced_thresholds.empty())
    return m.balanced_thresholds.data();
  return nullptr;
}

void FacePipeline::release() {
  anet_ = Network();
  lnet_ = Network();
  local_lnet_ = Network();
}

Status FacePipeline::plan_local_search(int cells) {
  if (!has_lnet_) return Status(FACEATTR_ERR_UNSUPPORTED, "local search needs an LNet model");
  if (cells == local_cells_) return Status::ok();
  const model::Model& lm = lnet_.model();
  if (cells < 1 || cells > 64)
    return Status(FACEATTR_ERR_INVALID_ARGUMENT,
                  "local search: " + std::to_string(cells) + " cells is not in [1, 64]");
  const int side_w = cells * static_cast<int>(geometry_.cell_w),
            side_h = cells * static_cast<int>(geometry_.cell_h);
  // A fresh copy of the model (from the bytes the network keeps), planned at side x side.
  model::Model copy;
  FACEATTR_RETURN_IF_ERROR(model::load_model(lm.bytes.get(), lm.size, &copy));
  FACEATTR_RETURN_IF_ERROR(model::reshape_input(&copy, side_w, side_h));
  const auto& d = copy.tensors[static_cast<size_t>(copy.outputs[0])].shape;
  Network net;
  FACEATTR_RETURN_IF_ERROR(net.load(std::move(copy), lnet_.main_family(), ctx_, nullptr));
  DecodeParams dp = decoder_->params();
  const int max_local = 4;
  std::unique_ptr<Decoder> dec(new (std::nothrow)
                                   Decoder(dp, d[1], d[2], geometry_.cell_w, geometry_.cell_h, max_local));
  if (!dec) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "cannot allocate the local-search decoder");
  local_lnet_ = std::move(net);
  local_decoder_ = std::move(dec);
  local_boxes_.assign(static_cast<size_t>(max_local), FaceBox{});
  local_cells_ = cells;
  return Status::ok();
}

Status FacePipeline::search_near(const faceattr_image& image, const image::CropBox& window,
                                 const image::CropBox& expect, FaceCrop* found, faceattr_timings* t) {
  *found = FaceCrop{};
  if (local_cells_ == 0) return Status(FACEATTR_ERR_INVALID_ARGUMENT, "local search is not planned");
  if (!(window.w > 0.0f) || !(window.h > 0.0f)) return Status::ok();
  const model::Model& lm = local_lnet_.model();
  const auto t0 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(image::crop_resize_normalize(image, window, lm.input_width, lm.input_height,
                                                        lm.mean, lm.std, local_lnet_.input_ptr(),
                                                        image::Resampler::Simd, ctx_.pool));
  t->preprocess_ms += ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(local_lnet_.run(options_.abort_callback, options_.abort_user_data));
  t->lnet_ms += ms_since(t1);
  const float sx = static_cast<float>(lm.input_width) / window.w;
  const float sy = static_cast<float>(lm.input_height) / window.h;
  const float min_face = static_cast<float>(options_.min_face_size);
  const float* map = local_lnet_.output_ptr();
  const float one = 1.0f;
  const int n =
      local_decoder_->decode_passes(&map, &one, &one, 1, min_face * std::min(sx, sy), local_boxes_.data());
  const float max_face = kMaxFaceToFrame * static_cast<float>(std::max(image.width, image.height));
  float best = -1.0f;
  for (int k = 0; k < n; ++k) {
    const FaceBox& b = local_boxes_[static_cast<size_t>(k)];
    const image::CropBox frame{window.x + b.x / sx, window.y + b.y / sy, b.w / sx, b.h / sy};
    if (!(frame.w > 0.0f) || !(frame.h > 0.0f) || !std::isfinite(frame.x) || !std::isfinite(frame.y) ||
        !std::isfinite(frame.w) || !std::isfinite(frame.h))
      continue;
    if (std::min(frame.w, frame.h) < min_face || !(std::max(frame.w, frame.h) <= max_face)) continue;
    const float o = image::box_iou(frame, expect);
    if (o <= best) continue;
    best = o;
    found->frame = frame;
    found->anet = anet_crop_of(frame, local_decoder_->params(), anet_aspect_);
    found->score = std::min(1.0f, std::max(0.0f, b.score));
  }
  return Status::ok();
}

Status FacePipeline::predict_crops(const faceattr_image& image, const FaceCrop* crops, int n,
                                   faceattr_timings* t) {
  explainer_.set_faces(-1);
  n = std::min(n, face_slots());
  for (int k = 0; k < n; ++k) {
    FACEATTR_RETURN_IF_ERROR(run_anet(image, crops[k].anet, k, t));
    store_face(static_cast<size_t>(k), crops[k].frame, crops[k].score);
  }
  explainer_.set_faces(n);
  return Status::ok();
}

int FacePipeline::lnet_passes() const {
  return has_lnet_ && decoder_ ? std::min(kMaxPasses, decoder_->passes()) : 0;
}

float FacePipeline::lnet_pass_shrink(int pass) const {
  return has_lnet_ && decoder_ ? decoder_->pass_shrink(pass) : 1.0f;
}

bool FacePipeline::lnet_wants_coarse_pass() const {
  return has_lnet_ && decoder_ && decoder_->wants_coarse_map();
}

Status FacePipeline::lnet_input(const faceattr_image& image, int pass, float* dst,
                                image::Letterbox* g) const {
  if (!has_lnet_) return Status(FACEATTR_ERR_UNSUPPORTED, "the session has no LNet model");
  const model::Model& lm = lnet_.model();
  // The rows split over the session's threads (the same values as one thread).
  return image::letterbox_normalize(image, lm.input_width, lm.input_height, lm.mean, lm.std, dst, g,
                                    lnet_pass_shrink(pass), image::Resampler::Simd, ctx_.pool);
}

int FacePipeline::faces_of_maps(const float* const* maps, const image::Letterbox* gs, int n_maps,
                                FaceCrop* out) {
  if (!has_lnet_ || !maps || !gs || n_maps < 1) return 0;
  const image::Letterbox& g = gs[0];
  // min_face_size is in frame pixels; the decoder drops boxes certainly below it (in LNet
  // pixels), the exact test on the frame box follows.
  const float min_face = static_cast<float>(options_.min_face_size);
  const float min_side = min_face * std::min(g.scale_x, g.scale_y);
  // Pass k's input pixel (x, y) is pass 0's pixel (x * ratio_x[k], y * ratio_y[k]); a pass
  // without a usable geometry ends the list.
  float rx[kMaxPasses], ry[kMaxPasses];
  int n = 0;
  for (; n < std::min(n_maps, kMaxPasses); ++n) {
    if (!maps[n] || !(gs[n].scale_x > 0) || !(gs[n].scale_y > 0)) break;
    rx[n] = g.scale_x / gs[n].scale_x;
    ry[n] = g.scale_y / gs[n].scale_y;
  }
  if (n == 0) return 0;
  const int found = decoder_->decode_passes(maps, rx, ry, n, min_side, boxes_.data());
  const DecodeParams& dp = decoder_->params();
  // A box whose longer side exceeds kMaxFaceToFrame frame sides is no face of this frame
  // (a broken LNet or a map of noise); resampling its crop would also cost in proportion.
  const float max_face = kMaxFaceToFrame * std::max(static_cast<float>(g.content_w) / g.scale_x,
                                                    static_cast<float>(g.content_h) / g.scale_y);
  int kept = 0;
  for (int k = 0; k < found && kept < options_.max_faces; ++k) {
    const FaceBox& b = boxes_[static_cast<size_t>(k)];
    const image::CropBox frame{b.x / g.scale_x, b.y / g.scale_y, b.w / g.scale_x, b.h / g.scale_y};
    if (!(frame.w > 0.0f) || !(frame.h > 0.0f) || !std::isfinite(frame.x) || !std::isfinite(frame.y) ||
        !std::isfinite(frame.w) || !std::isfinite(frame.h))
      continue;
    if (std::min(frame.w, frame.h) < min_face || !(std::max(frame.w, frame.h) <= max_face)) continue;
    FaceCrop& c = out[kept++];
    c.frame = frame;
    c.anet = anet_crop_of(frame, dp, anet_aspect_);
    c.score = std::min(1.0f, std::max(0.0f, b.score));
  }
  return kept;
}

void FacePipeline::score_channel(const float* map, float* out) const {
  const size_t cells = geometry_.cells();
  const size_t c = static_cast<size_t>(geometry_.channels);
  if (c == 1) {
    std::memcpy(out, map, cells * sizeof(float));
    return;
  }
  for (size_t i = 0; i < cells; ++i) out[i] = map[i * c];
}

image::CropBox FacePipeline::whole_image_box(int w, int h) const {
  return image::centre_crop_box(w, h, anet_aspect_);
}

Status FacePipeline::anet_input(const faceattr_image& image, const image::CropBox& box, float* dst) const {
  const model::Model& m = anet_.model();
  return image::crop_resize_normalize(image, box, m.input_width, m.input_height, m.mean, m.std, dst,
                                      image::Resampler::Simd, ctx_.pool);
}

Status FacePipeline::anet_view_input(const faceattr_image& image, const image::CropBox& box, int view,
                                     float* dst) const {
  if (view == 0) return anet_input(image, box, dst);
  if (view != 1) return Status(FACEATTR_ERR_INVALID_ARGUMENT, "ANet view must be 0 or 1");
  FACEATTR_RETURN_IF_ERROR(anet_input(image, second_view_of(box), dst));
  mirror_input(dst, anet_.model().input_width, anet_.model().input_height);
  return Status::ok();
}

// Resamples `box` of `image` into ANet's input and runs ANet; adds to the timings.
Status FacePipeline::run_anet(const faceattr_image& image, const image::CropBox& box, int slot,
                              faceattr_timings* t) {
  const auto t0 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(anet_input(image, box, anet_.input_ptr()));
  t->preprocess_ms += ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(
      explainer_.run(anet_, slot, box, options_.abort_callback, options_.abort_user_data));
  t->anet_ms += ms_since(t1);
  if (options_.anet_views != 2) return Status::ok();
  std::copy(anet_.output_ptr(), anet_.output_ptr() + n_attributes_, views_.data());
  const auto t2 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(anet_view_input(image, box, 1, anet_.input_ptr()));
  t->preprocess_ms += ms_since(t2);
  const auto t3 = std::chrono::steady_clock::now();
  FACEATTR_RETURN_IF_ERROR(anet_.run(options_.abort_callback, options_.abort_user_data));
  combine_views(views_.data(), anet_.output_ptr(), n_attributes_, views_.data());
  t->anet_ms += ms_since(t3);
  return Status::ok();
}

// Copies ANet's output into face slot `slot` (probs, present) with its box and score.
void FacePipeline::store_face(size_t slot, const image::CropBox& box, float score) {
  const float* out = anet_probs();
  const float* thr = thresholds();
  float* probs = probs_.data() + slot * n_attributes_;
  uint8_t* present = present_.data() + slot * n_attributes_;
  for (size_t i = 0; i < n_attributes_; ++i) {
    probs[i] = out[i];
    present[i] = out[i] >= thr[i] ? 1 : 0;
  }
  faceattr_face& face = faces_[slot];
  face.box[0] = box.x;
  face.box[1] = box.y;
  face.box[2] = box.w;
  face.box[3] = box.h;
  face.score = score;
}

Status FacePipeline::predict(const faceattr_image& image, int32_t* n_faces, faceattr_timings* t) {
  *n_faces = 0;
  explainer_.set_faces(-1);
  if (localizes()) {
    FACEATTR_RETURN_IF_ERROR(localise(image, n_faces, t));
  } else if (std::min(image.width, image.height) >= FACEATTR_MIN_WHOLE_IMAGE_SIDE) {
    // An image smaller than the smallest face the localiser is trained on holds none.
    const image::CropBox box = whole_image_box(image.width, image.height);
    FACEATTR_RETURN_IF_ERROR(run_anet(image, box, 0, t));
    store_face(0, box, 1.0f);
    *n_faces = 1;
  }
  explainer_.set_faces(*n_faces);
  return Status::ok();
}

Status FacePipeline::predict_crop(const faceattr_image& image, float* probs, faceattr_timings* t) {
  FACEATTR_RETURN_IF_ERROR(run_anet(image, whole_image_box(image.width, image.height), -1, t));
  std::memcpy(probs, anet_probs(), n_attributes_ * sizeof(float));
  return Status::ok();
}

// frame -> letterboxed LNet input per pass -> maps -> boxes -> per box: its ANet crop -> ANet.
Status FacePipeline::localise(const faceattr_image& image, int32_t* n_faces, faceattr_timings* t) {
  const int passes = lnet_passes();
  const size_t floats = geometry_.floats();
  image::Letterbox gs[kMaxPasses];
  const float* maps[kMaxPasses];
  for (int k = 0; k < passes; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    FACEATTR_RETURN_IF_ERROR(lnet_input(image, k, lnet_.input_ptr(), &gs[k]));
    t->preprocess_ms += ms_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    FACEATTR_RETURN_IF_ERROR(lnet_.run(options_.abort_callback, options_.abort_user_data));
    t->lnet_ms += ms_since(t1);
    // Each pass's map leaves the arena before the next pass overwrites it.
    float* dst = maps_.data() + floats * static_cast<size_t>(k);
    std::copy(lnet_.output_ptr(), lnet_.output_ptr() + floats, dst);
    maps[k] = dst;
  }

  const int n = faces_of_maps(maps, gs, passes, crops_.data());
  for (int k = 0; k < n; ++k) {
    const FaceCrop& c = crops_[static_cast<size_t>(k)];
    FACEATTR_RETURN_IF_ERROR(run_anet(image, c.anet, k, t));
    store_face(static_cast<size_t>(k), c.frame, c.score);
  }

  score_channel(maps[0], response_.data());
  faceattr_response_map& r = response_map_;
  r.data = response_.data();
  r.width = geometry_.map_w;
  r.height = geometry_.map_h;
  r.origin_x = 0.0f;
  r.origin_y = 0.0f;
  r.cell_width = response_cell_width(gs[0]);
  r.cell_height = response_cell_height(gs[0]);
  response_valid_ = true;
  *n_faces = static_cast<int32_t>(n);
  return Status::ok();
}

}  // namespace faceattr::pipeline
