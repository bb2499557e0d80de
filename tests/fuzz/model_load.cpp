// libFuzzer target: .fam bytes as given to faceattr_model_load and, when the
// model loads, to faceattr_session_create (as ANet, and as LNet beside a
// refused ANet) and its accessors. Most mutations fail the CRC here;
// model_load_resealed.cpp recomputes it so that the parser sees them.
#include <cstddef>
#include <cstdint>

#include "fuzz_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  faceattr::fuzz::exercise_model(data, size);
  return 0;
}
