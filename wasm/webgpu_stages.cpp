// The CPU side of the browser module's WebGPU backend (web/src/webgpu/): the
// session's own loaded models as plain JS graphs for the WGSL executor, and the
// pipeline stages around the two networks, which stay in wasm:
//   frame -> LNet input (letterbox; one batch slot per LNet pass: a half-size
//            coarse pass, or the levels of an image-pyramid decoder)  lnetInput()
//   LNet maps (HWC, mapChannels() floats per cell) -> faces -> ANet crops
//                                             decodeFaces()   (one batch slot per face)
//   whole frame -> one ANet crop              cropWhole()     (not localising, or crop mode)
// The networks run on the GPU in between. The stages are the C API's staged
// pipeline (faceattr.h: faceattr_session_lnet_input, _decode_faces,
// _whole_image_crop, _anet_view_input, faceattr_combine_views), the steps faceattr_session_predict runs on
// the CPU, so both backends see the same pixels, decode maps the same way and frame faces the same way.
//
// Fallible calls return a faceattr_status code (lastError() has the message);
// nothing throws.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace {

using emscripten::val;

template <class T>
val array_of(const T* data, int32_t n) {
  val a = val::array();
  for (int32_t i = 0; i < n; ++i) a.call<void>("push", data[i]);
  return a;
}

val strings_of(const char* const* data, int32_t n) {
  val a = val::array();
  for (int32_t i = 0; i < n; ++i) a.call<void>("push", std::string(data[i]));
  return a;
}

// A session's network as {kind, name, inputWidth, inputHeight, mean, std, attributeNames,
// thresholds, input, outputs, tensors: [...], nodes: [...]}; constant tensor bytes are
// copied into fresh Uint8Arrays (`data`).
val graph_of(const faceattr_model* model) {
  faceattr_model_info m{};
  faceattr_model_get_info(model, &m);
  val g = val::object();
  g.set("kind", std::string(m.kind));
  g.set("name", std::string(m.name));
  g.set("inputWidth", m.input_width);
  g.set("inputHeight", m.input_height);
  g.set("mean", array_of(m.mean, 3));
  g.set("std", array_of(m.std, 3));
  g.set("attributeNames", strings_of(m.attribute_names, m.n_attributes));
  g.set("thresholds", array_of(m.thresholds, m.n_attributes));
  g.set("input", m.input);
  g.set("outputs", array_of(m.outputs, m.n_outputs));
  static const char* const kDTypes[] = {"f32", "i8", "i32"};
  val tensors = val::array();
  for (int32_t i = 0; i < m.n_tensors; ++i) {
    faceattr_tensor_info t{};
    faceattr_model_get_tensor(model, i, &t);
    val o = val::object();
    o.set("name", std::string(t.name));
    o.set("dtype", std::string(kDTypes[t.dtype]));
    o.set("shape", array_of(t.shape, t.n_dims));
    o.set("scales", array_of(t.scales, t.n_scales));
    o.set("zeroPoints", array_of(t.zero_points, t.n_scales));
    o.set("constant", t.constant != 0);
    if (t.constant && t.data != nullptr) {
      const auto* bytes = static_cast<const uint8_t*>(t.data);
      o.set("data", val(emscripten::typed_memory_view(t.data_size, bytes)).call<val>("slice"));
    }
    tensors.call<void>("push", o);
  }
  g.set("tensors", tensors);
  val nodes = val::array();
  for (int32_t i = 0; i < m.n_nodes; ++i) {
    faceattr_node_info n{};
    faceattr_model_get_node(model, i, &n);
    val o = val::object();
    o.set("name", std::string(n.name));
    o.set("op", std::string(n.op));
    o.set("inputs", array_of(n.inputs, n.n_inputs));
    o.set("output", n.output);
    o.set("kernelH", n.kernel_h);
    o.set("kernelW", n.kernel_w);
    o.set("strideH", n.stride_h);
    o.set("strideW", n.stride_w);
    o.set("padTop", n.pad_top);
    o.set("padLeft", n.pad_left);
    o.set("padBottom", n.pad_bottom);
    o.set("padRight", n.pad_right);
    o.set("groups", n.groups);
    o.set("axis", n.axis);
    o.set("act", std::string(n.activation));
    o.set("leakyAlpha", n.leaky_alpha);
    nodes.call<void>("push", o);
  }
  g.set("nodes", nodes);
  return g;
}

