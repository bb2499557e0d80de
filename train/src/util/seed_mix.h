// The splitmix64 finaliser: a well-mixed 64-bit value from a seed (for deriving
// independent seed streams: per sample in the loader, per rank in distributed runs).
#pragma once

#include <cstdint>

namespace faceattr::train {

inline uint64_t seed_mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace faceattr::train
