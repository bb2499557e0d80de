// Reference elementwise ops: add (fused activation), sigmoid, activation,
// quantize, dequantize, and channel concat. int8 unary ops use a 256-entry
// table built at creation, so run() is a lookup.
#include <cmath>
#include <cstring>

#include "kernels/kernel_util.h"

namespace faceattr::kernels::reference {
namespace {

class AddF32 final : public BoundKernel {
 public:
  explicit AddF32(const AddDesc& d) : BoundKernel(2), d_(d) {}
  void run(const ExecContext&) override {
    const float* a = in<float>(0);
    const float* b = in<float>(1);
    float* y = out<float>();
    for (size_t i = 0; i < d_.size; ++i) y[i] = apply_act(a[i] + b[i], d_.act, d_.leaky_alpha);
  }

 private:
  AddDesc d_;
};

// real = sa (a - za) + sb (b - zb), expressed in output steps, then requantised.
class AddI8 final : public BoundKernel {
 public:
  explicit AddI8(const AddDesc& d)
      : BoundKernel(2), d_(d), ma_(d.a_q.scale / d.out_q.scale), mb_(d.b_q.scale / d.out_q.scale) {
    act_qrange(d.act, d.out_q, &qmin_, &qmax_);
  }
  void run(const ExecContext&) override {
    const int8_t* a = in<int8_t>(0);
    const int8_t* b = in<int8_t>(1);
    int8_t* y = out<int8_t>();
    for (size_t i = 0; i < d_.size; ++i) {
      const float s = static_cast<float>(a[i] - d_.a_q.zero_point) * ma_ +
                      static_cast<float>(b[i] - d_.b_q.zero_point) * mb_;
      y[i] = requantize_scaled(s, d_.act, d_.leaky_alpha, d_.out_q.zero_point, qmin_, qmax_);
    }
  }

 private:
  AddDesc d_;
  float ma_, mb_;
  int32_t qmin_ = -128, qmax_ = 127;
};

// f32 -> f32 with a per-element function.
class UnaryF32 final : public BoundKernel {
 public:
  UnaryF32(const UnaryDesc& d, bool sigmoid) : BoundKernel(1), d_(d), sigmoid_(sigmoid) {}
  void run(const ExecContext&) override {
    const float* x = in<float>(0);
    float* y = out<float>();
    if (sigmoid_) {
      for (size_t i = 0; i < d_.size; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
    } else {
      for (size_t i = 0; i < d_.size; ++i) y[i] = apply_act(x[i], d_.act, d_.leaky_alpha);
    }
  }

 private:
  UnaryDesc d_;
  bool sigmoid_;
};

// i8 -> i8 through a table over all 256 input values.
class LookupI8 final : public BoundKernel {
 public:
  LookupI8(const UnaryDesc& d, bool sigmoid) : BoundKernel(1), size_(d.size) {
    for (int v = -128; v <= 127; ++v) {
      const float x = dequantize_value(static_cast<int8_t>(v), d.in_q);
      const float r = sigmoid ? 1.0f / (1.0f + std::exp(-x)) : apply_act(x, d.act, d.leaky_alpha);
      table_[v + 128] = quantize_value(r, d.out_q);
    }
  }
  void run(const ExecContext&) override {
    const int8_t* x = in<int8_t>(0);
    int8_t* y = out<int8_t>();
    for (size_t i = 0; i < size_; ++i) y[i] = table_[x[i] + 128];
  }

 private:
  size_t size_;
  int8_t table_[256];
};

class QuantizeKernel final : public BoundKernel {
 public:
  explicit QuantizeKernel(const UnaryDesc& d) : BoundKernel(1), d_(d) {}
  void run(const ExecContext&) override {
    const float* x = in<float>(0);
    int8_t* y = out<int8_t>();
    for (size_t i = 0; i < d_.size; ++i) y[i] = quantize_value(x[i], d_.out_q);
  }

 private:
  UnaryDesc d_;
};

class DequantizeKernel final : public BoundKernel {
 public:
  explicit DequantizeKernel(const UnaryDesc& d) : BoundKernel(1), d_(d) {}
  void run(const ExecContext&) override {
    const int8_t* x = in<int8_t>(0);
    float* y = out<float>();
    for (size_t i = 0; i < d_.size; ++i) y[i] = dequantize_value(x[i], d_.in_q);
  }

 private:
  UnaryDesc d_;
};

class ConcatKernel final : public BoundKernel {
 public:
  explicit ConcatKernel(const ConcatDesc& d)
      : BoundKernel(d.channels.size()), d_(d), elem_(d.dtype == DType::F32 ? sizeof(float) : 1) {
    for (int c : d.channels) total_ += static_cast<size_t>(c);
  }
  void run(const ExecContext&) override {
    auto* y = out<unsigned char>();
    size_t offset = 0;
    for (size_t i = 0; i < d_.channels.size(); ++i) {
      const size_t row = static_cast<size_t>(d_.channels[i]) * elem_;
      const auto* x = in<unsigned char>(i);
      for (size_t r = 0; r < d_.outer; ++r) std::memcpy(y + (r * total_) * elem_ + offset, x + r * row, row);
      offset += row;
    }
  }

 private:
  ConcatDesc d_;
  size_t elem_;
  size_t total_ = 0;
};

}  // namespace

KernelPtr make_add(const AddDesc& d) {
  if (!add_desc_valid(d)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<AddF32>(d);
  return std::make_unique<AddI8>(d);
}

KernelPtr make_concat(const ConcatDesc& d) {
  if (!concat_desc_valid(d)) return nullptr;
  return std::make_unique<ConcatKernel>(d);
}

KernelPtr make_sigmoid(const UnaryDesc& d) {
  if (!sigmoid_desc_valid(d)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<UnaryF32>(d, true);
  return std::make_unique<LookupI8>(d, true);
}

KernelPtr make_activation(const UnaryDesc& d) {
  if (!activation_desc_valid(d)) return nullptr;
  if (d.dtype == DType::F32) return std::make_unique<UnaryF32>(d, false);
  return std::make_unique<LookupI8>(d, false);
}

KernelPtr make_quantize(const UnaryDesc& d) {
  if (!quantize_desc_valid(d)) return nullptr;
  return std::make_unique<QuantizeKernel>(d);
}

KernelPtr make_dequantize(const UnaryDesc& d) {
  if (!dequantize_desc_valid(d)) return nullptr;
  return std::make_unique<DequantizeKernel>(d);
}

}  // namespace faceattr::kernels::reference
