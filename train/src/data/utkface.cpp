#include "data/utkface.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace faceattr::train {

std::optional<UtkChip> parse_utk_name(const std::string& name) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t p = 0;
  int age = 0;
  while (p < name.size() && digit(name[p]) && p < 4) age = age * 10 + (name[p++] - '0');
  if (p < 1 || p > 3) return std::nullopt;
  if (name.size() < p + 5 || name[p] != '_' || (name[p + 1] != '0' && name[p + 1] != '1') ||
      name[p + 2] != '_' || name[p + 3] < '0' || name[p + 3] > '4' || name[p + 4] != '_')
    return std::nullopt;
  UtkChip c;
  c.age = age;
  c.male = name[p + 1] == '0';
  c.race = name[p + 3] - '0';
  p += 5;
  const size_t date = p;
  while (p < name.size() && digit(name[p])) ++p;
  if (p == date) return std::nullopt;
  const std::string ext = name.substr(p);
  if (ext != ".jpg.chip.jpg" && ext != ".jpg") return std::nullopt;
  c.dev = name[p - 1] <= '2';
  c.path = name;
  return c;
}

UtkLabels utk_labels(const UtkChip& chip, int child_age) {
  UtkLabels l;
  l.male = chip.age < child_age ? 0.5f : (chip.male ? 1.0f : 0.0f);
  l.young_known = chip.age < 30 || chip.age >= 40;
  l.young = chip.age < 30 ? 1.0f : 0.0f;
  return l;
}

std::vector<UtkChip> list_utk_chips(const std::string& dir, size_t* skipped) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::runtime_error("UTKFace folder not found: " + dir);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::vector<UtkChip> out;
  size_t bad = 0;
  for (const auto& n : names) {
    auto c = parse_utk_name(n);
    if (!c) {
      ++bad;
      continue;
    }
    c->path = dir + "/" + n;
    out.push_back(std::move(*c));
  }
  if (skipped) *skipped = bad;
  if (out.empty())
    throw std::runtime_error("no UTKFace chips (AGE_GENDER_RACE_DATETIME.jpg.chip.jpg) in " + dir);
  return out;
}

}  // namespace faceattr::train
