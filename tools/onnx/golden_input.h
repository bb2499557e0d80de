// The deterministic test input shared by the trainer's <model>.golden.json and
// the SDK golden tool, as written in those files' "input" field.
#pragma once

#include <cmath>
#include <vector>

namespace faceattr::onnx_export {

inline constexpr const char* kGoldenInputFormula = "x[i][h][w][c] = 1.5*sin(0.37*h + 0.23*w + 1.1*c + 0.7*i)";

// Sample i as NHWC [1, h, w, c] floats (computed in double, then rounded to float).
inline std::vector<float> golden_input(int i, int height, int width, int channels) {
  std::vector<float> x(static_cast<size_t>(height) * width * channels);
  size_t k = 0;
  for (int h = 0; h < height; ++h)
    for (int w = 0; w < width; ++w)
      for (int c = 0; c < channels; ++c)
        x[k++] = static_cast<float>(1.5 * std::sin(0.37 * h + 0.23 * w + 1.1 * c + 0.7 * i));
  return x;
}

}  // namespace faceattr::onnx_export
