#include "util/crc32.h"

#include <array>

namespace faceattr {
namespace {

// Slicing-by-4 tables for the reflected polynomial 0xEDB88320.
struct Tables {
  std::array<std::array<uint32_t, 256>, 4> t{};
  constexpr Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 4; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
};

constexpr Tables kTables;

}  // namespace

uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t size) {
  const auto& t = kTables.t;
  uint32_t c = ~crc;
  while (size >= 4) {
    c ^= static_cast<uint32_t>(data[0]) | static_cast<uint32_t>(data[1]) << 8 |
         static_cast<uint32_t>(data[2]) << 16 | static_cast<uint32_t>(data[3]) << 24;
    c = t[3][c & 0xFFu] ^ t[2][(c >> 8) & 0xFFu] ^ t[1][(c >> 16) & 0xFFu] ^ t[0][c >> 24];
    data += 4;
    size -= 4;
  }
  while (size-- > 0) c = t[0][(c ^ *data++) & 0xFFu] ^ (c >> 8);
  return ~c;
}

}  // namespace faceattr
