// CRC-32 (IEEE 802.3, same values as zlib's crc32). Own table: the SDK must not
// depend on zlib (wasm builds).
#pragma once

#include <cstddef>
#include <cstdint>

namespace faceattr {

// Continues `crc` (0 to start) over `size` bytes.
uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t size);

}  // namespace faceattr
