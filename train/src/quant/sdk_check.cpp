#include "quant/sdk_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "faceattr/faceattr.h"
#include "graph/network.h"
#include "kernels/kernels.h"

namespace faceattr::train {

std::vector<SdkCheck> check_network(const std::vector<uint8_t>& model, const torch::Tensor& nhwc,
                                    const torch::Tensor& expected, double bound) {
  std::vector<SdkCheck> out;
  auto x = nhwc.to(torch::kFloat32).contiguous();
  auto e = expected.to(torch::kFloat32).contiguous();
  const int64_t N = x.size(0), per = x.numel() / std::max<int64_t>(1, N), A = e.size(1);
  for (auto fam : {kernels::Family::Reference, kernels::Family::Xnnpack, kernels::Family::Simd}) {
    if (!kernels::family_available(fam)) continue;
    kernels::ExecContext ctx;
    Network net;
    Status st = net.load(model.data(), model.size(), fam, ctx);
    if (!st.is_ok()) throw std::runtime_error("SDK refused the exported model: " + st.message());
    if (static_cast<int64_t>(net.input_elements()) != per || static_cast<int64_t>(net.output_elements()) != A)
      throw std::runtime_error("SDK network has unexpected input/output sizes");
    SdkCheck c;
    c.what = std::string("network/") + kernels::family_name(fam);
    c.bound = bound;
    c.n = static_cast<int>(N);
    for (int64_t i = 0; i < N; ++i) {
      std::copy(x.data_ptr<float>() + i * per, x.data_ptr<float>() + (i + 1) * per, net.input_ptr());
      st = net.run();
      if (!st.is_ok()) throw std::runtime_error("SDK run failed: " + st.message());
      for (int64_t a = 0; a < A; ++a)
        c.max_abs_diff = std::max(
            c.max_abs_diff, static_cast<double>(std::fabs(net.output_ptr()[a] - e[i][a].item<float>())));
    }
    out.push_back(c);
  }
  return out;
}

SdkCheck check_c_api(const std::vector<uint8_t>& model, const std::vector<RgbImage>& images,
                     const torch::Tensor& expected, double bound) {
  faceattr_session_params p = faceattr_session_default_params();
  faceattr_session* s = nullptr;
  if (faceattr_session_create(model.data(), model.size(), nullptr, 0, &p, &s) != FACEATTR_OK)
    throw std::runtime_error(std::string("faceattr_session_create: ") + faceattr_last_error());
  SdkCheck c;
  c.what = std::string("c-api/") + faceattr_backend_name(faceattr_session_backend(s));
  c.bound = bound;
  c.n = static_cast<int>(images.size());
  const int A = faceattr_session_n_attributes(s);
  std::vector<float> probs(static_cast<size_t>(std::max(0, A)));
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& im = images[i];
    faceattr_image img{im.pixels.data(), im.width, im.height, im.width * 3, FACEATTR_PIXEL_RGB};
    if (faceattr_session_predict_crop(s, &img, probs.data()) != FACEATTR_OK) {
      std::string msg = faceattr_last_error();
      faceattr_session_free(s);
      throw std::runtime_error("faceattr_session_predict_crop: " + msg);
    }
    for (int a = 0; a < A; ++a)
      c.max_abs_diff = std::max(
          c.max_abs_diff,
          static_cast<double>(std::fabs(probs[a] - expected[static_cast<int64_t>(i)][a].item<float>())));
  }
  faceattr_session_free(s);
  return c;
}

void SdkCheckLog::record(const SdkCheck& c, const std::string& model) {
  std::fprintf(stderr, "%s SDK check %s %s: max |diff| %.2e (bound %.1e, n=%d) %s\n", tag_.c_str(),
               model.c_str(), c.what.c_str(), c.max_abs_diff, c.bound, c.n, c.ok() ? "ok" : "FAILED");
  checks_.push_back(
      {{"model", model}, {"what", c.what}, {"max_abs_diff", c.max_abs_diff}, {"bound", c.bound}, {"n", c.n}});
  ok_ = ok_ && c.ok();
}

void SdkCheckLog::record(const std::vector<SdkCheck>& checks, const std::string& model) {
  for (const auto& c : checks) record(c, model);
}

void SdkCheckLog::record_int8(std::vector<SdkCheck> checks, const std::string& model, double reference_bound,
                              double bound) {
  for (auto& c : checks) {
    c.bound = c.what == "network/reference" ? reference_bound : bound;
    record(c, model);
  }
}

}  // namespace faceattr::train