faceattr_image image_at(uintptr_t data, int width, int height, int stride, int format) {
  return faceattr_image{reinterpret_cast<const uint8_t*>(data), width, height, stride,
                        static_cast<faceattr_pixel_format>(format)};
}

// Per-session buffers of the stages: LNet input and maps (one per pass), the score map
// (channel 0 of pass 0), ANet input batch (face_slots x anet_views slots: with two views,
// the n faces' first views in slots [0, n), their second views in [n, 2n)), ANet's output
// for combineViews, faces [x, y, w, h, score] per slot. Sized once.
class WebGpuStages {
 public:
  // `session`: Session.handle() of the binding (a faceattr_session*); it must outlive this.
  explicit WebGpuStages(uintptr_t session) : s_(reinterpret_cast<faceattr_session*>(session)) {
    faceattr_session_stage_info(s_, &info_);
    faceattr_model_info am{};
    faceattr_model_get_info(faceattr_session_model(s_, 0), &am);
    slots_ = info_.face_slots;
    views_ = std::max(1, info_.anet_views);
    n_attrs_ = am.n_attributes;
    anet_elems_ = static_cast<size_t>(am.input_width) * am.input_height * 3;
    anet_in_.assign(anet_elems_ * static_cast<size_t>(slots_) * static_cast<size_t>(views_), 0.0f);
    probs_.assign(static_cast<size_t>(n_attrs_) * static_cast<size_t>(slots_) * static_cast<size_t>(views_),
                  0.0f);
    faces_.assign(static_cast<size_t>(slots_) * 5, 0.0f);
    crops_.resize(static_cast<size_t>(slots_));
    if (info_.lnet_passes > 0) {
      faceattr_model_info lm{};
      faceattr_model_get_info(faceattr_session_model(s_, 1), &lm);
      passes_ = info_.lnet_passes;
      lnet_elems_ = static_cast<size_t>(lm.input_width) * lm.input_height * 3;
      lnet_in_.assign(lnet_elems_ * static_cast<size_t>(passes_), 0.0f);
      map_.assign(map_floats() * static_cast<size_t>(passes_), 0.0f);
      scores_.assign(map_cells(), 0.0f);
    }
  }

  // which: 0 ANet, 1 LNet (undefined without LNet).
  val graph(int which) const {
    const faceattr_model* m = which == 0 || which == 1 ? faceattr_session_model(s_, which) : nullptr;
    return m != nullptr ? graph_of(m) : val::undefined();
  }

  int slots() const { return slots_; }
  // ANet inputs per face (the session's anet_views): the batch holds count() x views() inputs.
  int views() const { return views_; }
  // Whether frames go through LNet (an LNet loaded and the session's localize param on).
  bool localizes() const { return info_.lnet_passes > 0; }
  // LNet runs per frame: 2 when the decoder also reads a coarse (half-size) pass, one per
  // level of an image-pyramid decoder; pass k's input and map are batch slot k.
  int lnetPasses() const { return passes_; }
  int mapWidth() const { return info_.map_width; }
  int mapHeight() const { return info_.map_height; }
  int mapChannels() const { return info_.map_channels; }
  uintptr_t lnetInputPtr() const { return reinterpret_cast<uintptr_t>(lnet_in_.data()); }
  // Where the LNet output of every pass goes (passes x mapHeight x mapWidth x mapChannels floats).
  uintptr_t responsePtr() const { return reinterpret_cast<uintptr_t>(map_.data()); }
  // After decodeFaces: the face score map (channel 0 of pass 0), mapHeight x mapWidth floats.
  uintptr_t scoresPtr() const { return reinterpret_cast<uintptr_t>(scores_.data()); }
  uintptr_t anetInputPtr() const { return reinterpret_cast<uintptr_t>(anet_in_.data()); }
  uintptr_t facesPtr() const { return reinterpret_cast<uintptr_t>(faces_.data()); }
  // Where ANet's batch output goes for combineViews (slots() x views() x attributes floats).
  uintptr_t probsPtr() const { return reinterpret_cast<uintptr_t>(probs_.data()); }

