// Class-activation maps of ANet's attributes (see explain.h).
#include "pipeline/explain.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace faceattr::pipeline {
namespace {

using model::DType;
using model::Op;

// The node whose output is tensor `t`, or -1.
int producer(const model::Model& m, int t) {
  for (size_t i = 0; i < m.nodes.size(); ++i)
    if (m.nodes[i].output == t) return static_cast<int>(i);
  return -1;
}

bool per_tensor_i8(const model::Tensor& t) { return t.dtype == DType::I8 && t.scales.size() == 1; }

// Receptive-field centres of a map's cells, along one axis: input index a * j + b of
// cell j, composed over the chain of single-input ops from the network input to tensor
// `t`. False when the path is not such a chain (then the caller tiles the input evenly).
bool receptive_field(const model::Model& m, int t, bool x_axis, float* a, float* b) {
  double ca = 1, cb = 0;  // index in the current tensor = ca * j + cb
  for (size_t guard = 0; guard <= m.nodes.size(); ++guard) {
    if (t == m.input) {
      *a = static_cast<float>(ca);
      *b = static_cast<float>(cb);
      return true;
    }
    const int p = producer(m, t);
    if (p < 0) return false;
    const model::Node& n = m.nodes[static_cast<size_t>(p)];
    switch (n.op) {
      case Op::Conv2d:
      case Op::MaxPool2d:
      case Op::AvgPool2d: {
        const int s = x_axis ? n.stride_w : n.stride_h;
        const int k = x_axis ? n.kernel_w : n.kernel_h;
        const int pad = x_axis ? n.pad_left : n.pad_top;
        ca *= s;
        cb = s * cb - pad + 0.5 * (k - 1);
        break;
      }
      case Op::Activation:
      case Op::Quantize:
      case Op::Dequantize:
      case Op::Sigmoid:
        break;
      default:
        return false;
    }
    t = n.inputs.empty() ? -1 : n.inputs[0];
  }
  return false;
}

float real_of(const uint8_t* raw, bool int8, size_t i, float scale, int32_t zp) {
  if (int8)
    return scale * static_cast<float>(static_cast<int32_t>(reinterpret_cast<const int8_t*>(raw)[i]) - zp);
  float v;
  std::memcpy(&v, raw + i * sizeof(float), sizeof v);
  return v;
}

// Sub-cell offset of a maximum at v0 from its neighbours: the vertex of the parabola
// through (-1, vm), (0, v0), (1, vp), within half a cell.
float parabola_offset(float vm, float v0, float vp) {
  const float denom = vm - 2.0f * v0 + vp;
  if (!(denom < 0.0f)) return 0.0f;
  return std::min(0.5f, std::max(-0.5f, 0.5f * (vm - vp) / denom));
}

}  // namespace

