#include "quant/folded.h"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "model/model.h"

namespace faceattr::train {

namespace fm = ::faceattr::model;

FoldedNet fold_batchnorm(ANet& net) {
  torch::NoGradGuard ng;
  FoldedNet f;
  for (auto& l : net->layers) {
    f.convs.push_back(fold_conv_bn(l));
  }
  f.fc_weight = net->head->weight.detach().to(torch::kCPU).clone();
  f.fc_bias = net->head->bias.detach().to(torch::kCPU).clone();
  return f;
}

namespace {

// A constant f32 tensor of the model as a torch tensor of its shape (copied).
torch::Tensor f32_tensor(const fm::Model& m, int i, const std::string& what) {
  if (i < 0 || static_cast<size_t>(i) >= m.tensors.size())
    throw std::runtime_error(what + ": missing tensor");
  const fm::Tensor& t = m.tensors[static_cast<size_t>(i)];
  if (!t.constant || t.dtype != fm::DType::F32 || t.data == nullptr)
    throw std::runtime_error(what + ": '" + t.name +
                             "' is not a constant f32 tensor (an fp32 model is needed)");
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  return torch::from_blob(const_cast<uint8_t*>(t.data), shape, torch::kFloat32).clone();
}

}  // namespace

FoldedNet folded_from_model_file(const std::string& path, std::string* head) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read model file " + path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  fm::Model m;
  const Status st = fm::load_model(bytes.data(), bytes.size(), &m);
  if (!st.is_ok()) throw std::runtime_error(path + ": " + st.message());
  if (m.kind != "anet") throw std::runtime_error(path + ": not an ANet model (kind '" + m.kind + "')");
  if (head) {
    const char* h = m.find_metadata("head");
    *head = h ? h : "";
  }
  FoldedNet net;
  bool pooled = false, fc = false, sigmoid = false;
  for (const fm::Node& n : m.nodes) {
    const std::string where = path + ": node '" + n.name + "'";
    if (sigmoid) throw std::runtime_error(where + " after the sigmoid");
    switch (n.op) {
      case fm::Op::Conv2d: {
        if (pooled) throw std::runtime_error(where + ": a convolution after the pooling");
        if (n.pad_top != n.pad_left || n.pad_top != n.pad_bottom || n.pad_top != n.pad_right ||
            n.stride_h != n.stride_w || n.kernel_h != n.kernel_w)
          throw std::runtime_error(where + ": only square kernels, strides and symmetric padding");
        if (n.act != fm::Act::Relu && n.act != fm::Act::None)
          throw std::runtime_error(where + ": only ReLU or no activation");
        FoldedConv c;
        c.weight = f32_tensor(m, n.inputs.at(1), where).permute({0, 3, 1, 2}).contiguous();  // OHWI -> OIHW
        c.bias = n.inputs.size() > 2 && n.inputs[2] >= 0 ? f32_tensor(m, n.inputs[2], where)
                                                         : torch::zeros({c.weight.size(0)});
        c.stride = n.stride_h;
        c.pad = n.pad_top;
        c.groups = n.groups;
        c.relu = n.act == fm::Act::Relu;
        net.convs.push_back(c);
        break;
      }
      case fm::Op::GlobalAvgPool:
        if (pooled || net.convs.empty()) throw std::runtime_error(where + ": unexpected pooling");
        pooled = true;
        break;
      case fm::Op::FullyConnected:
        if (!pooled || fc) throw std::runtime_error(where + ": unexpected fully connected layer");
        if (n.act != fm::Act::None) throw std::runtime_error(where + ": fused activation on the logits");
        net.fc_weight = f32_tensor(m, n.inputs.at(1), where);
        net.fc_bias = n.inputs.size() > 2 && n.inputs[2] >= 0 ? f32_tensor(m, n.inputs[2], where)
                                                              : torch::zeros({net.fc_weight.size(0)});
        fc = true;
        break;
      case fm::Op::Sigmoid:
        if (!fc) throw std::runtime_error(where + ": sigmoid before the logits");
        sigmoid = true;
        break;
      default:
        throw std::runtime_error(where + ": op " + fm::op_name(n.op) + " is not part of an fp32 ANet");
    }
  }
  if (!sigmoid) throw std::runtime_error(path + ": not conv.. -> pool -> fc -> sigmoid");
  return net;
}

torch::Tensor folded_forward(const std::vector<FoldedConv>& convs, const torch::Tensor& x,
                             std::vector<torch::Tensor>* acts) {
  torch::NoGradGuard ng;
  auto h = x;
  for (const auto& c : convs) {
    h = torch::conv2d(h, c.weight, c.bias, c.stride, c.pad, 1, c.groups);
    if (c.relu) h = torch::relu(h);
    if (acts) acts->push_back(h);
  }
  return h;
}

torch::Tensor FoldedNet::logits(const torch::Tensor& x, std::vector<torch::Tensor>* acts) const {
  torch::NoGradGuard ng;
  auto h = folded_forward(convs, x, acts).mean({2, 3});
  if (acts) acts->push_back(h);
  auto out = torch::addmm(fc_bias, h, fc_weight.t());
  if (acts) acts->push_back(out);
  return out;
}

}  // namespace faceattr::train
