#include "cpu_info.h"

#include <cpuinfo.h>

#include <sstream>
#include <utility>

#include "faceattr/faceattr.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace faceattr::cli {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// AVX-VNNI (the VEX form on AVX2-class cores): CPUID leaf 7 sub-leaf 1, EAX bit 4;
// Debian 12's libcpuinfo predates it.
bool has_avx_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 1, a, b, c, d);
  return (a >> 4) & 1u;
}
#endif

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

CpuDescription describe_cpu() {
  CpuDescription cpu;
  if (!cpuinfo_initialize()) return cpu;
  cpu.cores = static_cast<int>(cpuinfo_get_cores_count());
  cpu.processors = static_cast<int>(cpuinfo_get_processors_count());
  if (const cpuinfo_package* p = cpuinfo_get_package(0)) cpu.name = p->name;
  std::vector<std::pair<const char*, bool>> flags;
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  cpu.arch = CPUINFO_ARCH_X86_64 ? "x86-64" : "x86";
  if (const cpuinfo_core* core = cpuinfo_get_core(0)) {
    const uint32_t id = core->cpuid;
    const int base_family = static_cast<int>((id >> 8) & 0xf);
    cpu.family = base_family == 0xf ? base_family + static_cast<int>((id >> 20) & 0xff) : base_family;
    cpu.model = static_cast<int>((id >> 4) & 0xf);
    if (base_family == 0x6 || base_family == 0xf) cpu.model |= static_cast<int>((id >> 16) & 0xf) << 4;
  }
  flags = {{"sse4.2", cpuinfo_has_x86_sse4_2()},
           {"avx2", cpuinfo_has_x86_avx2()},
           {"fma", cpuinfo_has_x86_fma3()},
           {"f16c", cpuinfo_has_x86_f16c()},
           {"avx-vnni", has_avx_vnni()},
           {"avx512f", cpuinfo_has_x86_avx512f()},
           {"avx512bw", cpuinfo_has_x86_avx512bw()},
           {"avx512vl", cpuinfo_has_x86_avx512vl()},
           {"avx512-vnni", cpuinfo_has_x86_avx512vnni()},
           {"avx512-vbmi", cpuinfo_has_x86_avx512vbmi()},
           {"avx512-bf16", cpuinfo_has_x86_avx512bf16()}};
#elif CPUINFO_ARCH_ARM64 || CPUINFO_ARCH_ARM
  cpu.arch = CPUINFO_ARCH_ARM64 ? "aarch64" : "arm";
  flags = {{"neon", cpuinfo_has_arm_neon()},        {"fp16", cpuinfo_has_arm_neon_fp16_arith()},
           {"dotprod", cpuinfo_has_arm_neon_dot()}, {"bf16", cpuinfo_has_arm_bf16()},
           {"sve", cpuinfo_has_arm_sve()},          {"sve2", cpuinfo_has_arm_sve2()}};
#else
  cpu.arch = "unknown";
#endif
  for (const auto& [name, present] : flags) (present ? cpu.isa : cpu.lacking).push_back(name);
  return cpu;
}

std::string cpu_summary(const CpuDescription& cpu) {
  std::string s = cpu.name.empty() ? "unknown CPU" : cpu.name;
  s += " (" + cpu.arch;
  if (cpu.family >= 0) s += " family " + std::to_string(cpu.family) + " model " + std::to_string(cpu.model);
  s += "), " + std::to_string(cpu.cores) + " cores / " + std::to_string(cpu.processors) + " threads";
  return s;
}

nlohmann::ordered_json machine_json(const CpuDescription& cpu) {
  faceattr_simd_info simd{};
  faceattr_get_simd_info(&simd);
  nlohmann::ordered_json j = {{"name", cpu.name}, {"arch", cpu.arch}};
  if (cpu.family >= 0) {
    j["family"] = cpu.family;
    j["model"] = cpu.model;
  }
  j["cores"] = cpu.cores;
  j["processors"] = cpu.processors;
  j["isa"] = cpu.isa;
  j["lacking"] = cpu.lacking;
  j["simd"] = {{"target", simd.target},
               {"compiled", split_words(simd.compiled)},
               {"int8", simd.int8_path},
               {"vector_bits", simd.vector_bits}};
  return j;
}

}  // namespace faceattr::cli