void Explainer::plan(const model::Model& m, int slots) {
  supported_ = false;
  n_faces_ = -1;
  const auto refuse = [this](const std::string& why) {
    reason_ =
        "faceattr_session_explain: the ANet model does not end feature map -> GlobalAvgPool -> "
        "FullyConnected: " +
        why;
  };
  if (m.outputs.empty()) return refuse("it has no output");
  int t = m.outputs[0];
  int node = producer(m, t);
  if (node >= 0 && m.nodes[static_cast<size_t>(node)].op == Op::Sigmoid)
    node = producer(m, t = m.nodes[static_cast<size_t>(node)].inputs[0]);
  if (node >= 0 && m.nodes[static_cast<size_t>(node)].op == Op::Dequantize)
    node = producer(m, t = m.nodes[static_cast<size_t>(node)].inputs[0]);
  if (node < 0 || m.nodes[static_cast<size_t>(node)].op != Op::FullyConnected)
    return refuse("its output does not come from a FullyConnected node (through Dequantize, Sigmoid)");
  const model::Node& fc = m.nodes[static_cast<size_t>(node)];
  if (fc.act != model::Act::None)
    return refuse("the FullyConnected node '" + fc.name + "' has an activation");
  int gap = producer(m, fc.inputs[0]);
  // An int8 network may dequantise the pooled features for an f32 classifier.
  const bool dequantised = gap >= 0 && m.nodes[static_cast<size_t>(gap)].op == Op::Dequantize;
  if (dequantised) gap = producer(m, m.nodes[static_cast<size_t>(gap)].inputs[0]);
  if (gap < 0 || m.nodes[static_cast<size_t>(gap)].op != Op::GlobalAvgPool)
    return refuse("the input of FullyConnected '" + fc.name + "' is not a GlobalAvgPool output");
  const model::Node& gn = m.nodes[static_cast<size_t>(gap)];
  const model::Tensor& F = m.tensors[static_cast<size_t>(gn.inputs[0])];
  const model::Tensor& G = m.tensors[static_cast<size_t>(gn.output)];
  const model::Tensor& W = m.tensors[static_cast<size_t>(fc.inputs[1])];
  const model::Tensor& Y = m.tensors[static_cast<size_t>(fc.output)];
  if (F.shape.size() != 4 || F.shape[0] != 1) return refuse("the pooled feature map is not [1, H, W, C]");
  const bool int8 = F.dtype == DType::I8;
  const bool w_int8 = W.dtype == DType::I8;  // else f32 (after a Dequantize when the features are int8)
  const bool consistent =
      int8 ? per_tensor_i8(F) && per_tensor_i8(G) &&
                 (dequantised ? W.dtype == DType::F32 : w_int8 && !W.scales.empty())
           : !dequantised && F.dtype == DType::F32 && G.dtype == DType::F32 && W.dtype == DType::F32;
  if (!consistent || !(Y.dtype == DType::F32 || per_tensor_i8(Y)))
    return refuse("its tensors mix f32 and int8, or an int8 one is not quantised per tensor");
  const int C = F.shape[3];
  if (W.shape.size() != 2 || W.shape[1] != C || static_cast<size_t>(W.shape[0]) != m.attribute_names.size())
    return refuse("the FullyConnected weights are not [n_attributes, C]");

  gap_node_ = static_cast<size_t>(gap);
  fc_node_ = static_cast<size_t>(node);
  feat_t_ = gn.inputs[0];
  gap_t_ = gn.output;
  fc_t_ = fc.output;
  int8_ = int8;
  h_ = F.shape[1];
  w_ = F.shape[2];
  c_ = C;
  n_attr_ = W.shape[0];
  if (int8) {
    feat_scale_ = F.scales[0], feat_zp_ = F.zero_points[0];
    gap_scale_ = G.scales[0], gap_zp_ = G.zero_points[0];
  }
  out_int8_ = Y.dtype == DType::I8;
  if (out_int8_) out_scale_ = Y.scales[0], out_zp_ = Y.zero_points[0];

  // Real-valued FC rows and biases; int8 biases have the kernel's scale, input x weight.
  const size_t nc = static_cast<size_t>(C);
  weights_.assign(static_cast<size_t>(n_attr_) * nc, 0.0f);
  bias_.assign(static_cast<size_t>(n_attr_), 0.0f);
  const int b = fc.inputs.size() > 2 ? fc.inputs[2] : -1;
  for (size_t a = 0; a < static_cast<size_t>(n_attr_); ++a) {
    const float ws = w_int8 ? W.scales[W.scales.size() == 1 ? 0 : a] : 1.0f;
    const int32_t wz = w_int8 ? W.zero_points[W.scales.size() == 1 ? 0 : a] : 0;
    for (size_t c = 0; c < nc; ++c) weights_[a * nc + c] = real_of(W.data, w_int8, a * nc + c, ws, wz);
    if (b < 0) continue;
    const model::Tensor& B = m.tensors[static_cast<size_t>(b)];
    if (B.dtype == DType::I32) {
      int32_t q;
      std::memcpy(&q, B.data + a * sizeof q, sizeof q);
      bias_[a] = static_cast<float>(q) * gap_scale_ * ws;
    } else {
      bias_[a] = real_of(B.data, false, a, 1.0f, 0);
    }
  }

  input_w_ = static_cast<float>(m.input_width);
  input_h_ = static_cast<float>(m.input_height);
  if (!receptive_field(m, feat_t_, true, &rf_ax_, &rf_bx_) ||
      !receptive_field(m, feat_t_, false, &rf_ay_, &rf_by_)) {
    rf_ax_ = input_w_ / static_cast<float>(w_), rf_bx_ = 0.5f * rf_ax_ - 0.5f;
    rf_ay_ = input_h_ / static_cast<float>(h_), rf_by_ = 0.5f * rf_ay_ - 0.5f;
  }

  slots_ = slots;
  const size_t cells = static_cast<size_t>(h_) * static_cast<size_t>(w_);
  const size_t s = static_cast<size_t>(slots);
  feat_bytes_ = F.bytes(), gap_bytes_ = G.bytes(), fc_bytes_ = Y.bytes();
  feat_.assign(s * feat_bytes_, 0);
  gap_.assign(s * gap_bytes_, 0);
  fc_.assign(s * fc_bytes_, 0);
  crops_.assign(s, image::CropBox{});
  maps_.assign(s * static_cast<size_t>(n_attr_) * cells, 0.0f);
  scratch_.assign(cells * nc, 0.0f);
  relative_.assign(cells, 0.0f);
  average_maps_.load(m, h_, w_, &average_maps_warning_);
  concepts_.load(m, C, &concepts_warning_);
  contributions_.assign(s * static_cast<size_t>(n_attr_) * static_cast<size_t>(concepts_.max_terms()),
                        faceattr_concept_contribution{});
  pooled_.assign(nc, 0.0f);
  supported_ = true;
}

