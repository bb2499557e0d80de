// libFuzzer target: the CLI's CelebA attribute and identity file readers
// (native/cli/celeba_attrs.*): the text parsers on every input, and the file reader (zlib's gzread, plain or
// gzip) on inputs that start like a gzip stream and on every 16th other one.
#include "celeba_attrs.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_common.h"

namespace {

void check(const faceattr::cli::AttrTable& t) {
  if (t.labels.size() != t.images.size() * t.names.size()) std::abort();
  for (int8_t v : t.labels)
    if (v != 1 && v != -1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/faceattr_fuzz_celeba_" + std::to_string(getpid()) + ".txt";
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    check(faceattr::cli::parse_celeba_attrs(text, "fuzz"));
  } catch (const faceattr::cli::Error&) {
  }
  try {
    for (const auto& [name, id] : faceattr::cli::parse_celeba_identities(text, "fuzz"))
      if (name.empty() || id < 0) std::abort();
  } catch (const faceattr::cli::Error&) {
  }
  const bool gzip = size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
  if (!gzip && (size == 0 || data[size - 1] % 16 != 0)) return 0;
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    const bool ok = std::fwrite(data, 1, size, f) == size;
    std::fclose(f);
    if (ok) {
      try {
        check(faceattr::cli::read_celeba_attrs(path));
      } catch (const faceattr::cli::Error&) {
      }
      try {
        faceattr::cli::read_celeba_identities(path);
      } catch (const faceattr::cli::Error&) {
      }
    }
  }
  return 0;
}
