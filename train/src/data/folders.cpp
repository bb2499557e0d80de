#include "data/folders.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace faceattr::train {
namespace fs = std::filesystem;

static bool is_jpeg(const fs::path& p) {
  auto e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e == ".jpg" || e == ".jpeg";
}

static std::vector<std::string> sorted_jpegs(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_jpeg(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

LfwSet load_lfw(const std::string& root, int min_images) {
  if (!fs::is_directory(root)) throw std::runtime_error("LFW folder not found: " + root);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  LfwSet s;
  for (const auto& d : dirs) {
    auto files = sorted_jpegs(d);
    if (static_cast<int>(files.size()) < min_images) continue;
    int label = static_cast<int>(s.people.size());
    s.people.push_back(d.filename().string());
    for (auto& f : files) s.images.push_back({f, label});
  }
  return s;
}

std::vector<std::string> list_object_images(const std::string& root) {
  if (!fs::is_directory(root)) throw std::runtime_error("objects folder not found: " + root);
  return sorted_jpegs(root);
}

}  // namespace faceattr::train
