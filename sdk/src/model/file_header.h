// The .fam container's fixed 64-byte header (docs/model-format.md, "Container"):
// its layout in one place, for the SDK's reader (load_model.cpp) and the tools'
// writer/reader (tools/modelfile). Reading checks nothing; each reader validates
// the fields with its own error reporting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "util/bytes.h"

namespace faceattr::model {

inline constexpr char kFileMagic[8] = {'F', 'A', 'C', 'E', 'A', 'T', 'T', 'R'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 64;
// The data section and each constant in it; the SDK's copy of the file is
// allocated with this alignment too, so constants are aligned in memory.
inline constexpr size_t kDataAlign = 64;

struct FileHeader {
  uint32_t format_version = kFormatVersion;
  uint32_t header_size = kHeaderSize;
  uint64_t meta_offset = kHeaderSize, meta_size = 0;
  uint64_t data_offset = 0, data_size = 0;
  uint32_t crc32 = 0;  // of bytes [kHeaderSize, file_size)
  uint32_t flags = 0;
  uint64_t file_size = 0;
};

inline bool has_file_magic(const uint8_t* p) { return std::memcmp(p, kFileMagic, sizeof kFileMagic) == 0; }

// `p` points at kHeaderSize readable bytes.
inline FileHeader read_file_header(const uint8_t* p) {
  FileHeader h;
  h.format_version = load_le32(p + 8);
  h.header_size = load_le32(p + 12);
  h.meta_offset = load_le64(p + 16);
  h.meta_size = load_le64(p + 24);
  h.data_offset = load_le64(p + 32);
  h.data_size = load_le64(p + 40);
  h.crc32 = load_le32(p + 48);
  h.flags = load_le32(p + 52);
  h.file_size = load_le64(p + 56);
  return h;
}

// Writes the magic and every field into kHeaderSize bytes at `p`.
inline void write_file_header(const FileHeader& h, uint8_t* p) {
  std::memcpy(p, kFileMagic, sizeof kFileMagic);
  store_le32(p + 8, h.format_version);
  store_le32(p + 12, h.header_size);
  store_le64(p + 16, h.meta_offset);
  store_le64(p + 24, h.meta_size);
  store_le64(p + 32, h.data_offset);
  store_le64(p + 40, h.data_size);
  store_le32(p + 48, h.crc32);
  store_le32(p + 52, h.flags);
  store_le64(p + 56, h.file_size);
}

}  // namespace faceattr::model
