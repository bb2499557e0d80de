#include "utkface_groups.h"

#include <algorithm>
#include <cmath>

namespace faceattr::cli {

bool utkface_is_dev(const std::string& datetime) {
  const char last = datetime.empty() ? '\0' : datetime.back();
  return last == '0' || last == '1' || last == '2';
}

std::optional<UtkImage> parse_utkface_name(const std::string& name) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t p = 0;
  int age = 0, n_age = 0;
  while (p < name.size() && is_digit(name[p]) && n_age < 4) age = age * 10 + (name[p++] - '0'), ++n_age;
  if (n_age < 1 || n_age > 3) return std::nullopt;
  if (name.size() < p + 5 || name[p] != '_' || (name[p + 1] != '0' && name[p + 1] != '1') ||
      name[p + 2] != '_' || name[p + 3] < '0' || name[p + 3] > '4' || name[p + 4] != '_')
    return std::nullopt;
  const bool male = name[p + 1] == '0';
  const int race = name[p + 3] - '0';
  p += 5;
  const size_t date = p;
  while (p < name.size() && is_digit(name[p])) ++p;
  if (p == date) return std::nullopt;
  const std::string ext = name.substr(p);
  if (ext != ".jpg.chip.jpg" && ext != ".jpg") return std::nullopt;
  return UtkImage{name, age, male, race, utkface_is_dev(name.substr(date, p - date))};
}

bool utkface_in_split(const UtkImage& img, const std::string& split) {
  if (split == "dev") return img.dev;
  if (split == "train") return !img.dev;
  return true;
}

size_t utkface_age_band(int age) {
  for (size_t b = 0; b < kUtkBands; ++b)
    if (age >= kUtkAgeBands[b].lo && age <= kUtkAgeBands[b].hi) return b;
  return kUtkBands - 1;
}

size_t utkface_cell(int race, size_t band, bool male) {
  return (static_cast<size_t>(race) * kUtkBands + band) * kUtkSexes + (male ? 0 : 1);
}

std::string utkface_cell_name(size_t cell) {
  const size_t sex = cell % kUtkSexes, band = cell / kUtkSexes % kUtkBands,
               race = cell / kUtkSexes / kUtkBands;
  return std::string(kUtkRaceNames[race]) + " " + kUtkAgeBands[band].name + " " + kUtkSexNames[sex];
}

std::vector<size_t> worst_groups(const std::vector<double>& accuracy, const std::vector<int64_t>& n,
                                 int64_t min_n, size_t k) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] >= min_n && n[i] > 0) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return accuracy[a] < accuracy[b]; });
  if (idx.size() > k) idx.resize(k);
  return idx;
}

void MaleConfidence::add(double p, bool decided_male, bool male) {
  ++faces;
  mean_p += p;
  (male ? mean_p_boys : mean_p_girls) += p;
  ++(male ? boys : girls);
  const double margin = std::fabs(p - 0.5);
  mean_margin += margin;
  if (margin > kConfidentMargin) {
    ++n_confident_;
    if (decided_male != male) ++n_confident_wrong_;
  }
}

void MaleConfidence::finish() {
  auto div = [](double s, int64_t n) { return n > 0 ? s / static_cast<double>(n) : 0.0; };
  mean_p = div(mean_p, faces);
  mean_p_boys = div(mean_p_boys, boys);
  mean_p_girls = div(mean_p_girls, girls);
  mean_margin = div(mean_margin, faces);
  confident = div(static_cast<double>(n_confident_), faces);
  confident_wrong = div(static_cast<double>(n_confident_wrong_), faces);
}

}  // namespace faceattr::cli
