// Writer/reader of the .fam container (docs/model-format.md) for the tools.
// The SDK has its own exception-free reader in sdk/src/model.
#include "model_def.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "faceattr_model_generated.h"
#include "model/file_header.h"
#include "model/model.h"
#include "util/bytes.h"
#include "util/crc32.h"

namespace faceattr::modelfile {
namespace {

// The container's layout, CRC and dtype sizes are the SDK's (sdk/src/model, sdk/src/util).
using model::dtype_size;
using model::kDataAlign;
using model::kHeaderSize;

size_t align_up(size_t v) { return (v + kDataAlign - 1) / kDataAlign * kDataAlign; }

template <class E>
[[noreturn]] void fail(const std::string& what) {
  throw E(what);
}

// Number of elements, or throws when a dimension is not positive or the product overflows.
template <class E>
size_t element_count(const TensorDef& t) {
  if (t.shape.empty()) fail<E>("tensor '" + t.name + "': empty shape");
  size_t n = 1;
  for (int d : t.shape) {
    if (d <= 0) fail<E>("tensor '" + t.name + "': non-positive dimension " + std::to_string(d));
    if (n > (size_t{1} << 40) / static_cast<size_t>(d)) fail<E>("tensor '" + t.name + "': too many elements");
    n *= static_cast<size_t>(d);
  }
  return n;
}

int expected_inputs_min(Op op) {
  switch (op) {
    case Op::Conv2d:
    case Op::FullyConnected:
      return 2;
    case Op::Add:
      return 2;
    case Op::Concat:
      return 1;
    default:
      return 1;
  }
}

int expected_inputs_max(Op op) {
  switch (op) {
    case Op::Conv2d:
    case Op::FullyConnected:
      return 3;
    case Op::Add:
      return 2;
    case Op::Concat:
      return 1 << 16;
    default:
      return 1;
  }
}

// Structural checks shared by serialize (std::invalid_argument) and parse (std::runtime_error).
// Shape inference per op is the SDK loader's job; here we check what a writer can get wrong
// without knowing the ops' semantics.
template <class E>
void check_model(const ModelDef& m) {
  if (m.kind != "anet" && m.kind != "lnet")
    fail<E>("model kind must be \"anet\" or \"lnet\", got \"" + m.kind + "\"");
  if (m.input_width <= 0 || m.input_height <= 0) fail<E>("input size must be positive");
  if (m.input_channels != 3) fail<E>("input_channels must be 3");
  if (m.mean.size() != 3 || m.std.size() != 3) fail<E>("mean and std must have 3 entries");
  for (float s : m.std)
    if (!(s > 0.0f)) fail<E>("std entries must be positive");
  if (m.attribute_names.size() != m.thresholds.size())
    fail<E>("attribute_names (" + std::to_string(m.attribute_names.size()) + ") and thresholds (" +
            std::to_string(m.thresholds.size()) + ") differ in count");
  if (!m.balanced_thresholds.empty() && m.balanced_thresholds.size() != m.attribute_names.size())
    fail<E>("attribute_names (" + std::to_string(m.attribute_names.size()) + ") and balanced_thresholds (" +
            std::to_string(m.balanced_thresholds.size()) + ") differ in count");
  const int n_tensors = static_cast<int>(m.tensors.size());
  for (const TensorDef& t : m.tensors) {
    const size_t n = element_count<E>(t);
    if (t.dtype != DType::F32) {
      if (t.scales.empty()) fail<E>("tensor '" + t.name + "': int8/int32 tensor without quantisation");
      if (t.scales.size() != 1 && t.scales.size() != static_cast<size_t>(t.shape[0]))
        fail<E>("tensor '" + t.name + "': scale count must be 1 or shape[0]");
    }
    if (t.scales.size() != t.zero_points.size())
      fail<E>("tensor '" + t.name + "': scale and zero_point counts differ");
    for (float s : t.scales)
      if (!(s > 0.0f) || s == std::numeric_limits<float>::infinity())
        fail<E>("tensor '" + t.name + "': quantisation scale must be positive and finite");
    if (t.constant() && t.data.size() != n * dtype_size(t.dtype))
      fail<E>("tensor '" + t.name + "': data has " + std::to_string(t.data.size()) +
              " bytes, shape and dtype need " + std::to_string(n * dtype_size(t.dtype)));
  }
  auto check_index = [&](int i, const std::string& where, bool allow_absent) {
    if (allow_absent && i == -1) return;
    if (i < 0 || i >= n_tensors) fail<E>(where + ": tensor index " + std::to_string(i) + " out of range");
  };
  for (const NodeDef& n : m.nodes) {
    const std::string where = "node '" + n.name + "'";
    const int op = static_cast<int>(n.op);
    if (op < 0 || op > static_cast<int>(Op::Dequantize))
      fail<E>(where + ": unknown op " + std::to_string(op));
    const int n_in = static_cast<int>(n.inputs.size());
    if (n_in < expected_inputs_min(n.op) || n_in > expected_inputs_max(n.op))
      fail<E>(where + ": wrong number of inputs (" + std::to_string(n_in) + ")");
    for (int k = 0; k < n_in; ++k) {
      const bool optional_bias = (n.op == Op::Conv2d || n.op == Op::FullyConnected) && k == 2;
      check_index(n.inputs[k], where, optional_bias);
    }
    check_index(n.output, where, false);
    if (m.tensors[n.output].constant()) fail<E>(where + ": output tensor is a constant");
    const int act = static_cast<int>(n.act);
    if (act < 0 || act > static_cast<int>(Act::LeakyRelu)) fail<E>(where + ": unknown activation");
  }
  if (m.inputs.size() != 1) fail<E>("network must have exactly one input");
  if (m.outputs.empty()) fail<E>("network must have at least one output");
  for (int i : m.inputs) check_index(i, "network input", false);
  for (int i : m.outputs) check_index(i, "network output", false);
}

void append_le32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  store_le32(b, v);
  out.insert(out.end(), b, b + 4);
}

flatbuffers::Offset<void> node_attrs(flatbuffers::FlatBufferBuilder& fbb, const NodeDef& n,
                                     fb::NodeAttrs* type) {
  switch (n.op) {
    case Op::Conv2d:
      *type = fb::NodeAttrs::Conv2dAttrs;
      return fb::CreateConv2dAttrs(fbb, n.kernel_h, n.kernel_w, n.stride_h, n.stride_w, n.pad_top, n.pad_left,
                                   n.pad_bottom, n.pad_right, 1, 1, n.groups)
          .Union();
    case Op::MaxPool2d:
    case Op::AvgPool2d:
      *type = fb::NodeAttrs::PoolAttrs;
      return fb::CreatePoolAttrs(fbb, n.kernel_h, n.kernel_w, n.stride_h, n.stride_w, n.pad_top, n.pad_left,
                                 n.pad_bottom, n.pad_right)
          .Union();
    case Op::Concat:
      *type = fb::NodeAttrs::ConcatAttrs;
      return fb::CreateConcatAttrs(fbb, n.axis).Union();
    default:
      *type = fb::NodeAttrs::NONE;
      return 0;
  }
}

[[noreturn]] void parse_fail(const std::string& what) { throw std::runtime_error("model file: " + what); }

std::string str_of(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

template <class T, class U>
std::vector<T> vec_of(const flatbuffers::Vector<U>* v) {
  std::vector<T> out;
  if (v) {
    out.reserve(v->size());
    for (auto x : *v) out.push_back(static_cast<T>(x));
  }
  return out;
}

}  // namespace

int ModelDef::add_activation(const std::string& name, std::vector<int> shape, DType dtype, float scale,
                             int32_t zero_point) {
  TensorDef t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (dtype != DType::F32) {
    t.scales = {scale};
    t.zero_points = {zero_point};
  }
  return add_tensor(std::move(t));
}

int ModelDef::add_const_f32(const std::string& name, std::vector<int> shape,
                            const std::vector<float>& values) {
  TensorDef t;
  t.name = name;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  t.data.reserve(values.size() * 4);
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    append_le32(t.data, bits);
  }
  return add_tensor(std::move(t));
}

