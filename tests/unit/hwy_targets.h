// The Highway targets compiled into the kernels (HWY_TARGETS, the same set as
// the SDK's through FACEATTR_HWY_TARGET_DEFS) that this CPU cannot run. The
// tests that loop over hwy::SupportedAndGeneratedTargets() check every other
// one against the reference and name these in a warning, so a log from a
// machine without AVX-512 says that the AVX3 and AVX3_DL kernels were compiled
// but not run there.
#pragma once

#include <hwy/highway.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace faceattr::hwy_targets {

inline std::string compiled_not_run() {
  std::string names;
  const int64_t missing = static_cast<int64_t>(HWY_TARGETS) & ~static_cast<int64_t>(hwy::SupportedTargets());
  for (int64_t t = missing; t != 0; t &= t - 1) {
    names += std::string(names.empty() ? "" : " ") + hwy::TargetName(t & -t);
  }
  return names;
}

// After the loop (and hwy::SetSupportedTargetsForTest(0)).
inline void warn_not_run() {
  const std::string names = compiled_not_run();
  if (!names.empty())
    WARN("Highway targets compiled but not supported by this CPU, not checked here: " << names);
}

}  // namespace faceattr::hwy_targets
