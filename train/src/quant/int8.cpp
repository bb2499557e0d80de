#include "quant/int8.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace faceattr::train {
namespace {

torch::Tensor round_half_away(const torch::Tensor& x) {
  auto d = x.to(torch::kFloat64);
  return (torch::sign(d) * torch::floor(d.abs() + 0.5)).to(x.scalar_type());
}

// Float32 ops on full tensors (never a CPU-scalar operand) so every
// product/quotient rounds like the SDK's scalar C++ float code.
torch::Tensor full_f32(const torch::Tensor& like, float v) {
  return torch::full_like(like, v, torch::kFloat32);
}

// acc (exact integers, double) -> int8 values (float) for a layer.
torch::Tensor requantize(const torch::Tensor& acc, const QLayer& l, int channel_dim) {
  const int64_t O = l.w_scale.size(0);
  auto mult = (torch::full({O}, l.in.scale, torch::kFloat32) * l.w_scale) /
              torch::full({O}, l.out.scale, torch::kFloat32);
  std::vector<int64_t> shape(static_cast<size_t>(acc.dim()), 1);
  shape[static_cast<size_t>(channel_dim)] = O;
  auto scaled = acc.to(torch::kFloat32) * mult.view(shape).expand_as(acc).contiguous();
  auto r = round_half_away(scaled) + full_f32(scaled, static_cast<float>(l.out.zero_point));
  const double qmin = l.relu ? std::max(-128, l.out.zero_point) : -128;
  return r.clamp(qmin, 127);
}

}  // namespace

QParams qparams_from_range(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (hi - lo < 1e-8) hi = lo + 1e-8;
  QParams q;
  q.scale = static_cast<float>((hi - lo) / 255.0);
  const double zp = -128.0 - lo / static_cast<double>(q.scale);
  q.zero_point = static_cast<int32_t>(std::clamp(std::round(zp), -128.0, 127.0));
  return q;
}

torch::Tensor quantize_emul(const torch::Tensor& x, const QParams& q) {
  auto xf = x.to(torch::kFloat32);
  auto r = round_half_away(xf / full_f32(xf, q.scale)) + full_f32(xf, static_cast<float>(q.zero_point));
  return r.clamp(-128, 127);
}

RangeObserver observe_conv_stack(const std::vector<FoldedConv>& convs, int n, double percentile,
                                 const std::function<torch::Tensor(int count)>& make) {
  RangeObserver obs;
  obs.percentile = percentile;
  for (int done = 0; done < n; done += 32) {
    std::vector<torch::Tensor> acts;
    folded_forward(convs, make(std::min(32, n - done)), &acts);
    obs.observe(acts);
  }
  return obs;
}

InputRange normalised_input_range(const InputSpec& in) {
  InputRange r;
  for (int c = 0; c < 3; ++c) {
    r.lo = std::min(r.lo, static_cast<double>((0 - in.mean[c]) / in.std[c]));
    r.hi = std::max(r.hi, static_cast<double>((1 - in.mean[c]) / in.std[c]));
  }
  return r;
}

void RangeObserver::observe(const std::vector<torch::Tensor>& acts) {
  if (lo.empty()) lo.assign(acts.size(), 0), hi.assign(acts.size(), 0);
  if (lo.size() != acts.size()) throw std::runtime_error("RangeObserver: tensor count changed");
  for (size_t i = 0; i < acts.size(); ++i) {
    auto v = acts[i].detach().to(torch::kCPU, torch::kFloat32).flatten();
    const int64_t n = v.numel();
    double l, h;
    if (percentile >= 100.0) {
      l = v.min().item<double>();
      h = v.max().item<double>();
    } else {
      const int64_t k_hi = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(percentile / 100.0 * n)), 1, n);
      const int64_t k_lo = std::clamp<int64_t>(n + 1 - k_hi, 1, n);
      h = std::get<0>(v.kthvalue(k_hi)).item<double>();
      l = std::get<0>(v.kthvalue(k_lo)).item<double>();
    }
    lo[i] += l;
    hi[i] += h;
  }
  ++batches;
}

int weight_qmax_for_bits(int bits) {
  if (bits == 8) return 127;
  if (bits == 7) return 64;
  throw std::runtime_error("int8_weight_bits must be 7 or 8, got " + std::to_string(bits));
}

std::string weight_bits_description(int bits) {
  return weight_qmax_for_bits(bits) == 127 ? "per-channel symmetric weights"
                                           : "per-channel symmetric 7-bit weights ([-64, 64])";
}