int ModelDef::add_const_i8(const std::string& name, std::vector<int> shape, const std::vector<int8_t>& values,
                           std::vector<float> scales) {
  TensorDef t;
  t.name = name;
  t.dtype = DType::I8;
  t.shape = std::move(shape);
  t.zero_points.assign(scales.size(), 0);
  t.scales = std::move(scales);
  t.data.resize(values.size());
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), values.size());
  return add_tensor(std::move(t));
}

int ModelDef::add_const_i32(const std::string& name, std::vector<int> shape,
                            const std::vector<int32_t>& values, std::vector<float> scales) {
  TensorDef t;
  t.name = name;
  t.dtype = DType::I32;
  t.shape = std::move(shape);
  t.zero_points.assign(scales.size(), 0);
  t.scales = std::move(scales);
  t.data.reserve(values.size() * 4);
  for (int32_t v : values) append_le32(t.data, static_cast<uint32_t>(v));
  return add_tensor(std::move(t));
}

NodeDef conv2d_node(const std::string& name, int x, int weight, int bias, int output, int kernel, int stride,
                    std::array<int, 4> pads, int groups, Act act) {
  NodeDef n;
  n.name = name;
  n.op = Op::Conv2d;
  n.inputs = {x, weight, bias};
  n.output = output;
  n.kernel_h = n.kernel_w = kernel;
  n.stride_h = n.stride_w = stride;
  n.pad_top = pads[0], n.pad_left = pads[1], n.pad_bottom = pads[2], n.pad_right = pads[3];
  n.groups = groups;
  n.act = act;
  return n;
}

