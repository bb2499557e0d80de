// Builds the kernel for one node of a validated model through the dispatcher.
#pragma once

#include <vector>

#include "kernels/kernels.h"
#include "model/model.h"
#include "util/status.h"

namespace faceattr::graph {

// Creates (not binds) the kernel of node `index`. `w_scales` receives the
// per-channel int8 weight scales the kernel descriptor points to (keep it alive
// as long as the kernel). FACEATTR_ERR_UNSUPPORTED when no family serves the node.
Status make_node_kernel(const model::Model& model, size_t index, const kernels::Dispatch& dispatch,
                        std::vector<float>* w_scales, kernels::KernelPtr* out, kernels::Family* used);

// The inputs a node's kernel binds: conv/fc bind only x (weights are packed at creation).
size_t bound_input_count(const model::Node& n);

}  // namespace faceattr::graph
