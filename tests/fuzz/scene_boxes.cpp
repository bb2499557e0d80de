// libFuzzer target: the reader of `eval --real-scenes`'s boxes.tsv
// (native/cli/real_scene_boxes.*). Every image it returns has a name and at
// least one box with w, h > 0.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "cli_common.h"
#include "real_scene_boxes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    for (const auto& im : faceattr::cli::parse_boxes(in, "boxes.tsv")) {
      if (im.name.empty() || im.faces.empty()) std::abort();
      for (const auto& f : im.faces)
        if (!(f.box.w > 0 && f.box.h > 0)) std::abort();
    }
  } catch (const faceattr::cli::Error&) {
  }
  return 0;
}
