// Reads whole text files, plain or gzip'd (zlib's gzopen reads both).
#pragma once

#include <string>
#include <vector>

namespace faceattr::train {

// Lines of `path` without line terminators (LF or CRLF). Throws std::runtime_error.
std::vector<std::string> read_lines(const std::string& path);

// `path` if it exists, else `path + ".gz"` if that exists, else throws.
std::string resolve_plain_or_gz(const std::string& path);

bool file_exists(const std::string& path);

// Splits on runs of spaces/tabs.
std::vector<std::string> split_ws(const std::string& line);

}  // namespace faceattr::train
