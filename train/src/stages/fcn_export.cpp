#include "stages/fcn_export.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "engine/history.h"
#include "quant/golden.h"
#include "quant/sdk_check.h"
#include "quant/to_modeldef.h"

namespace faceattr::train {
namespace fs = std::filesystem;

void serialize_models(FcnExport& e, const std::vector<FoldedConv>& folded, const QNet& q, const InputSpec& in,
                      const std::string& name, const std::string& description, Metadata meta32,
                      Metadata meta8) {
  ModelInfo info;
  info.kind = "lnet";
  info.input = in;
  info.name = name + "-fp32";
  info.description = description + ", fp32";
  info.metadata = std::move(meta32);
  e.bytes32 = modelfile::serialize(build_fp32_fcn_model(folded, info));
  info.name = name + "-int8";
  info.description = description + ", int8 post-training quantised";
  info.metadata = std::move(meta8);
  e.bytes8 = modelfile::serialize(build_int8_fcn_model(q, info));
}

void check_and_write(const FcnExport& e, const std::string& stem, nlohmann::json report,
                     const std::string& report_path) {
  const double bound8 = 0.25 * 4 * e.out_step;
  SdkCheckLog checks(e.tag);
  checks.record(check_network(e.bytes32, e.x_nhwc, e.expected32, 1e-4), "fp32");
  checks.record(check_network(e.bytes32, e.golden_in, e.golden32, 1e-4), "fp32-golden");
  checks.record_int8(check_network(e.bytes8, e.x_nhwc, e.expected8, 0), "int8", 1e-4, bound8);
  checks.record_int8(check_network(e.bytes8, e.golden_in, e.golden8, 0), "int8-golden", 1e-4, bound8);
  if (!checks.ok())
    throw std::runtime_error("the SDK disagrees with LibTorch on the exported " + e.model + " (see above)");

  fs::create_directories(fs::path(stem).parent_path());
  // The model and golden files as one step (util/atomic_file.h).
  const std::string golden32 = golden_text(e.golden32, e.golden_layout, e.golden_source);
  const std::string golden8 = golden_text(e.golden8, e.golden_layout, e.golden_source, e.out_step / 4);
  write_files_atomic({{stem + "-fp32.fam", as_bytes(e.bytes32)},
                      {stem + "-int8.fam", as_bytes(e.bytes8)},
                      {stem + "-fp32.fam.golden.json", golden32},
                      {stem + "-int8.fam.golden.json", golden8}},
                     "export");

  report["fp32_bytes"] = e.bytes32.size();
  report["int8_bytes"] = e.bytes8.size();
  report["sdk_checks"] = checks.json();
  fs::create_directories(fs::path(report_path).parent_path());
  write_text_atomic(report_path, report.dump(2) + "\n", "export");
  std::fprintf(stderr, "%s wrote %s-fp32.fam (%zu bytes), %s-int8.fam (%zu bytes)\n", e.tag.c_str(),
               stem.c_str(), e.bytes32.size(), stem.c_str(), e.bytes8.size());
}

}  // namespace faceattr::train
