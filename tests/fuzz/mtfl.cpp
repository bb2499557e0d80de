// libFuzzer target: the reader of MTFL's annotation file (native/cli/mtfl_records.*)
// and its dev/train split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "cli_common.h"
#include "mtfl_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    auto recs = faceattr::cli::parse_mtfl(in, "training.txt");
    for (const auto& r : recs)
      if (r.pose < 1 || r.pose > 5 || r.path.empty()) std::abort();
    const char* splits[] = {"all", "dev", "train"};
    (void)faceattr::cli::mtfl_split(recs, splits[size % 3], static_cast<int64_t>(size % 5), "training.txt");
  } catch (const faceattr::cli::Error&) {
  }
  return 0;
}