Status Explainer::run(Network& net, int slot, const image::CropBox& crop, faceattr_abort_callback abort_cb,
                      void* abort_user_data) {
  if (!supported_ || slot < 0 || slot >= slots_) return net.run(abort_cb, abort_user_data);
  const size_t s = static_cast<size_t>(slot);
  FACEATTR_RETURN_IF_ERROR(net.run_nodes(0, gap_node_ + 1, abort_cb, abort_user_data));
  std::memcpy(feat_.data() + s * feat_bytes_, net.tensor_data(feat_t_), feat_bytes_);
  std::memcpy(gap_.data() + s * gap_bytes_, net.tensor_data(gap_t_), gap_bytes_);
  FACEATTR_RETURN_IF_ERROR(net.run_nodes(gap_node_ + 1, fc_node_ + 1, abort_cb, abort_user_data));
  std::memcpy(fc_.data() + s * fc_bytes_, net.tensor_data(fc_t_), fc_bytes_);
  FACEATTR_RETURN_IF_ERROR(net.run_nodes(fc_node_ + 1, net.node_count(), abort_cb, abort_user_data));
  crops_[s] = crop;
  return Status::ok();
}

void Explainer::pooled(int slot, float* out) const {
  if (!supported_ || slot < 0 || slot >= slots_) return;
  const uint8_t* G = gap_.data() + static_cast<size_t>(slot) * gap_bytes_;
  for (size_t c = 0; c < static_cast<size_t>(c_); ++c) out[c] = real_of(G, int8_, c, gap_scale_, gap_zp_);
}

// scratch = F + r (real values), r[c] = G[c] - mean over cells of F[., c].
void Explainer::dequantise_features(int slot) {
  const size_t s = static_cast<size_t>(slot), nc = static_cast<size_t>(c_);
  const size_t cells = static_cast<size_t>(h_) * static_cast<size_t>(w_);
  const uint8_t* F = feat_.data() + s * feat_bytes_;
  const uint8_t* G = gap_.data() + s * gap_bytes_;
  float* x = scratch_.data();
  for (size_t i = 0; i < cells * nc; ++i) x[i] = real_of(F, int8_, i, feat_scale_, feat_zp_);
  const float inv_cells = 1.0f / static_cast<float>(cells);
  for (size_t c = 0; c < nc; ++c) {
    double sum = 0;
    for (size_t p = 0; p < cells; ++p) sum += x[p * nc + c];
    const float r = real_of(G, int8_, c, gap_scale_, gap_zp_) - static_cast<float>(sum) * inv_cells;
    for (size_t p = 0; p < cells; ++p) x[p * nc + c] += r;
  }
}

