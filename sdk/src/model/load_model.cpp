// Container checks, FlatBuffers verification and conversion to model::Model.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "faceattr_model_generated.h"
#include "model/file_header.h"
#include "model/model.h"
#include "util/crc32.h"

namespace faceattr::model {
namespace {

Status fmt(std::string m) { return model_format_error("model: " + std::move(m)); }

std::string str_of(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

template <class T, class U>
void copy_vec(const flatbuffers::Vector<U>* v, std::vector<T>* out) {
  out->clear();
  if (v == nullptr) return;
  out->reserve(v->size());
  for (auto x : *v) out->push_back(static_cast<T>(x));
}

Status convert_tensor(const fb::Tensor* ft, size_t index, const uint8_t* section, uint64_t section_size,
                      Tensor* t) {
  t->name = str_of(ft->name());
  const std::string what = "tensor " + std::to_string(index) + " '" + t->name + "'";
  const int dt = static_cast<int>(ft->dtype());
  if (dt < 0 || dt > 2) return fmt(what + ": unknown dtype " + std::to_string(dt));
  t->dtype = static_cast<DType>(dt);
  const auto* shape = ft->shape();
  if (shape == nullptr || shape->size() == 0 || shape->size() > 4)
    return fmt(what + ": shape must have 1 to 4 dimensions");
  size_t n = 1;
  for (int32_t d : *shape) {
    if (d <= 0) return fmt(what + ": non-positive dimension " + std::to_string(d));
    if (static_cast<size_t>(d) > kMaxTensorElements || n > kMaxTensorElements / static_cast<size_t>(d))
      return fmt(what + ": more than " + std::to_string(kMaxTensorElements) + " elements");
    n *= static_cast<size_t>(d);
    t->shape.push_back(d);
  }
  t->elements = n;
  if (const fb::Quant* q = ft->quant()) {
    copy_vec(q->scale(), &t->scales);
    copy_vec(q->zero_point(), &t->zero_points);
    if (t->scales.size() != t->zero_points.size()) return fmt(what + ": scale and zero_point counts differ");
    for (float s : t->scales)
      if (!(s > 0.0f) || !std::isfinite(s))
        return fmt(what + ": quantisation scale must be positive and finite");
  }
  t->constant = ft->constant();
  if (t->constant) {
    const uint64_t off = ft->data_offset(), size = ft->data_size();
    if (off % kDataAlign != 0) return fmt(what + ": data_offset is not 64-byte aligned");
    if (off > section_size || size > section_size - off)
      return fmt(what + ": data lies outside the data section");
    if (size != t->bytes())
      return fmt(what + ": data_size " + std::to_string(size) + " != elements * dtype size (" +
                 std::to_string(t->bytes()) + ")");
    t->data = section + off;
    t->data_size = static_cast<size_t>(size);
  } else if (ft->data_size() != 0 || ft->data_offset() != 0) {
    return fmt(what + ": activation tensor with data");
  }
  return Status::ok();
}

Status convert_node(const fb::Node* fn, size_t index, Node* n) {
  n->name = str_of(fn->name());
  const std::string what = "node " + std::to_string(index) + " '" + n->name + "'";
  const int op = static_cast<int>(fn->op());
  if (op > static_cast<int>(Op::Dequantize)) return fmt(what + ": unknown op " + std::to_string(op));
  n->op = static_cast<Op>(op);
  if (fn->inputs() == nullptr || fn->inputs()->size() == 0) return fmt(what + ": no inputs");
  if (fn->inputs()->size() > 4096) return fmt(what + ": too many inputs");
  copy_vec(fn->inputs(), &n->inputs);
  if (fn->outputs() == nullptr || fn->outputs()->size() != 1) return fmt(what + ": needs exactly one output");
  n->output = fn->outputs()->Get(0);
  const int act = static_cast<int>(fn->activation());
  if (act < 0 || act > 3) return fmt(what + ": unknown activation " + std::to_string(act));
  n->act = static_cast<Act>(act);
  n->leaky_alpha = fn->leaky_alpha();
  if (!std::isfinite(n->leaky_alpha)) return fmt(what + ": leaky_alpha is not finite");
  switch (n->op) {
    case Op::Conv2d: {
      const fb::Conv2dAttrs* a = fn->attrs_as_Conv2dAttrs();
      if (a == nullptr) return fmt(what + ": Conv2d without Conv2dAttrs");
      if (a->dilation_h() != 1 || a->dilation_w() != 1)
        return fmt(what + ": dilation " + std::to_string(a->dilation_h()) + "x" +
                   std::to_string(a->dilation_w()) + " not supported (only 1)");
      n->kernel_h = a->kernel_h(), n->kernel_w = a->kernel_w();
      n->stride_h = a->stride_h(), n->stride_w = a->stride_w();
      n->pad_top = a->pad_top(), n->pad_left = a->pad_left();
      n->pad_bottom = a->pad_bottom(), n->pad_right = a->pad_right();
      n->groups = a->groups();
      break;
    }
    case Op::MaxPool2d:
    case Op::AvgPool2d: {
      const fb::PoolAttrs* a = fn->attrs_as_PoolAttrs();
      if (a == nullptr) return fmt(what + ": pool without PoolAttrs");
      n->kernel_h = a->kernel_h(), n->kernel_w = a->kernel_w();
      n->stride_h = a->stride_h(), n->stride_w = a->stride_w();
      n->pad_top = a->pad_top(), n->pad_left = a->pad_left();
      n->pad_bottom = a->pad_bottom(), n->pad_right = a->pad_right();
      break;
    }
    case Op::Concat: {
      const fb::ConcatAttrs* a = fn->attrs_as_ConcatAttrs();
      n->axis = a ? a->axis() : 3;
      break;
    }
    default:
      break;
  }
  return Status::ok();
}

}  // namespace

void Model::AlignedFree::operator()(uint8_t* p) const {
  ::operator delete[](p, std::align_val_t(kDataAlign));
}

const char* Model::find_metadata(const char* key) const {
  if (key == nullptr) return nullptr;
  for (const auto& kv : metadata)
    if (kv.first == key) return kv.second.c_str();
  return nullptr;
}

size_t dtype_size(DType d) { return d == DType::I8 ? 1 : 4; }

const char* op_name(Op op) {
  const char* name = fb::EnumNameOpType(op);  // "" outside the schema's values
  return *name != '\0' ? name : "?";
}

Status load_model(const void* data_ptr, size_t size, Model* out) {
  if (data_ptr == nullptr || out == nullptr) return invalid_argument("model: null buffer");
  const auto* data = static_cast<const uint8_t*>(data_ptr);
  if (size < kHeaderSize)
    return fmt("buffer of " + std::to_string(size) + " bytes is shorter than the 64-byte header");
  if (!has_file_magic(data)) return fmt("bad magic: not a faceattr model file");
  const FileHeader h = read_file_header(data);
  if (h.format_version != kFormatVersion)
    return Status(FACEATTR_ERR_MODEL_VERSION, "model: format version " + std::to_string(h.format_version) +
                                                  " is not supported (this SDK reads version 1)");
  if (h.header_size != kHeaderSize) return fmt("header_size " + std::to_string(h.header_size) + " != 64");
  if (h.flags != 0) return fmt("unknown header flags " + std::to_string(h.flags));
  if (h.file_size != size)
    return fmt("file_size field (" + std::to_string(h.file_size) + ") != buffer size (" +
               std::to_string(size) + "): truncated or padded file");
  if (size > kMaxModelBytes) return fmt("file larger than 1 GiB");
  if (h.meta_offset != kHeaderSize) return fmt("meta_offset " + std::to_string(h.meta_offset) + " != 64");
  if (h.meta_size == 0 || h.meta_size > size - kHeaderSize) return fmt("meta_size out of range");
  if (h.data_offset % kDataAlign != 0) return fmt("data_offset is not a multiple of 64");
  if (h.data_offset < h.meta_offset + h.meta_size || h.data_offset > size)
    return fmt("data_offset out of range");
  if (h.data_size != size - h.data_offset) return fmt("data_offset + data_size != file_size");
  if (crc32_update(0, data + kHeaderSize, size - kHeaderSize) != h.crc32)
    return fmt("CRC mismatch: the file is corrupt");
  for (uint64_t i = h.meta_offset + h.meta_size; i < h.data_offset; ++i)
    if (data[i] != 0) return fmt("non-zero padding between the metadata and the data section");

  Model m;
  m.bytes.reset(static_cast<uint8_t*>(::operator new[](size, std::align_val_t(kDataAlign), std::nothrow)));
  if (!m.bytes) return Status(FACEATTR_ERR_OUT_OF_MEMORY, "model: cannot allocate a copy of the model bytes");
  std::memcpy(m.bytes.get(), data, size);
  m.size = size;
  const uint8_t* base = m.bytes.get();
  const uint8_t* meta = base + h.meta_offset;

  flatbuffers::Verifier verifier(meta, static_cast<size_t>(h.meta_size));
  if (!fb::VerifyModelBuffer(verifier)) return fmt("metadata FlatBuffer failed verification");
  const fb::Model* fm = fb::GetModel(meta);

  m.kind = str_of(fm->kind());
  m.name = str_of(fm->name());
  m.description = str_of(fm->description());
  m.input_width = fm->input_width();
  m.input_height = fm->input_height();
  if (fm->input_channels() != 3) return fmt("input_channels must be 3");
  if (fm->mean() == nullptr || fm->mean()->size() != 3 || fm->std() == nullptr || fm->std()->size() != 3)
    return fmt("mean and std must have 3 entries");
  for (int c = 0; c < 3; ++c) {
    m.mean[c] = fm->mean()->Get(c);
    m.std[c] = fm->std()->Get(c);
    if (!std::isfinite(m.mean[c]) || !(m.std[c] > 0.0f) || !std::isfinite(m.std[c]))
      return fmt("mean must be finite and std positive and finite");
  }
  if (fm->attribute_names())
    for (const flatbuffers::String* s : *fm->attribute_names()) m.attribute_names.push_back(str_of(s));
  copy_vec(fm->thresholds(), &m.thresholds);
  copy_vec(fm->balanced_thresholds(), &m.balanced_thresholds);
  if (fm->metadata())
    for (const fb::KeyValue* kv : *fm->metadata())
      m.metadata.emplace_back(str_of(kv->key()), str_of(kv->value()));

  const fb::Network* net = fm->network();
  if (net == nullptr || net->tensors() == nullptr || net->nodes() == nullptr) return fmt("missing network");
  if (net->tensors()->size() > kMaxTensors || net->nodes()->size() > kMaxNodes)
    return fmt("too many tensors or nodes");
  m.tensors.resize(net->tensors()->size());
  for (size_t i = 0; i < m.tensors.size(); ++i)
    FACEATTR_RETURN_IF_ERROR(convert_tensor(net->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i)), i,
                                            base + h.data_offset, h.data_size, &m.tensors[i]));
  m.nodes.resize(net->nodes()->size());
  for (size_t i = 0; i < m.nodes.size(); ++i)
    FACEATTR_RETURN_IF_ERROR(
        convert_node(net->nodes()->Get(static_cast<flatbuffers::uoffset_t>(i)), i, &m.nodes[i]));
  if (net->inputs() == nullptr || net->inputs()->size() != 1)
    return fmt("network must have exactly one input");
  m.input = net->inputs()->Get(0);
  if (net->outputs() == nullptr || net->outputs()->size() == 0) return fmt("network has no outputs");
  copy_vec(net->outputs(), &m.outputs);

  FACEATTR_RETURN_IF_ERROR(validate_graph(m));
  *out = std::move(m);
  return Status::ok();
}

}  // namespace faceattr::model
