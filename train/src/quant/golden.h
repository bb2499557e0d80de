// <model>.fam.golden.json: LibTorch's outputs for a fixed synthetic input, which
// the ONNX Runtime parity tests (tests/onnx.cmake) compare against.
#pragma once

#include <torch/torch.h>

#include <string>

namespace faceattr::train {

// n samples of x[i][h][w][c] = 1.5 sin(0.37 h + 0.23 w + 1.1 c + 0.7 i): [n, height, width, 3],
// NHWC, already normalised (the network input).
torch::Tensor golden_inputs(int n, int height, int width);

// The golden file's text: "n", "input" (the formula), "layout", "outputs" (one flattened row
// per sample of `outputs` [n, ...]), "source" when not empty, "output_lsb" when > 0 (int8).
// The exports write it together with the model files (util/atomic_file.h).
std::string golden_text(const torch::Tensor& outputs, const std::string& layout,
                        const std::string& source = "", double output_lsb = 0);

}  // namespace faceattr::train
