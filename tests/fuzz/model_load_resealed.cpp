// libFuzzer target: .fam bytes with the header's CRC-32 (bytes 48-51, over bytes
// 64 to the end) recomputed before loading, so that every mutation reaches the
// FlatBuffers verifier, the graph validation and session creation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_model.h"
#include "util/crc32.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> b(data, data + size);
  if (b.size() >= 64) {
    const uint32_t crc = faceattr::crc32_update(0, b.data() + 64, b.size() - 64);
    for (int i = 0; i < 4; ++i) b[48 + i] = static_cast<uint8_t>(crc >> (8 * i));
  }
  faceattr::fuzz::exercise_model(b.data(), b.size());
  return 0;
}