  // With two views: combines the 2 n outputs in probsPtr() (first views, then second views)
  // into the first n x attributes floats, as predict does (faceattr_combine_views).
  int combineViews(int n) {
    if (views_ != 2 || n < 0 || n > slots_) return FACEATTR_ERR_INVALID_ARGUMENT;
    const size_t na = static_cast<size_t>(n_attrs_);
    float* first = probs_.data();
    const float* second = probs_.data() + na * static_cast<size_t>(n);
    return faceattr_combine_views(first, second, n * n_attrs_, first);
  }
  // A response-map cell in frame pixels, for the frame of the last successful lnetInput() (as
  // faceattr_session_response_map reports it).
  float cellWidth() const { return info_.cell_width / lb_[0].scale_x; }
  float cellHeight() const { return info_.cell_height / lb_[0].scale_y; }

  // Validates the frame and letterboxes it into lnetInputPtr(), one slot per pass.
  int lnetInput(uintptr_t data, int width, int height, int stride, int format) {
    // Until every pass succeeds the letterboxes stay zero, which decodeFaces refuses.
    for (faceattr_letterbox& l : lb_) l = faceattr_letterbox{};
    const faceattr_image img = image_at(data, width, height, stride, format);
    faceattr_letterbox lb[FACEATTR_MAX_LNET_PASSES] = {};
    for (int k = 0; k < std::max(passes_, 1); ++k) {
      float* dst = lnet_in_.empty() ? nullptr : lnet_in_.data() + lnet_elems_ * static_cast<size_t>(k);
      const faceattr_status st = faceattr_session_lnet_input(s_, &img, k, dst, &lb[k]);
      if (st != FACEATTR_OK) return st;
    }
    std::copy(lb, lb + FACEATTR_MAX_LNET_PASSES, lb_);
    return FACEATTR_OK;
  }

  // Decodes the maps in responsePtr() (of the frame given to the last lnetInput) and
  // resamples each face's ANet crop of the same frame into its batch slot; the count goes
  // to count(), boxes to facesPtr(), the score map to scoresPtr().
  int decodeFaces(uintptr_t data, int width, int height, int stride, int format) {
    count_ = 0;
    const faceattr_image img = image_at(data, width, height, stride, format);
    const float* maps[FACEATTR_MAX_LNET_PASSES];
    for (int k = 0; k < passes_; ++k) maps[k] = map_.data() + map_floats() * static_cast<size_t>(k);
    int32_t n = 0;
    faceattr_status st = faceattr_session_decode_faces(s_, maps, lb_, passes_, crops_.data(), &n);
    if (st != FACEATTR_OK) return st;
    for (int32_t k = 0; k < n; ++k) {
      const faceattr_face_crop& c = crops_[static_cast<size_t>(k)];
      st = anet_views_input(img, c.crop, k, n);
      if (st != FACEATTR_OK) return st;
      set_face(k, c);
    }
    // The score map: channel 0 of pass 0's HWC map.
    const size_t channels = static_cast<size_t>(info_.map_channels);
    for (size_t i = 0; i < scores_.size(); ++i) scores_[i] = maps[0][i * channels];
    count_ = n;
    return FACEATTR_OK;
  }

