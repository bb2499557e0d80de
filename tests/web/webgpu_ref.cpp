// Test helper module for tests/web/webgpu.test.mjs: runs ONE graph node with the
// SDK's own CPU kernels (reference or SIMD family, through graph::make_node_kernel,
// as the Network does), so the WGSL kernels of web/src/webgpu/ are checked op by op
// against the CPU on random shapes, weights and quantisation.
//
//   runNode(spec, family) -> 0 or -1 (no kernel for the node / bind failed)
//   spec: {node: {op, inputs, output, kernelH, ..., groups, act, leakyAlpha} (as
//          WebGpuStages.graph() gives), tensors: [{dtype: 'f32'|'i8'|'i32', shape,
//          scales, zeroPoints, constant, ptr}]}
// Every tensor's bytes live at `ptr` in this module's heap (inputs and constants
// filled by the caller, the output written here), with kInputSlackBytes to spare.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph/node_kernel.h"
#include "kernels/kernels.h"
#include "model/model.h"

namespace {

using emscripten::val;
using faceattr::model::Act;
using faceattr::model::DType;
using faceattr::model::Op;

Op op_of(const std::string& s) {
  static const char* const kOps[] = {
      "Conv2d", "FullyConnected", "MaxPool2d",  "AvgPool2d", "GlobalAvgPool", "Add",
      "Concat", "Sigmoid",        "Activation", "Quantize",  "Dequantize"};
  for (int i = 0; i < 11; ++i)
    if (s == kOps[i]) return static_cast<Op>(i);
  return Op::Conv2d;
}

Act act_of(const std::string& s) {
  if (s == "relu") return Act::Relu;
  if (s == "relu6") return Act::Relu6;
  if (s == "leaky_relu") return Act::LeakyRelu;
  return Act::None;
}

int run_node(val spec, int family) {
  faceattr::model::Model m;
  const val ts = spec["tensors"];
  const int nt = ts["length"].as<int>();
  for (int i = 0; i < nt; ++i) {
    const val t = ts[i];
    faceattr::model::Tensor x;
    const std::string dt = t["dtype"].as<std::string>();
    x.dtype = dt == "i8" ? DType::I8 : dt == "i32" ? DType::I32 : DType::F32;
    x.shape = emscripten::vecFromJSArray<int>(t["shape"]);
    x.elements = 1;
    for (int d : x.shape) x.elements *= static_cast<size_t>(d);
    x.scales = emscripten::vecFromJSArray<float>(t["scales"]);
    x.zero_points = emscripten::vecFromJSArray<int32_t>(t["zeroPoints"]);
    x.constant = t["constant"].as<bool>();
    x.data = reinterpret_cast<const uint8_t*>(t["ptr"].as<uintptr_t>());
    x.data_size = x.bytes();
    m.tensors.push_back(x);
  }
  const val n = spec["node"];
  faceattr::model::Node node;
  node.op = op_of(n["op"].as<std::string>());
  node.inputs = emscripten::vecFromJSArray<int>(n["inputs"]);
  node.output = n["output"].as<int>();
  node.kernel_h = n["kernelH"].as<int>(), node.kernel_w = n["kernelW"].as<int>();
  node.stride_h = n["strideH"].as<int>(), node.stride_w = n["strideW"].as<int>();
  node.pad_top = n["padTop"].as<int>(), node.pad_left = n["padLeft"].as<int>();
  node.pad_bottom = n["padBottom"].as<int>(), node.pad_right = n["padRight"].as<int>();
  node.groups = n["groups"].as<int>();
  node.axis = n["axis"].as<int>();
  node.act = act_of(n["act"].as<std::string>());
  node.leaky_alpha = n["leakyAlpha"].as<float>();
  m.nodes.push_back(node);

  faceattr::kernels::Dispatch dispatch;
  dispatch.preferred = family == 2 ? faceattr::kernels::Family::Simd : faceattr::kernels::Family::Reference;
  std::vector<float> w_scales;
  faceattr::kernels::KernelPtr kernel;
  faceattr::kernels::Family used;
  if (!faceattr::graph::make_node_kernel(m, 0, dispatch, &w_scales, &kernel, &used).is_ok()) return -1;
  std::vector<const void*> ins;
  const size_t nb = faceattr::graph::bound_input_count(node);
  for (size_t i = 0; i < nb; ++i) ins.push_back(m.tensors[static_cast<size_t>(node.inputs[i])].data);
  faceattr::kernels::ExecContext ctx;
  void* out = const_cast<uint8_t*>(m.tensors[static_cast<size_t>(node.output)].data);
  if (!kernel->bind(ins.data(), ins.size(), out, ctx)) return -1;
  kernel->run(ctx);
  return 0;
}

}  // namespace

EMSCRIPTEN_BINDINGS(faceattr_webgpu_ref) { emscripten::function("runNode", &run_node); }
