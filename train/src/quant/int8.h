// Post-training int8 quantisation of a FoldedNet and an exact LibTorch
// emulation of the SDK's int8 arithmetic (sdk/src/kernels: int32
// accumulation, float multiplier in_scale * w_scale / out_scale, round half
// away from zero, zero point, clamp to the fused activation's range).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/augment.h"
#include "quant/folded.h"

namespace faceattr::train {

struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

struct QLayer {           // conv or fully connected
  torch::Tensor wq;       // int8 values stored as float, same layout as the float weight
  torch::Tensor w_scale;  // [O] float
  torch::Tensor bias_q;   // [O] int32 values stored as int64
  QParams in, out;
  int stride = 1, pad = 0, groups = 1;
  bool relu = false;
};

struct QNet {
  QParams input;
  std::vector<QLayer> convs;
  QParams pooled;  // global average pool output (= last conv output)
  // The classifier runs in f32 on the dequantised pooled features, so the logits (and
  // the probabilities) are not rounded to int8 steps: [A, F] and [A].
  torch::Tensor fc_weight, fc_bias;
  // Emulated int8 network: normalised input [N,3,H,W] -> f32 logits.
  torch::Tensor logits(const torch::Tensor& x) const;
};

// Activation range observer: mean over calibration batches of the per-batch
// low/high percentiles (min/max when percentile >= 100).
struct RangeObserver {
  double percentile = 99.99;
  std::vector<double> lo, hi;
  int batches = 0;
  void observe(const std::vector<torch::Tensor>& acts);
};

// Activation ranges of a conv stack (LNet, localiser) over `n` calibration inputs, made 32
// at a time by `make(count)` ([count,3,H,W], normalised).
RangeObserver observe_conv_stack(const std::vector<FoldedConv>& convs, int n, double percentile,
                                 const std::function<torch::Tensor(int count)>& make);

// The range of normalised pixels: (0 - mean) / std .. (1 - mean) / std over the channels.
struct InputRange {
  double lo = 1e9, hi = -1e9;
};
InputRange normalised_input_range(const InputSpec& in);

QParams qparams_from_range(double lo, double hi);
// x (float) -> int8 value (as float) with round half away from zero, as the SDK.
torch::Tensor quantize_emul(const torch::Tensor& x, const QParams& q);

// Builds the int8 network. `input_lo/hi` is the range of normalised pixels;
// `ranges` holds one entry per conv output, the pooled features and the logits (unused:
// the classifier stays f32).
// `weight_qmax`: the weights' largest magnitude (127 for 8 bits, 64 for 7).
QNet quantize_net(const FoldedNet& f, double input_lo, double input_hi, const RangeObserver& ranges,
                  int weight_qmax = 127);

// Fully convolutional nets (LNet): convs only (QNet::fc/pooled unused);
// `ranges` holds one entry per conv output.
QNet quantize_conv_stack(const std::vector<FoldedConv>& convs, double input_lo, double input_hi,
                         const RangeObserver& ranges, int weight_qmax = 127);
// The largest weight magnitude for an int8_weight_bits option value (7 or 8).
int weight_qmax_for_bits(int bits);
// The weights' part of a model's "quantization" metadata for that option value.
std::string weight_bits_description(int bits);
// Emulated int8 conv stack: normalised input [N,3,H,W] -> dequantised last conv output [N,C,h,w].
torch::Tensor conv_stack_dequantized(const QNet& q, const torch::Tensor& x);

}  // namespace faceattr::train