  // The frame centre-cropped to ANet's aspect into slot 0 (box in facesPtr(), score 1).
  // As predict's whole-image face (`as_face`), a frame under FACEATTR_MIN_WHOLE_IMAGE_SIDE
  // holds none (count 0); a crop (predictCrop) is always read.
  int cropWhole(uintptr_t data, int width, int height, int stride, int format, bool as_face) {
    count_ = 0;
    const faceattr_image img = image_at(data, width, height, stride, format);
    faceattr_face_crop& c = crops_[0];
    faceattr_status st = faceattr_session_whole_image_crop(s_, &img, &c);
    if (st != FACEATTR_OK) return st;
    if (as_face && std::min(width, height) < FACEATTR_MIN_WHOLE_IMAGE_SIDE) return FACEATTR_OK;
    st = anet_views_input(img, c.crop, 0, 1);
    if (st != FACEATTR_OK) return st;
    set_face(0, c);
    count_ = 1;
    return FACEATTR_OK;
  }

  int count() const { return count_; }

 private:
  // Face k of n: view v into batch slot v * n + k.
  faceattr_status anet_views_input(const faceattr_image& img, const float crop[4], int32_t k, int32_t n) {
    for (int32_t v = 0; v < views_; ++v) {
      const size_t slot = static_cast<size_t>(v) * static_cast<size_t>(n) + static_cast<size_t>(k);
      const faceattr_status st =
          faceattr_session_anet_view_input(s_, &img, crop, v, anet_in_.data() + anet_elems_ * slot);
      if (st != FACEATTR_OK) return st;
    }
    return FACEATTR_OK;
  }

  size_t map_cells() const {
    return static_cast<size_t>(info_.map_width) * static_cast<size_t>(info_.map_height);
  }
  size_t map_floats() const { return map_cells() * static_cast<size_t>(info_.map_channels); }
  void set_face(int32_t slot, const faceattr_face_crop& c) {
    float* f = faces_.data() + static_cast<size_t>(slot) * 5;
    f[0] = c.box[0], f[1] = c.box[1], f[2] = c.box[2], f[3] = c.box[3], f[4] = c.score;
  }

  faceattr_session* s_;
  faceattr_stage_info info_{};
  int slots_ = 1, views_ = 1, n_attrs_ = 0;
  size_t anet_elems_ = 0;
  std::vector<float> lnet_in_, map_, scores_, anet_in_, probs_, faces_;
  std::vector<faceattr_face_crop> crops_;
  int passes_ = 0;
  size_t lnet_elems_ = 0;
  faceattr_letterbox lb_[FACEATTR_MAX_LNET_PASSES] = {};
  int count_ = 0;
};

}  // namespace

EMSCRIPTEN_BINDINGS(faceattr_webgpu) {
  using namespace emscripten;
  class_<WebGpuStages>("WebGpuStages")
      .constructor<uintptr_t>()
      .function("graph", &WebGpuStages::graph)
      .function("slots", &WebGpuStages::slots)
      .function("views", &WebGpuStages::views)
      .function("probsPtr", &WebGpuStages::probsPtr)
      .function("combineViews", &WebGpuStages::combineViews)
      .function("localizes", &WebGpuStages::localizes)
      .function("lnetPasses", &WebGpuStages::lnetPasses)
      .function("mapWidth", &WebGpuStages::mapWidth)
      .function("mapHeight", &WebGpuStages::mapHeight)
      .function("mapChannels", &WebGpuStages::mapChannels)
      .function("lnetInputPtr", &WebGpuStages::lnetInputPtr)
      .function("responsePtr", &WebGpuStages::responsePtr)
      .function("scoresPtr", &WebGpuStages::scoresPtr)
      .function("anetInputPtr", &WebGpuStages::anetInputPtr)
      .function("facesPtr", &WebGpuStages::facesPtr)
      .function("cellWidth", &WebGpuStages::cellWidth)
      .function("cellHeight", &WebGpuStages::cellHeight)
      .function("lnetInput", &WebGpuStages::lnetInput)
      .function("decodeFaces", &WebGpuStages::decodeFaces)
      .function("cropWhole", &WebGpuStages::cropWhole)
      .function("count", &WebGpuStages::count);
}
