// The CPU side of the browser module's WebGPU backend (web/src/webgpu/): the
// session's own loaded models as plain JS graphs for the WGSL executor, and the
// pipeline stages around the two networks, which stay in wasm:
//   frame -> LNet input (letterbox; one batch slot per LNet pass: a half-size
//            coarse pass, or the levels of an image-pyramid decoder)  lnetInput()
//   LNet maps (HWC, mapChannels() floats per cell) -> faces -> ANet crops
//                                             decodeFaces()   (one batch slot per face)
//   whole frame -> one ANet crop              cropWhole()     (not localising, or crop mode)
// The networks run on the GPU in between. The stages are the session's own
// pipeline (faceattr::pipeline::FacePipeline: lnet_input, faces_of_maps, anet_input,
// whole_image_box), the functions its CPU path runs, so both backends see the same
// pixels, decode maps the same way and frame faces the same way.
//
// Fallible calls return a faceattr_status code (lastError() has the message);
// nothing throws.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "api/session.h"
#include "image/preprocess.h"
#include "model/model.h"
#include "pipeline/face_pipeline.h"
#include "util/last_error.h"

namespace {

using emscripten::val;

#define FACEATTR_REPORT_IF_ERROR(expr)                \
  do {                                                \
    const ::faceattr::Status _st = (expr);            \
    if (!_st.is_ok()) return ::faceattr::report(_st); \
  } while (0)

template <class T>
val array_of(const std::vector<T>& v) {
  val a = val::array();
  for (const T& x : v) a.call<void>("push", x);
  return a;
}

// The model of a session's network as {kind, name, inputWidth, inputHeight, mean, std,
// attributeNames, thresholds, input, outputs, tensors: [...], nodes: [...]}; constant
// tensor bytes are copied into fresh Uint8Arrays (`data`).
val graph_of(const faceattr::model::Model& m) {
  using faceattr::model::Node;
  using faceattr::model::Tensor;
  val g = val::object();
  g.set("kind", m.kind);
  g.set("name", m.name);
  g.set("inputWidth", m.input_width);
  g.set("inputHeight", m.input_height);
  g.set("mean", array_of(std::vector<float>(m.mean, m.mean + 3)));
  g.set("std", array_of(std::vector<float>(m.std, m.std + 3)));
  g.set("attributeNames", array_of(m.attribute_names));
  g.set("thresholds", array_of(m.thresholds));
  g.set("input", m.input);
  g.set("outputs", array_of(m.outputs));
  static const char* const kDTypes[] = {"f32", "i8", "i32"};
  val tensors = val::array();
  for (const Tensor& t : m.tensors) {
    val o = val::object();
    o.set("name", t.name);
    o.set("dtype", std::string(kDTypes[static_cast<int>(t.dtype)]));
    o.set("shape", array_of(t.shape));
    o.set("scales", array_of(t.scales));
    o.set("zeroPoints", array_of(t.zero_points));
    o.set("constant", t.constant);
    if (t.constant && t.data != nullptr) {
      o.set("data", val(emscripten::typed_memory_view(t.data_size, t.data)).call<val>("slice"));
    }
    tensors.call<void>("push", o);
  }
  g.set("tensors", tensors);
  static const char* const kActs[] = {"none", "relu", "relu6", "leaky_relu"};
  val nodes = val::array();
  for (const Node& n : m.nodes) {
    val o = val::object();
    o.set("name", n.name);
    o.set("op", std::string(faceattr::model::op_name(n.op)));
    o.set("inputs", array_of(n.inputs));
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
    o.set("act", std::string(kActs[static_cast<int>(n.act)]));
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
// (channel 0 of pass 0), ANet input batch (face_slots() slots), faces [x, y, w, h, score]
// per slot. Sized once.
class WebGpuStages {
 public:
  // `session`: Session.handle() of the binding (a faceattr_session*); it must outlive this.
  explicit WebGpuStages(uintptr_t session)
      : s_(reinterpret_cast<faceattr_session*>(session)), pl_(&s_->pipeline) {
    const faceattr::model::Model& am = pl_->anet().model();
    slots_ = pl_->face_slots();
    anet_elems_ = static_cast<size_t>(am.input_width) * am.input_height * 3;
    anet_in_.assign(anet_elems_ * static_cast<size_t>(slots_), 0.0f);
    faces_.assign(static_cast<size_t>(slots_) * 5, 0.0f);
    if (pl_->localizes()) {
      const faceattr::model::Model& lm = pl_->lnet().model();
      passes_ = std::max(1, pl_->lnet_passes());
      lnet_elems_ = static_cast<size_t>(lm.input_width) * lm.input_height * 3;
      lnet_in_.assign(lnet_elems_ * static_cast<size_t>(passes_), 0.0f);
      map_.assign(pl_->lnet_geometry().floats() * static_cast<size_t>(passes_), 0.0f);
      scores_.assign(pl_->lnet_geometry().cells(), 0.0f);
      crops_.resize(static_cast<size_t>(slots_));
    }
  }

  // which: 0 ANet, 1 LNet (undefined without LNet).
  val graph(int which) const {
    if (which == 0) return graph_of(pl_->anet().model());
    if (which == 1 && pl_->has_lnet()) return graph_of(pl_->lnet().model());
    return val::undefined();
  }

  int slots() const { return slots_; }
  // Whether frames go through LNet (an LNet loaded and the session's localize param on).
  bool localizes() const { return pl_->localizes(); }
  // LNet runs per frame: 2 when the decoder also reads a coarse (half-size) pass, one per
  // level of an image-pyramid decoder; pass k's input and map are batch slot k.
  int lnetPasses() const { return passes_; }
  int mapWidth() const { return pl_->lnet_geometry().map_w; }
  int mapHeight() const { return pl_->lnet_geometry().map_h; }
  int mapChannels() const { return pl_->lnet_geometry().channels; }
  uintptr_t lnetInputPtr() const { return reinterpret_cast<uintptr_t>(lnet_in_.data()); }
  // Where the LNet output of every pass goes (passes x mapHeight x mapWidth x mapChannels floats).
  uintptr_t responsePtr() const { return reinterpret_cast<uintptr_t>(map_.data()); }
  // After decodeFaces: the face score map (channel 0 of pass 0), mapHeight x mapWidth floats.
  uintptr_t scoresPtr() const { return reinterpret_cast<uintptr_t>(scores_.data()); }
  uintptr_t anetInputPtr() const { return reinterpret_cast<uintptr_t>(anet_in_.data()); }
  uintptr_t facesPtr() const { return reinterpret_cast<uintptr_t>(faces_.data()); }
  // A response-map cell in frame pixels, for the frame of the last lnetInput() (as
  // faceattr_session_response_map reports it).
  float cellWidth() const { return pl_->response_cell_width(g_[0]); }
  float cellHeight() const { return pl_->response_cell_height(g_[0]); }

  // Validates the frame and letterboxes it into lnetInputPtr(), one slot per pass.
  int lnetInput(uintptr_t data, int width, int height, int stride, int format) {
    faceattr::clear_last_error();
    have_g_ = false;
    if (!pl_->localizes())
      return faceattr::report(faceattr::Status(FACEATTR_ERR_UNSUPPORTED, "lnetInput: the session does not localise"));
    const faceattr_image img = image_at(data, width, height, stride, format);
    FACEATTR_REPORT_IF_ERROR(faceattr::image::validate_image(img, s_->params.max_image_pixels));
    for (int k = 0; k < passes_; ++k)
      FACEATTR_REPORT_IF_ERROR(pl_->lnet_input(img, k, lnet_in_.data() + lnet_elems_ * k, &g_[k]));
    have_g_ = true;
    return FACEATTR_OK;
  }

  // Decodes the maps in responsePtr() (of the frame given to the last lnetInput) and
  // resamples each face's ANet crop of the same frame into its batch slot; the count goes
  // to count(), boxes to facesPtr(), the score map to scoresPtr().
  int decodeFaces(uintptr_t data, int width, int height, int stride, int format) {
    faceattr::clear_last_error();
    count_ = 0;
    if (!have_g_) return faceattr::report(faceattr::invalid_argument("decodeFaces: no lnetInput() before"));
    const faceattr_image img = image_at(data, width, height, stride, format);
    FACEATTR_REPORT_IF_ERROR(faceattr::image::validate_image(img, s_->params.max_image_pixels));
    const size_t floats = pl_->lnet_geometry().floats();
    const float* maps[kMaxPasses];
    for (int k = 0; k < passes_; ++k) maps[k] = map_.data() + floats * static_cast<size_t>(k);
    const int n = pl_->faces_of_maps(maps, g_, passes_, crops_.data());
    for (int k = 0; k < n; ++k) {
      const faceattr::pipeline::FaceCrop& c = crops_[static_cast<size_t>(k)];
      FACEATTR_REPORT_IF_ERROR(pl_->anet_input(img, c.anet, anet_in_.data() + anet_elems_ * static_cast<size_t>(k)));
      float* f = faces_.data() + static_cast<size_t>(k) * 5;
      f[0] = c.frame.x, f[1] = c.frame.y, f[2] = c.frame.w, f[3] = c.frame.h, f[4] = c.score;
    }
    pl_->score_channel(maps[0], scores_.data());
    count_ = n;
    return FACEATTR_OK;
  }

  // The frame centre-cropped to ANet's aspect into slot 0 (box in facesPtr(), score 1).
  int cropWhole(uintptr_t data, int width, int height, int stride, int format) {
    faceattr::clear_last_error();
    count_ = 0;
    const faceattr_image img = image_at(data, width, height, stride, format);
    FACEATTR_REPORT_IF_ERROR(faceattr::image::validate_image(img, s_->params.max_image_pixels));
    const faceattr::image::CropBox box = pl_->whole_image_box(width, height);
    FACEATTR_REPORT_IF_ERROR(pl_->anet_input(img, box, anet_in_.data()));
    faces_[0] = box.x, faces_[1] = box.y, faces_[2] = box.w, faces_[3] = box.h, faces_[4] = 1.0f;
    count_ = 1;
    return FACEATTR_OK;
  }

  int count() const { return count_; }

 private:
  static constexpr int kMaxPasses = faceattr::pipeline::FacePipeline::kMaxPasses;
  faceattr_session* s_;
  faceattr::pipeline::FacePipeline* pl_;
  int slots_ = 1;
  size_t anet_elems_ = 0;
  std::vector<float> lnet_in_, map_, scores_, anet_in_, faces_;
  std::vector<faceattr::pipeline::FaceCrop> crops_;
  int passes_ = 0;
  size_t lnet_elems_ = 0;
  faceattr::image::Letterbox g_[kMaxPasses];
  bool have_g_ = false;
  int count_ = 0;
};

}  // namespace

EMSCRIPTEN_BINDINGS(faceattr_webgpu) {
  using namespace emscripten;
  class_<WebGpuStages>("WebGpuStages")
      .constructor<uintptr_t>()
      .function("graph", &WebGpuStages::graph)
      .function("slots", &WebGpuStages::slots)
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
