// A fully convolutional network planned at another input size (model::reshape_input).
#include <string>

#include "model/model.h"

namespace faceattr::model {

namespace {

int window_side(int in, int k, int s, int p0, int p1) {
  const long long span = static_cast<long long>(in) + p0 + p1;
  if (k <= 0 || s <= 0 || span < k) return -1;
  return static_cast<int>((span - k) / s + 1);
}

}  // namespace

Status reshape_input(Model* m, int width, int height) {
  if (!m || width < 1 || height < 1 || m->input < 0)
    return Status(FACEATTR_ERR_INVALID_ARGUMENT, "reshape_input: no model or a non-positive size");
  std::vector<Tensor>& t = m->tensors;
  t[static_cast<size_t>(m->input)].shape = {1, height, width, 3};
  for (const Node& n : m->nodes) {
    const std::vector<int>& x = t[static_cast<size_t>(n.inputs[0])].shape;
    std::vector<int>& y = t[static_cast<size_t>(n.output)].shape;
    switch (n.op) {
      case Op::Conv2d:
      case Op::MaxPool2d:
      case Op::AvgPool2d: {
        const int oh = window_side(x[1], n.kernel_h, n.stride_h, n.pad_top, n.pad_bottom);
        const int ow = window_side(x[2], n.kernel_w, n.stride_w, n.pad_left, n.pad_right);
        if (oh < 1 || ow < 1)
          return model_format_error("reshape_input: node '" + n.name + "' has no output at input " +
                                    std::to_string(width) + "x" + std::to_string(height));
        const int c = n.op == Op::Conv2d ? t[static_cast<size_t>(n.inputs[1])].shape[0] : x[3];
        y = {x[0], oh, ow, c};
        break;
      }
      case Op::GlobalAvgPool:
        y = {x[0], 1, 1, x[3]};
        break;
      case Op::FullyConnected:
        break;  // [N, out]: validate_graph refuses an input whose size no longer matches
      case Op::Concat: {
        int c = 0;
        for (int i : n.inputs) c += t[static_cast<size_t>(i)].shape[3];
        y = {x[0], x[1], x[2], c};
        break;
      }
      case Op::Add:
      case Op::Sigmoid:
      case Op::Activation:
      case Op::Quantize:
      case Op::Dequantize:
        y = x;
        break;
    }
  }
  for (Tensor& tt : t) {
    if (tt.constant) continue;
    size_t e = 1;
    for (int d : tt.shape) {
      if (d < 1 || e > kMaxTensorElements)
        return model_format_error("reshape_input: tensor '" + tt.name + "' is empty or too large");
      e *= static_cast<size_t>(d);
    }
    if (e > kMaxTensorElements)
      return model_format_error("reshape_input: tensor '" + tt.name + "' is too large");
    tt.elements = e;
  }
  m->input_width = width;
  m->input_height = height;
  return validate_graph(*m);
}

}  // namespace faceattr::model
