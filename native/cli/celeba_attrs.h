// The CelebA attribute file (list_attr_celeba.txt, plain or gzip'd): line 1 the
// row count, line 2 the attribute names, then one row per image: the file name
// and one value per attribute, 1 (present) or -1 (absent). CRLF or LF.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
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

// The CelebA identity file (identity_CelebA.txt, plain or gzip'd): one line per
// image, its file name and the person's identity number (a non-negative
// integer). Returns name -> identity. Throws Error with the file name and line
// number on a line without exactly two fields, an identity that is not a
// non-negative integer, an image listed twice, a file that lists no image or
// an unreadable or corrupt gzip stream.
std::unordered_map<std::string, int> read_celeba_identities(const std::string& path);
std::unordered_map<std::string, int> parse_celeba_identities(const std::string& text,
                                                             const std::string& name);

}  // namespace faceattr::cli
