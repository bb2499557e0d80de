// Tiny ANet-shaped models that use every .fam op once or more, in fp32 and in
// int8 (same weights, quantised), for the ONNX exporter tests.
//
// Input [1,16,12,3] (H != W to catch transposition errors) -> conv 3x3 relu ->
// depthwise 3x3/2 asymmetric pads relu6 -> grouped 1x1 leaky -> add(relu) ->
// {maxpool 3x3/2 p1, avgpool 3x3/2 p1 -> conv 1x1} -> concat (channels) ->
// activation leaky -> {global avg pool -> fc relu, fc on the 4x3x12 map} ->
// add -> fc -> sigmoid -> probs [1,5]. The int8 model adds Quantize after the
// input and Dequantize before the sigmoid.
#pragma once

#include "model_def.h"

namespace faceattr::testing {

modelfile::ModelDef make_tiny_onnx_model(bool int8, unsigned seed = 20240601u);

}  // namespace faceattr::testing
