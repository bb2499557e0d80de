// The machine a figure comes from, for `faceattr info` and `faceattr bench
// --json`: the CPU's name, x86 family and model, core counts and the ISA
// extensions the kernels care about (libcpuinfo), and what the SDK's SIMD
// backend runs on it (faceattr_get_simd_info).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceattr::cli {

struct CpuDescription {
  std::string name;  // the package name ("AMD EPYC 7B13"), or "" where libcpuinfo has none
  std::string arch;  // "x86-64", "aarch64", ...
  int family = -1;   // x86 CPUID display family and model; -1 elsewhere
  int model = -1;
  int cores = 0;                     // physical cores
  int processors = 0;                // logical processors
  std::vector<std::string> isa;      // the extensions of a fixed list that are present ...
  std::vector<std::string> lacking;  // ... and those that are not
};

CpuDescription describe_cpu();

// "AMD EPYC 7B13 (x86-64 family 25 model 1), 2 cores / 2 threads"
std::string cpu_summary(const CpuDescription& cpu);
// {"name", "arch", "family", "model", "cores", "processors", "isa": [...], "lacking": [...],
//  "simd": {"target", "compiled": [...], "int8": ..., "vector_bits"}}
nlohmann::ordered_json machine_json(const CpuDescription& cpu);

}  // namespace faceattr::cli
