// Liveness-based placement of all activation tensors in one arena.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/kernels.h"
#include "model/model.h"

namespace faceattr::graph {

inline constexpr size_t kNoOffset = static_cast<size_t>(-1);
inline constexpr size_t kArenaAlign = 64;
// Readable slack after the arena: optimised kernels may read past an input (kernels.h).
inline constexpr size_t kArenaTailBytes = kernels::kInputSlackBytes;

struct ArenaPlan {
  std::vector<size_t> offsets;  // per tensor; kNoOffset for constants and unused tensors
  size_t total_bytes = 0;       // excluding the tail slack
};

// Tensors whose lifetimes [producer, last consumer] overlap get disjoint
// ranges; the rest may share memory. The network input and outputs live to the end.
ArenaPlan plan_arena(const model::Model& m);

}  // namespace faceattr::graph
