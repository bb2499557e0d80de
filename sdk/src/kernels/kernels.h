// Kernel interface between the graph executor (sdk/src/graph) and the kernel
// families (reference/, xnnpack/, simd/). One factory per op; the choice of
// family happens only in dispatch.cpp.
//
// Life cycle (XNNPACK-style): make_*() packs weights once; bind() fixes the
// input/output pointers (the executor's arena never moves, so it is called
// once at plan time); run() executes and must not allocate.
//
// Inputs and outputs must stay readable for kInputSlackBytes past their last
// element: optimised kernels (XNNPACK's XNN_EXTRA_BYTES) load whole vectors at
// the tail, and multipass max pooling re-reads its output.
// The executor's arena guarantees it; callers binding their own buffers must too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace faceattr {
class ThreadPool;  // util/thread_pool.h
}

namespace faceattr::kernels {

// Readable bytes required after every kernel input (see the life-cycle note above).
inline constexpr size_t kInputSlackBytes = 64;

enum class Family { Reference, Xnnpack, Simd };
const char* family_name(Family f);
bool family_available(Family f);

// What the simd family runs on this CPU (faceattr_get_simd_info): Highway's
// target, every target compiled in (best first, space-separated), how int8
// convolutions multiply there, and the vector width. Empty and 0 without it.
struct SimdTargetInfo {
  const char* target = "";
  const char* compiled = "";
  const char* int8_path = "";
  int vector_bits = 0;
};
namespace simd {
SimdTargetInfo target_info();
}

enum class DType { F32, I8 };
enum class Act { None, Relu, Relu6, LeakyRelu };

// int8 activation quantisation: real = scale * (q - zero_point).
struct QParam {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// Shared execution resources, owned by the session.
struct ExecContext {
  int n_threads = 1;
  ThreadPool* pool = nullptr;      // for reference/simd kernels; may be null (serial)
  void* xnn_threadpool = nullptr;  // pthreadpool_t for XNNPACK kernels; may be null
};

struct Conv2dDesc {
  int batch = 1;
  int in_h = 0, in_w = 0, in_c = 0;
  int out_h = 0, out_w = 0, out_c = 0;  // out_h/out_w follow from the rest; kept for checks
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;
  Act act = Act::None;
  float leaky_alpha = 0.01f;
  DType dtype = DType::F32;
  QParam in_q, out_q;  // int8 only
};

// Weights in the model file's layout, not owned (kernels copy/pack what they keep).
//  f32: weights float[out_c][kh][kw][in_c/groups], bias float[out_c] or null.
//  i8:  weights int8 same layout, w_scales float[out_c] (symmetric),
//       bias int32[out_c] (scale in_q.scale * w_scales[oc]) or null.
struct ConvWeights {
  const void* weights = nullptr;
  const float* w_scales = nullptr;
  const void* bias = nullptr;
};

// y[b][o] = act(sum_i x[b][i] * w[o][i] + bias[o]); same dtype rules as conv.
struct FullyConnectedDesc {
  int batch = 1;
  int in_features = 0, out_features = 0;
  Act act = Act::None;
  float leaky_alpha = 0.01f;
  DType dtype = DType::F32;
  QParam in_q, out_q;
};

enum class PoolKind { Max, Average };  // Average never counts padding
struct Pool2dDesc {
  PoolKind kind = PoolKind::Max;
  int batch = 1;
  int in_h = 0, in_w = 0, channels = 0;
  int out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  DType dtype = DType::F32;
  QParam in_q, out_q;  // int8: max pool requires in_q == out_q
};

struct GlobalAvgPoolDesc {
  int batch = 1, in_h = 0, in_w = 0, channels = 0;
  DType dtype = DType::F32;
  QParam in_q, out_q;
};

// Elementwise ops over `size` elements (batch included).
struct AddDesc {
  size_t size = 0;
  Act act = Act::None;
  float leaky_alpha = 0.01f;
  DType dtype = DType::F32;
  QParam a_q, b_q, out_q;
};

struct UnaryDesc {  // Sigmoid, Activation, Quantize (f32->i8), Dequantize (i8->f32)
  size_t size = 0;
  Act act = Act::None;  // Activation only
  float leaky_alpha = 0.01f;
  DType dtype = DType::F32;  // Sigmoid/Activation: element type
  QParam in_q, out_q;        // int8 in/out quantisation as applicable
};

// Concatenate along channels of NHWC tensors: outer = batch*h*w rows, each
// input contributes channels[i] values per row. int8 inputs must share out_q
// (the exporter guarantees it); elements are copied.
struct ConcatDesc {
  size_t outer = 0;
  std::vector<int> channels;
  DType dtype = DType::F32;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Fixes the buffers for subsequent runs. inputs: one pointer per op input
  // (conv/fc: just x). May allocate (e.g. XNNPACK indirection buffers).
  virtual bool bind(const void* const* inputs, size_t n_inputs, void* output, const ExecContext& ctx) = 0;
  // Executes with the bound buffers. Must not allocate.
  virtual void run(const ExecContext& ctx) = 0;
};

using KernelPtr = std::unique_ptr<Kernel>;

// Factories per family. They return nullptr when the family does not support
// that descriptor (the dispatcher then falls back to the reference family).
// Each family implements these in its own folder, e.g.
// reference::make_conv2d, xnnpack::make_conv2d, simd::make_conv2d.
#define FACEATTR_KERNEL_FACTORIES                                                    \
  KernelPtr make_conv2d(const Conv2dDesc& d, const ConvWeights& w);                  \
  KernelPtr make_fully_connected(const FullyConnectedDesc& d, const ConvWeights& w); \
  KernelPtr make_pool2d(const Pool2dDesc& d);                                        \
  KernelPtr make_global_avg_pool(const GlobalAvgPoolDesc& d);                        \
  KernelPtr make_add(const AddDesc& d);                                              \
  KernelPtr make_concat(const ConcatDesc& d);                                        \
  KernelPtr make_sigmoid(const UnaryDesc& d);                                        \
  KernelPtr make_activation(const UnaryDesc& d);                                     \
  KernelPtr make_quantize(const UnaryDesc& d);                                       \
  KernelPtr make_dequantize(const UnaryDesc& d);

namespace reference {
FACEATTR_KERNEL_FACTORIES
}
namespace xnnpack {
FACEATTR_KERNEL_FACTORIES
}
namespace simd {
FACEATTR_KERNEL_FACTORIES
}

// dispatch.cpp: the one place that picks a family. Tries `preferred`, falls
// back to reference; `*used` (optional) receives the family that served.
struct Dispatch {
  Family preferred = Family::Reference;
  KernelPtr conv2d(const Conv2dDesc& d, const ConvWeights& w, Family* used = nullptr) const;
  KernelPtr fully_connected(const FullyConnectedDesc& d, const ConvWeights& w, Family* used = nullptr) const;
  KernelPtr pool2d(const Pool2dDesc& d, Family* used = nullptr) const;
  KernelPtr global_avg_pool(const GlobalAvgPoolDesc& d, Family* used = nullptr) const;
  KernelPtr add(const AddDesc& d, Family* used = nullptr) const;
  KernelPtr concat(const ConcatDesc& d, Family* used = nullptr) const;
  KernelPtr sigmoid(const UnaryDesc& d, Family* used = nullptr) const;
  KernelPtr activation(const UnaryDesc& d, Family* used = nullptr) const;
  KernelPtr quantize(const UnaryDesc& d, Family* used = nullptr) const;
  KernelPtr dequantize(const UnaryDesc& d, Family* used = nullptr) const;
};

// Shared int8 arithmetic so every family rounds the same way:
// q = clamp(round_half_away(x / scale) + zero_point, qmin, qmax).
int8_t quantize_value(float x, QParam q);
float dequantize_value(int8_t v, QParam q);
// Output clamp range in the quantised domain implied by a fused activation
// (Relu: [zp, 127]; Relu6: [zp, zp + round(6 / scale)] within [-128, 127]).
void act_qrange(Act act, QParam out_q, int32_t* qmin, int32_t* qmax);
// Float clamp range implied by a fused activation (LeakyRelu: no clamp).
void act_frange(Act act, float* fmin, float* fmax);

}  // namespace faceattr::kernels
