#include "quant/golden.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/history.h"

namespace faceattr::train {

torch::Tensor golden_inputs(int n, int height, int width) {
  auto x = torch::empty({n, height, width, 3}, torch::kFloat32);
  auto a = x.accessor<float, 4>();
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < height; ++h)
      for (int w = 0; w < width; ++w)
        for (int c = 0; c < 3; ++c)
          a[i][h][w][c] = static_cast<float>(1.5 * std::sin(0.37 * h + 0.23 * w + 1.1 * c + 0.7 * i));
  return x;
}

std::string golden_text(const torch::Tensor& outputs, const std::string& layout, const std::string& source,
                        double output_lsb) {
  nlohmann::json j;
  j["n"] = outputs.size(0);
  j["input"] = "x[i][h][w][c] = 1.5*sin(0.37*h + 0.23*w + 1.1*c + 0.7*i)";
  j["layout"] = layout;
  if (!source.empty()) j["source"] = source;
  if (output_lsb > 0) j["output_lsb"] = output_lsb;
  const auto flat = outputs.to(torch::kFloat32).reshape({outputs.size(0), -1}).contiguous();
  nlohmann::json outs = nlohmann::json::array();
  for (int64_t i = 0; i < flat.size(0); ++i) {
    const float* p = flat[i].data_ptr<float>();
    outs.push_back(std::vector<float>(p, p + flat.size(1)));
  }
  j["outputs"] = outs;
  return j.dump(1) + "\n";
}

}  // namespace faceattr::train