// Symmetric per-output-channel int8 weights in [-qmax, qmax]; int32 bias in steps of in_scale * w_scale[o].
static QLayer quantize_layer(const torch::Tensor& w, const torch::Tensor& b, const QParams& in,
                             const QParams& out, int qmax) {
  QLayer l;
  const int64_t O = w.size(0);
  auto wf = w.to(torch::kFloat64);
  auto amax = wf.reshape({O, -1}).abs().amax(1);
  if (qmax < 1 || qmax > 127) throw std::runtime_error("quantize_layer: weight qmax out of range");
  const double qm = static_cast<double>(qmax);
  l.w_scale = torch::where(amax > 0, amax / qm, torch::ones_like(amax)).to(torch::kFloat32);
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[0] = O;
  l.wq = round_half_away(wf / l.w_scale.to(torch::kFloat64).view(shape)).clamp(-qm, qm).to(torch::kFloat32);
  auto bias_scale = torch::full({O}, in.scale, torch::kFloat32) * l.w_scale;
  l.bias_q = round_half_away(b.to(torch::kFloat64) / bias_scale.to(torch::kFloat64))
                 .clamp(-2147483647.0, 2147483647.0)
                 .to(torch::kInt64);
  l.in = in;
  l.out = out;
  return l;
}

// The input and the conv layers; ranges r.lo/hi[i] (summed over r.batches) for conv i's output.
static QNet quantize_convs(const std::vector<FoldedConv>& convs, double input_lo, double input_hi,
                           const RangeObserver& r, int weight_qmax) {
  QNet q;
  q.input = qparams_from_range(input_lo, input_hi);
  QParams prev = q.input;
  for (size_t i = 0; i < convs.size(); ++i) {
    const auto& c = convs[i];
    QLayer l = quantize_layer(c.weight, c.bias, prev,
                              qparams_from_range(r.lo[i] / r.batches, r.hi[i] / r.batches), weight_qmax);
    l.stride = c.stride;
    l.pad = c.pad;
    l.groups = c.groups;
    l.relu = c.relu;
    q.convs.push_back(l);
    prev = l.out;
  }
  return q;
}

QNet quantize_net(const FoldedNet& f, double input_lo, double input_hi, const RangeObserver& r,
                  int weight_qmax) {
  if (r.batches == 0 || r.lo.size() != f.convs.size() + 2)
    throw std::runtime_error("quantize_net: no calibration");
  QNet q = quantize_convs(f.convs, input_lo, input_hi, r, weight_qmax);
  q.pooled = q.convs.empty() ? q.input : q.convs.back().out;  // the pool keeps its input's quantisation
  q.fc_weight = f.fc_weight.detach().to(torch::kFloat32).contiguous();
  q.fc_bias = f.fc_bias.detach().to(torch::kFloat32).contiguous();
  return q;
}

QNet quantize_conv_stack(const std::vector<FoldedConv>& convs, double input_lo, double input_hi,
                         const RangeObserver& r, int weight_qmax) {
  if (r.batches == 0 || r.lo.size() != convs.size())
    throw std::runtime_error("quantize_conv_stack: no calibration");
  return quantize_convs(convs, input_lo, input_hi, r, weight_qmax);
}

torch::Tensor conv_stack_dequantized(const QNet& q, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  auto h = quantize_emul(x, q.input);
  for (const auto& l : q.convs) {
    auto centred = (h - l.in.zero_point).to(torch::kFloat64);
    auto acc = torch::conv2d(centred, l.wq.to(torch::kFloat64), l.bias_q.to(torch::kFloat64), l.stride, l.pad,
                             1, l.groups);
    h = requantize(acc, l, 1);
  }
  const QParams& o = q.convs.back().out;
  return full_f32(h, o.scale) * (h - full_f32(h, static_cast<float>(o.zero_point)));
}

torch::Tensor QNet::logits(const torch::Tensor& x) const {
  torch::NoGradGuard ng;
  auto h = quantize_emul(x, input);
  for (const auto& l : convs) {
    auto centred = (h - l.in.zero_point).to(torch::kFloat64);
    auto acc = torch::conv2d(centred, l.wq.to(torch::kFloat64), l.bias_q.to(torch::kFloat64), l.stride, l.pad,
                             1, l.groups);
    h = requantize(acc, l, 1);
  }
  // Global average pool: float(sum(q) - hw * zp) * (in_scale / (out_scale * hw)), out = in quantisation.
  const int64_t hw = h.size(2) * h.size(3);
  auto sum =
      (h.to(torch::kFloat64).sum({2, 3}) - static_cast<double>(hw) * pooled.zero_point).to(torch::kFloat32);
  const float mult = pooled.scale / (pooled.scale * static_cast<float>(hw));
  auto pooled_q =
      (round_half_away(sum * full_f32(sum, mult)) + full_f32(sum, static_cast<float>(pooled.zero_point)))
          .clamp(-128, 127);
  // Dequantize (scale * float(q - zp)), then the f32 classifier.
  auto feats = full_f32(pooled_q, pooled.scale) *
               (pooled_q - full_f32(pooled_q, static_cast<float>(pooled.zero_point)));
  return torch::addmm(fc_bias, feats, fc_weight.t());
}

}  // namespace faceattr::train
