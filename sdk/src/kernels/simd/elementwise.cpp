// SIMD elementwise ops: add (f32, int8), sigmoid (f32), activation (f32),
// quantize, dequantize. int8 arithmetic follows the reference operation by
// operation (no fused multiply-add), so results match it exactly. int8
// sigmoid/activation (a 256-entry table) and concat (row copies) are left to
// the reference family.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>
// clang-format on

#include "kernels/kernel_util.h"
#include "kernels/simd/hwy_math-inl.h"
#include "kernels/simd/simd_kernels.h"
#include "kernels/simd/vec_array-inl.h"
#include "util/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace faceattr::kernels::simd {
namespace HWY_NAMESPACE {

template <class DF, class VF>
HWY_INLINE VF SigmoidF32(DF df, VF x) {
  // exp(-x) overflows above 88.7; sigmoid there is below 1e-38 anyway.
  const VF e = hn::Exp(df, hn::Min(hn::Neg(x), hn::Set(df, 88.0f)));
  return hn::Div(hn::Set(df, 1.0f), hn::Add(hn::Set(df, 1.0f), e));
}

// Elements [begin, end); the last partial vector goes through a padded copy.
void Elementwise(const EwRun& r, size_t begin, size_t end) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  HWY_ALIGN float fa[HWY_MAX_BYTES / sizeof(float)], fb[HWY_MAX_BYTES / sizeof(float)],
      fy[HWY_MAX_BYTES / sizeof(float)];
  HWY_ALIGN int8_t qa[HWY_MAX_BYTES / sizeof(float)], qb[HWY_MAX_BYTES / sizeof(float)],
      qy[HWY_MAX_BYTES / sizeof(float)];
  const bool in_i8 = r.op == EwOp::AddI8 || r.op == EwOp::Dequantize;
  const bool out_i8 = r.op == EwOp::AddI8 || r.op == EwOp::Quantize;
  const auto* af = static_cast<const float*>(r.a);
  const auto* bf = static_cast<const float*>(r.b);
  const auto* aq = static_cast<const int8_t*>(r.a);
  const auto* bq = static_cast<const int8_t*>(r.b);
  if (r.op == EwOp::Quantize) {
    // The network input's quantisation: whole groups of 4 vectors in one loop,
    // so the divisions (exact like the reference, no reciprocal) overlap.
    const auto vs = hn::Set(df, r.scale);
    for (; begin + 4 * N <= end; begin += 4 * N) {
      using VI = hn::Vec<decltype(di)>;
      FACEATTR_VEC_ARRAY(VI, q, 4);
      for (size_t k = 0; k < 4; ++k) {
        q[k] = RequantizeF32(df, hn::Div(hn::LoadU(df, af + begin + k * N), vs), Act::None, 0.0f, r.zp, -128,
                             127);
      }
      for (size_t k = 0; k < 4; ++k)
        hn::StoreU(hn::DemoteTo(d8, q[k]), d8, static_cast<int8_t*>(r.y) + begin + k * N);
    }
  }
  for (size_t i = begin; i < end; i += N) {
    const size_t n = std::min(N, end - i);
    const float *pa = af + i, *pb = r.b ? bf + i : nullptr;
    const int8_t *qpa = aq + i, *qpb = r.b ? bq + i : nullptr;
    if (n < N) {  // tail: zero-padded copies
      for (size_t j = 0; j < N; ++j) {
        if (in_i8) {
          qa[j] = j < n ? aq[i + j] : 0;
          if (r.b) qb[j] = j < n ? bq[i + j] : 0;
        } else {
          fa[j] = j < n ? af[i + j] : 0.0f;
          if (r.b) fb[j] = j < n ? bf[i + j] : 0.0f;
        }
      }
      pa = fa;
      pb = fb;
      qpa = qa;
      qpb = qb;
    }
    float* yf = n < N ? fy : static_cast<float*>(r.y) + i;
    int8_t* yq = n < N ? qy : static_cast<int8_t*>(r.y) + i;
    switch (r.op) {
      case EwOp::AddF32: {
        const auto s = hn::Add(hn::LoadU(df, pa), hn::LoadU(df, pb));
        hn::StoreU(ApplyActF32(df, s, r.act, r.alpha, r.lo, r.hi), df, yf);
        break;
      }
      case EwOp::AddI8: {
        const auto va = hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, qpa)), hn::Set(di, r.za)));
        const auto vb = hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, qpb)), hn::Set(di, r.zb)));
        const auto s = hn::Add(hn::Mul(va, hn::Set(df, r.ma)), hn::Mul(vb, hn::Set(df, r.mb)));
        hn::StoreU(hn::DemoteTo(d8, RequantizeF32(df, s, r.act, r.alpha, r.zp, r.qmin, r.qmax)), d8, yq);
        break;
      }
      case EwOp::SigmoidF32:
        hn::StoreU(SigmoidF32(df, hn::LoadU(df, pa)), df, yf);
        break;
      case EwOp::ActivationF32:
        hn::StoreU(ApplyActF32(df, hn::LoadU(df, pa), r.act, r.alpha, r.lo, r.hi), df, yf);
        break;
      case EwOp::Quantize: {
        const auto s = hn::Div(hn::LoadU(df, pa), hn::Set(df, r.scale));
        hn::StoreU(hn::DemoteTo(d8, RequantizeF32(df, s, Act::None, 0.0f, r.zp, -128, 127)), d8, yq);
        break;
      }
      case EwOp::Dequantize: {
        const auto v = hn::ConvertTo(df, hn::Sub(hn::PromoteTo(di, hn::LoadU(d8, qpa)), hn::Set(di, r.zp)));
        hn::StoreU(hn::Mul(hn::Set(df, r.scale), v), df, yf);
        break;
      }
    }
    if (n < N) {
      for (size_t j = 0; j < n; ++j) {
        if (out_i8) {
          static_cast<int8_t*>(r.y)[i + j] = qy[j];
        } else {
          static_cast<float*>(r.y)[i + j] = fy[j];
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace faceattr::kernels::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/simd/hwy_dispatch.h"

namespace faceattr::kernels::simd {

FACEATTR_HWY_EXPORT(Elementwise);

namespace {

constexpr size_t kChunk = 8192;  // elements per parallel task

class ElementwiseKernel final : public BoundKernel {
 public:
  ElementwiseKernel(const EwRun& r, size_t size, size_t n_inputs)
      : BoundKernel(n_inputs), r_(r), size_(size) {}
  void run(const ExecContext& ctx) override {
    parallel_for(ctx.pool, (size_ + kChunk - 1) / kChunk, [this](size_t begin, size_t end) {
      FACEATTR_HWY_CALL(Elementwise)(r_, begin * kChunk, std::min(size_, end * kChunk));
    });
  }

 protected:
  bool on_bind(const ExecContext&) override {
    r_.a = inputs_[0];
    r_.b = inputs_.size() > 1 ? inputs_[1] : nullptr;
    r_.y = output_;
    return true;
  }

 private:
  EwRun r_;
  size_t size_;
};

EwRun with_act(EwOp op, Act act, float alpha) {
  EwRun r;
  r.op = op;
  r.act = act;
  r.alpha = alpha;
  act_frange(act, &r.lo, &r.hi);
  return r;
}

}  // namespace

KernelPtr make_add(const AddDesc& d) {
  if (!add_desc_valid(d)) return nullptr;
  EwRun r = with_act(d.dtype == DType::F32 ? EwOp::AddF32 : EwOp::AddI8, d.act, d.leaky_alpha);
  if (d.dtype == DType::I8) {
    r.ma = d.a_q.scale / d.out_q.scale;
    r.mb = d.b_q.scale / d.out_q.scale;
    r.za = d.a_q.zero_point;
    r.zb = d.b_q.zero_point;
    r.zp = d.out_q.zero_point;
    act_qrange(d.act, d.out_q, &r.qmin, &r.qmax);
  }
  return std::make_unique<ElementwiseKernel>(r, d.size, 2);
}

KernelPtr make_concat(const ConcatDesc&) { return nullptr; }

KernelPtr make_sigmoid(const UnaryDesc& d) {
  if (!sigmoid_desc_valid(d) || d.dtype != DType::F32) return nullptr;
  return std::make_unique<ElementwiseKernel>(with_act(EwOp::SigmoidF32, Act::None, 0.0f), d.size, 1);
}

KernelPtr make_activation(const UnaryDesc& d) {
  if (!activation_desc_valid(d) || d.dtype != DType::F32) return nullptr;
  return std::make_unique<ElementwiseKernel>(with_act(EwOp::ActivationF32, d.act, d.leaky_alpha), d.size, 1);
}

KernelPtr make_quantize(const UnaryDesc& d) {
  if (!quantize_desc_valid(d)) return nullptr;
  EwRun r = with_act(EwOp::Quantize, Act::None, 0.0f);
  r.scale = d.out_q.scale;
  r.zp = d.out_q.zero_point;
  return std::make_unique<ElementwiseKernel>(r, d.size, 1);
}

KernelPtr make_dequantize(const UnaryDesc& d) {
  if (!dequantize_desc_valid(d)) return nullptr;
  EwRun r = with_act(EwOp::Dequantize, Act::None, 0.0f);
  r.scale = d.in_q.scale;
  r.zp = d.in_q.zero_point;
  return std::make_unique<ElementwiseKernel>(r, d.size, 1);
}

}  // namespace faceattr::kernels::simd
#endif
