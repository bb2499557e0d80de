// The CelebA attribute file (list_attr_celeba.txt, plain or gzip'd): line 1 the
// row count, line 2 the attribute names, then one row per image: the file name
// and one value per attribute, 1 (present) or -1 (absent). CRLF or LF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceattr::cli {

struct AttrTable {
  std::vector<std::string> names;   // attribute names, file order
  std::vector<std::string> images;  // image file names, file order
  std::vector<int8_t> labels;       // images.size() x names.size(): 1 or -1

  int8_t label(size_t row, size_t attr) const { return labels[row * names.size() + attr]; }
};

// Throws Error with the file name and line number on anything malformed:
// a row with the wrong number of values, a value other than 1/-1, a row count
// that differs from line 1, an unreadable or corrupt gzip stream.
AttrTable read_celeba_attrs(const std::string& path);

// Same, from the file's (decompressed) text; `name` is used in messages.
AttrTable parse_celeba_attrs(const std::string& text, const std::string& name);

}  // namespace faceattr::cli
