#include "data/celeba.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "util/text_file.h"

namespace faceattr::train {

AttrTable read_celeba_attributes(const std::string& path) {
  auto lines = read_lines(path);
  if (lines.size() < 2) throw std::runtime_error(path + ": expected a count line and a header line");
  AttrTable t;
  t.names = split_ws(lines[1]);
  if (t.names.empty()) throw std::runtime_error(path + ": empty attribute header");
  for (size_t i = 2; i < lines.size(); ++i) {
    auto f = split_ws(lines[i]);
    if (f.empty()) continue;
    if (f.size() != t.names.size() + 1)
      throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": expected " +
                               std::to_string(t.names.size() + 1) + " fields, got " +
                               std::to_string(f.size()));
    std::vector<int8_t> v(t.names.size());
    for (size_t a = 0; a < v.size(); ++a) {
      if (f[a + 1] == "1")
        v[a] = 1;
      else if (f[a + 1] == "-1")
        v[a] = -1;
      else
        throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": bad value '" + f[a + 1] + "'");
    }
    t.rows.emplace(f[0], std::move(v));
  }
  return t;
}

static std::unordered_map<std::string, int> read_name_int(const std::string& path) {
  std::unordered_map<std::string, int> m;
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto f = split_ws(lines[i]);
    if (f.empty()) continue;
    if (f.size() != 2) throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": expected 2 fields");
    try {
      m[f[0]] = std::stoi(f[1]);
    } catch (const std::exception&) {
      throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": bad integer '" + f[1] + "'");
    }
  }
  return m;
}

std::unordered_map<std::string, int> read_celeba_partition(const std::string& path) {
  return read_name_int(path);
}
std::unordered_map<std::string, int> read_celeba_identity(const std::string& path) {
  return read_name_int(path);
}

CelebaSet load_celeba(const std::string& anno_dir, const std::vector<std::string>& image_dirs) {
  auto attrs = read_celeba_attributes(resolve_plain_or_gz(anno_dir + "/list_attr_celeba.txt"));
  auto part = read_celeba_partition(resolve_plain_or_gz(anno_dir + "/list_eval_partition.txt"));
  auto ident = read_celeba_identity(resolve_plain_or_gz(anno_dir + "/identity_CelebA.txt"));
  std::unordered_map<std::string, std::string> present;  // file name -> its folder
  for (const std::string& image_dir : image_dirs) {
    if (!std::filesystem::is_directory(image_dir))
      throw std::runtime_error("image folder not found: " + image_dir);
    for (const auto& e : std::filesystem::directory_iterator(image_dir))
      if (e.is_regular_file()) present.emplace(e.path().filename().string(), image_dir);
  }
  CelebaSet s;
  s.attribute_names = attrs.names;
  for (auto& [file, vals] : attrs.rows) {
    auto where = present.find(file);
    if (where == present.end()) {
      ++s.rows_without_image;
      continue;
    }
    CelebaImage im;
    im.file = file;
    im.path = where->second + "/" + file;
    auto p = part.find(file);
    im.partition = p == part.end() ? 0 : p->second;
    auto id = ident.find(file);
    im.identity = id == ident.end() ? -1 : id->second;
    im.attrs.resize(vals.size());
    for (size_t a = 0; a < vals.size(); ++a) im.attrs[a] = vals[a] > 0 ? 1.0f : 0.0f;
    s.images.push_back(std::move(im));
  }
  std::sort(s.images.begin(), s.images.end(),
            [](const CelebaImage& a, const CelebaImage& b) { return a.file < b.file; });
  return s;
}

}  // namespace faceattr::train