const std::string* ModelDef::find_metadata(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

std::vector<uint8_t> serialize(const ModelDef& m) {
  check_model<std::invalid_argument>(m);
  for (size_t i = 0; i < m.metadata.size(); ++i)
    for (size_t j = i + 1; j < m.metadata.size(); ++j)
      if (m.metadata[i].first == m.metadata[j].first)
        throw std::invalid_argument("duplicate metadata key '" + m.metadata[i].first + "'");

  // Data section layout: each constant 64-byte aligned relative to the section start.
  std::vector<uint64_t> offsets(m.tensors.size(), 0);
  size_t data_size = 0;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    if (!m.tensors[i].constant()) continue;
    data_size = align_up(data_size);
    offsets[i] = data_size;
    data_size += m.tensors[i].data.size();
  }

  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorDef& t = m.tensors[i];
    flatbuffers::Offset<fb::Quant> quant = 0;
    if (!t.scales.empty()) quant = fb::CreateQuantDirect(fbb, &t.scales, &t.zero_points);
    tensors.push_back(fb::CreateTensorDirect(fbb, t.name.c_str(), t.dtype, &t.shape, quant, t.constant(),
                                             offsets[i], t.data.size()));
  }
  std::vector<flatbuffers::Offset<fb::Node>> nodes;
  for (const NodeDef& n : m.nodes) {
    fb::NodeAttrs type = fb::NodeAttrs::NONE;
    auto attrs = node_attrs(fbb, n, &type);
    std::vector<int32_t> outputs = {n.output};
    nodes.push_back(fb::CreateNodeDirect(fbb, n.name.c_str(), n.op, &n.inputs, &outputs, type, attrs, n.act,
                                         n.leaky_alpha));
  }
  auto network = fb::CreateNetworkDirect(fbb, &tensors, &nodes, &m.inputs, &m.outputs);
  std::vector<flatbuffers::Offset<flatbuffers::String>> names;
  for (const auto& s : m.attribute_names) names.push_back(fbb.CreateString(s));
  std::vector<flatbuffers::Offset<fb::KeyValue>> kvs;
  for (const auto& kv : m.metadata)
    kvs.push_back(fb::CreateKeyValueDirect(fbb, kv.first.c_str(), kv.second.c_str()));
  // Optional: left out when empty, so that files without it stay byte for byte as before.
  flatbuffers::Offset<flatbuffers::Vector<float>> balanced = 0;
  if (!m.balanced_thresholds.empty()) balanced = fbb.CreateVector(m.balanced_thresholds);
  auto root = fb::CreateModel(fbb, fbb.CreateString(m.kind), fbb.CreateString(m.name),
                              fbb.CreateString(m.description), m.input_width, m.input_height,
                              m.input_channels, fbb.CreateVector(m.mean), fbb.CreateVector(m.std),
                              fbb.CreateVector(names), fbb.CreateVector(m.thresholds), network,
                              fbb.CreateVectorOfSortedTables(&kvs), balanced);
  fb::FinishModelBuffer(fbb, root);

  const size_t meta_size = fbb.GetSize();
  const size_t data_offset = align_up(kHeaderSize + meta_size);
  const size_t file_size = data_offset + data_size;
  std::vector<uint8_t> out(file_size, 0);
  std::memcpy(out.data() + kHeaderSize, fbb.GetBufferPointer(), meta_size);
  for (size_t i = 0; i < m.tensors.size(); ++i)
    if (m.tensors[i].constant())
      std::memcpy(out.data() + data_offset + offsets[i], m.tensors[i].data.data(), m.tensors[i].data.size());

  model::FileHeader h;
  h.meta_size = meta_size;
  h.data_offset = data_offset;
  h.data_size = data_size;
  h.file_size = file_size;
  h.crc32 = crc32_update(0, out.data() + kHeaderSize, file_size - kHeaderSize);
  model::write_file_header(h, out.data());
  return out;
}

