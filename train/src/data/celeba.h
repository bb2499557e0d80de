// CelebA annotation readers (list_attr_celeba.txt, list_eval_partition.txt,
// identity_CelebA.txt; plain or .gz) and the joined per-image table. Rows whose
// image file is absent are skipped, so the 10,000-image subset and the full
// 202,599-image release load the same way.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace faceattr::train {

struct AttrTable {
  std::vector<std::string> names;                             // 40 names, file order
  std::unordered_map<std::string, std::vector<int8_t>> rows;  // "000001.jpg" -> +1/-1 values
};

AttrTable read_celeba_attributes(const std::string& path);
// "000001.jpg" -> 0/1/2 (train/val/test)
std::unordered_map<std::string, int> read_celeba_partition(const std::string& path);
// "000001.jpg" -> identity id
std::unordered_map<std::string, int> read_celeba_identity(const std::string& path);

struct CelebaImage {
  std::string file;          // "000001.jpg"
  std::string path;          // full path to the image
  int partition = 0;         // 0 train, 1 val, 2 test (official split)
  int identity = -1;         // -1 when unknown
  std::vector<float> attrs;  // 0/1 per attribute
};

struct CelebaSet {
  std::vector<std::string> attribute_names;
  std::vector<CelebaImage> images;  // sorted by file name; only images present on disk
  size_t rows_without_image = 0;
};

// anno_dir holds the three annotation files (plain or .gz); image_dirs the JPEGs (an
// image present in several folders is taken from the first).
CelebaSet load_celeba(const std::string& anno_dir, const std::vector<std::string>& image_dirs);
inline CelebaSet load_celeba(const std::string& anno_dir, const std::string& image_dir) {
  return load_celeba(anno_dir, std::vector<std::string>{image_dir});
}

}  // namespace faceattr::train
