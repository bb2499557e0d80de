// compare-weights: are two LibTorch archives (.pt checkpoints) the same weights?
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

#include "stages/stages.h"

namespace faceattr::train {
namespace {

// Every tensor of an archive by its dotted path (sub-archives = sub-modules).
void collect(torch::serialize::InputArchive& ar, const std::string& prefix,
             std::map<std::string, torch::Tensor>& out) {
  for (const auto& key : ar.keys()) {
    c10::IValue v;
    if (!ar.try_read(key, v)) continue;
    if (v.isTensor()) {
      out[prefix + key] = v.toTensor().to(torch::kCPU).contiguous();
    } else if (v.isObject()) {
      torch::serialize::InputArchive sub;
      if (ar.try_read(key, sub)) collect(sub, prefix + key + ".", out);
    }
  }
}

std::map<std::string, torch::Tensor> load_all(const std::string& path) {
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a LibTorch archive (" + e.what_without_backtrace() + ")");
  }
  std::map<std::string, torch::Tensor> out;
  collect(ar, "", out);
  return out;
}

}  // namespace

int compare_weights(const std::string& a_path, const std::string& b_path, double tolerance) {
  const auto a = load_all(a_path), b = load_all(b_path);
  int mismatched = 0;
  int64_t elements = 0;
  double max_diff = 0;
  for (const auto& [name, ta] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      std::printf("only in %s: %s\n", a_path.c_str(), name.c_str());
      ++mismatched;
      continue;
    }
    const auto& tb = it->second;
    if (ta.scalar_type() != tb.scalar_type() || ta.sizes() != tb.sizes()) {
      std::printf("%s: %s %s vs %s %s\n", name.c_str(), c10::toString(ta.scalar_type()),
                  c10::str(ta.sizes()).c_str(), c10::toString(tb.scalar_type()),
                  c10::str(tb.sizes()).c_str());
      ++mismatched;
      continue;
    }
    elements += ta.numel();
    const bool same_bits = std::memcmp(ta.data_ptr(), tb.data_ptr(), ta.nbytes()) == 0;
    if (same_bits) continue;
    const double d = (ta.to(torch::kDouble) - tb.to(torch::kDouble)).abs().max().item<double>();
    max_diff = std::isnan(d) ? INFINITY : std::max(max_diff, d);
    if (!(d <= tolerance)) {
      std::printf("%s: max |diff| %.3g\n", name.c_str(), d);
      ++mismatched;
    }
  }
  for (const auto& [name, tb] : b)
    if (!a.count(name)) std::printf("only in %s: %s\n", b_path.c_str(), name.c_str()), ++mismatched;
  std::printf("compare-weights: %zu tensors, %lld elements, max |diff| %.3g, %s\n", a.size(),
              static_cast<long long>(elements), max_diff,
              mismatched == 0 ? (max_diff == 0 ? "bitwise identical" : "within tolerance") : "DIFFERENT");
  return mismatched == 0 && !a.empty() ? 0 : 1;
}

}  // namespace faceattr::train