ModelDef parse(const uint8_t* data, size_t size) {
  if (data == nullptr) parse_fail("null buffer");
  if (size < kHeaderSize) parse_fail("too short (" + std::to_string(size) + " bytes) for the 64-byte header");
  if (!model::has_file_magic(data)) parse_fail("bad magic (not a faceattr model)");
  const model::FileHeader h = model::read_file_header(data);
  if (h.format_version != kFormatVersion)
    parse_fail("format version " + std::to_string(h.format_version) + " not supported (this reader knows " +
               std::to_string(kFormatVersion) + ")");
  if (h.header_size != kHeaderSize) parse_fail("header_size " + std::to_string(h.header_size) + " != 64");
  if (h.flags != 0) parse_fail("unknown flags " + std::to_string(h.flags));
  if (h.file_size != size)
    parse_fail("file_size field " + std::to_string(h.file_size) + " != buffer size " + std::to_string(size) +
               " (truncated or padded file)");
  if (h.meta_offset != kHeaderSize) parse_fail("meta_offset must be 64");
  if (h.meta_size == 0 || h.meta_size > size - h.meta_offset) parse_fail("meta_size out of range");
  if (h.data_offset % kDataAlign != 0) parse_fail("data_offset is not a multiple of 64");
  if (h.data_offset < h.meta_offset + h.meta_size || h.data_offset > size)
    parse_fail("data_offset out of range");
  if (h.data_size != size - h.data_offset) parse_fail("data_offset + data_size != file_size");
  if (crc32_update(0, data + kHeaderSize, size - kHeaderSize) != h.crc32)
    parse_fail("CRC mismatch (corrupt file)");
  for (uint64_t i = h.meta_offset + h.meta_size; i < h.data_offset; ++i)
    if (data[i] != 0) parse_fail("non-zero padding between the metadata and the data section");

  // The FlatBuffer must be aligned for the verifier; copy it when the caller's buffer is not.
  std::vector<uint8_t> meta_copy;
  const uint8_t* meta = data + h.meta_offset;
  if (reinterpret_cast<uintptr_t>(meta) % 8 != 0) {
    meta_copy.assign(meta, meta + h.meta_size);
    meta = meta_copy.data();
  }
  flatbuffers::Verifier verifier(meta, h.meta_size);
  if (!fb::VerifyModelBuffer(verifier)) parse_fail("metadata FlatBuffer failed verification");
  const fb::Model* fm = fb::GetModel(meta);
  const fb::Network* net = fm->network();
  if (net == nullptr || net->tensors() == nullptr || net->nodes() == nullptr) parse_fail("missing network");

  ModelDef m;
  m.kind = str_of(fm->kind());
  m.name = str_of(fm->name());
  m.description = str_of(fm->description());
  m.input_width = fm->input_width();
  m.input_height = fm->input_height();
  m.input_channels = fm->input_channels();
  m.mean = vec_of<float>(fm->mean());
  m.std = vec_of<float>(fm->std());
  m.thresholds = vec_of<float>(fm->thresholds());
  m.balanced_thresholds = vec_of<float>(fm->balanced_thresholds());
  if (fm->attribute_names())
    for (const flatbuffers::String* s : *fm->attribute_names()) m.attribute_names.push_back(str_of(s));
  if (fm->metadata())
    for (const fb::KeyValue* kv : *fm->metadata())
      m.metadata.emplace_back(str_of(kv->key()), str_of(kv->value()));

  const uint8_t* section = data + h.data_offset;
  for (const fb::Tensor* ft : *net->tensors()) {
    TensorDef t;
    t.name = str_of(ft->name());
    const int dt = static_cast<int>(ft->dtype());
    if (dt < 0 || dt > 2) parse_fail("tensor '" + t.name + "': unknown dtype " + std::to_string(dt));
    t.dtype = static_cast<DType>(dt);
    t.shape = vec_of<int>(ft->shape());
    if (ft->quant()) {
      t.scales = vec_of<float>(ft->quant()->scale());
      t.zero_points = vec_of<int32_t>(ft->quant()->zero_point());
    }
    if (ft->constant()) {
      const uint64_t off = ft->data_offset(), n = ft->data_size();
      if (off % kDataAlign != 0) parse_fail("tensor '" + t.name + "': data_offset not 64-byte aligned");
      if (n == 0 || off > h.data_size || n > h.data_size - off)
        parse_fail("tensor '" + t.name + "': data out of range");
      t.data.assign(section + off, section + off + n);
    } else if (ft->data_size() != 0) {
      parse_fail("tensor '" + t.name + "': non-constant tensor with data");
    }
    m.tensors.push_back(std::move(t));
  }
  for (const fb::Node* fn : *net->nodes()) {
    NodeDef n;
    n.name = str_of(fn->name());
    const int op = static_cast<int>(fn->op());
    if (op > static_cast<int>(Op::Dequantize))
      parse_fail("node '" + n.name + "': unknown op " + std::to_string(op));
    n.op = static_cast<Op>(op);
    n.inputs = vec_of<int>(fn->inputs());
    if (fn->outputs() == nullptr || fn->outputs()->size() != 1)
      parse_fail("node '" + n.name + "': needs exactly one output");
    n.output = fn->outputs()->Get(0);
    const int act = static_cast<int>(fn->activation());
    if (act < 0 || act > 3) parse_fail("node '" + n.name + "': unknown activation " + std::to_string(act));
    n.act = static_cast<Act>(act);
    n.leaky_alpha = fn->leaky_alpha();
    if (n.op == Op::Conv2d) {
      const fb::Conv2dAttrs* a = fn->attrs_as_Conv2dAttrs();
      if (a == nullptr) parse_fail("node '" + n.name + "': Conv2d without Conv2dAttrs");
      if (a->dilation_h() != 1 || a->dilation_w() != 1)
        parse_fail("node '" + n.name + "': dilation other than 1");
      n.kernel_h = a->kernel_h(), n.kernel_w = a->kernel_w(), n.stride_h = a->stride_h(),
      n.stride_w = a->stride_w();
      n.pad_top = a->pad_top(), n.pad_left = a->pad_left(), n.pad_bottom = a->pad_bottom(),
      n.pad_right = a->pad_right(), n.groups = a->groups();
    } else if (n.op == Op::MaxPool2d || n.op == Op::AvgPool2d) {
      const fb::PoolAttrs* a = fn->attrs_as_PoolAttrs();
      if (a == nullptr) parse_fail("node '" + n.name + "': pool without PoolAttrs");
      n.kernel_h = a->kernel_h(), n.kernel_w = a->kernel_w(), n.stride_h = a->stride_h(),
      n.stride_w = a->stride_w();
      n.pad_top = a->pad_top(), n.pad_left = a->pad_left(), n.pad_bottom = a->pad_bottom(),
      n.pad_right = a->pad_right();
    } else if (n.op == Op::Concat) {
      const fb::ConcatAttrs* a = fn->attrs_as_ConcatAttrs();
      n.axis = a ? a->axis() : 3;
    }
    m.nodes.push_back(std::move(n));
  }
  m.inputs = vec_of<int>(net->inputs());
  m.outputs = vec_of<int>(net->outputs());
  try {
    check_model<std::runtime_error>(m);
  } catch (const std::runtime_error& e) {
    parse_fail(e.what());
  }
  return m;
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + err);
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot flush " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + err);
  }
  // Make the rename itself durable.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<uint8_t> read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) throw std::runtime_error("cannot read " + path);
  return out;
}

}  // namespace faceattr::modelfile