void Explainer::fill(int slot, int attribute, const float* probs, const uint8_t* present,
                     faceattr_explanation* e) {
  const size_t nc = static_cast<size_t>(c_), a = static_cast<size_t>(attribute);
  const size_t cells = static_cast<size_t>(h_) * static_cast<size_t>(w_);
  float* map = maps_.data() + (static_cast<size_t>(slot) * static_cast<size_t>(n_attr_) + a) * cells;
  const float* wr = weights_.data() + a * nc;
  for (size_t p = 0; p < cells; ++p) {
    const float* x = scratch_.data() + p * nc;
    double v = 0.0;
    for (size_t c = 0; c < nc; ++c) v += static_cast<double>(wr[c]) * x[c];
    map[p] = static_cast<float>(v);
  }
  // The peak (a position every face favours says nothing about this face): judged to
  // have the attribute, where the map most exceeds the average over faces without it;
  // judged not to, where it falls furthest below the average over faces with it (when
  // the model has that average). Without average maps, the map's own maximum.
  const float* avg = present[a] ? nullptr : average_maps_.map(attribute, true);
  const float contrast = avg ? -1.0f : 1.0f;
  if (!avg) avg = average_maps_.map(attribute);
  const float* rel = map;
  if (avg) {
    for (size_t p = 0; p < cells; ++p) relative_[p] = contrast * (map[p] - avg[p]);
    rel = relative_.data();
  }
  size_t best = 0;
  for (size_t p = 1; p < cells; ++p)
    if (rel[p] > rel[best]) best = p;
  std::memset(e, 0, sizeof *e);
  e->attribute = attribute;
  e->probability = probs[a];
  const uint8_t* y = fc_.data() + static_cast<size_t>(slot) * fc_bytes_;
  e->logit = real_of(y, out_int8_, a, out_scale_, out_zp_);
  e->bias = bias_[a];
  e->width = w_;
  e->height = h_;
  e->map = map;
  e->average_map = avg;
  e->contrast = avg ? static_cast<int32_t>(contrast) : 0;
  const image::CropBox& crop = crops_[static_cast<size_t>(slot)];
  const float sx = crop.w / input_w_, sy = crop.h / input_h_;
  e->cell_width = rf_ax_ * sx;
  e->cell_height = rf_ay_ * sy;
  // Cell j's centre, box[0] + (j + 0.5) * cell_width, is its receptive field's centre:
  // crop.x + (rf_a * j + rf_b + 0.5) * sx.
  e->box[0] = crop.x + (rf_bx_ + 0.5f - 0.5f * rf_ax_) * sx;
  e->box[1] = crop.y + (rf_by_ + 0.5f - 0.5f * rf_ay_) * sy;
  e->box[2] = e->cell_width * static_cast<float>(w_);
  e->box[3] = e->cell_height * static_cast<float>(h_);
  e->crop[0] = crop.x, e->crop[1] = crop.y, e->crop[2] = crop.w, e->crop[3] = crop.h;
  const int col = static_cast<int>(best % static_cast<size_t>(w_)),
            row = static_cast<int>(best / static_cast<size_t>(w_));
  e->peak_cell[0] = col;
  e->peak_cell[1] = row;
  e->peak_value = map[best];
  const float dx = col > 0 && col + 1 < w_ ? parabola_offset(rel[best - 1], rel[best], rel[best + 1]) : 0.0f;
  const float dy = row > 0 && row + 1 < h_ ? parabola_offset(rel[best - static_cast<size_t>(w_)], rel[best],
                                                             rel[best + static_cast<size_t>(w_)])
                                           : 0.0f;
  e->peak[0] = e->box[0] + (static_cast<float>(col) + 0.5f + dx) * e->cell_width;
  e->peak[1] = e->box[1] + (static_cast<float>(row) + 0.5f + dy) * e->cell_height;
  if (concepts_.loaded()) {
    faceattr_concept_contribution* c =
        contributions_.data() + (static_cast<size_t>(slot) * static_cast<size_t>(n_attr_) + a) *
                                    static_cast<size_t>(concepts_.max_terms());
    e->n_concepts = concepts_.contributions(attribute, pooled_.data(), c);
    e->concepts = e->n_concepts > 0 ? c : nullptr;
  }
}

Status Explainer::explain(int face, const int32_t* attributes, int n, const float* probs,
                          const uint8_t* present, faceattr_explanation* out) {
  if (!supported_) return Status(FACEATTR_ERR_UNSUPPORTED, reason_);
  if (n_faces_ < 0)
    return invalid_argument("faceattr_session_explain: no successful faceattr_session_predict call yet");
  if (face < 0 || face >= n_faces_)
    return invalid_argument("faceattr_session_explain: face " + std::to_string(face) + " is not in [0, " +
                            std::to_string(n_faces_) + ") (the last predict's faces)");
  for (int k = 0; k < n; ++k)
    if (attributes[k] < 0 || attributes[k] >= n_attr_)
      return invalid_argument("faceattr_session_explain: attribute " + std::to_string(attributes[k]) +
                              " is not in [0, " + std::to_string(n_attr_) + ")");
  dequantise_features(face);
  pooled(face, pooled_.data());
  for (int k = 0; k < n; ++k) fill(face, attributes[k], probs, present, &out[k]);
  return Status::ok();
}

}  // namespace faceattr::pipeline
