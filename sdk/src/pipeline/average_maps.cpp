// Average maps (see average_maps.h), read from the model's JSON metadata
// (metadata_json.h).
#include "pipeline/average_maps.h"

#include <algorithm>
#include <unordered_map>

#include "pipeline/metadata_json.h"

namespace faceattr::pipeline {

using namespace metadata_json;

void AverageMaps::load(const model::Model& m, int h, int w, std::string* why) {
  why->clear();
  *this = AverageMaps();
  const char* text = m.find_metadata("explain.average_maps");
  if (!text) return;
  const auto fail = [&](const std::string& what) {
    *this = AverageMaps();
    *why = "explain.average_maps metadata ignored: " + what;
  };
  const json j = parse(text);
  if (!j.is_object() || !j.contains("width") || !j.contains("height") || !j.contains("maps") ||
      !j["maps"].is_object())
    return fail("not an object with width, height and maps");
  if (!j["width"].is_number_integer() || !j["height"].is_number_integer() ||
      j["width"].get<long long>() != w || j["height"].get<long long>() != h)
    return fail("its grid is not the model's feature map (" + std::to_string(w) + " x " + std::to_string(h) +
                ")");
  std::unordered_map<std::string, size_t> attribute;
  for (size_t a = 0; a < m.attribute_names.size(); ++a) attribute[m.attribute_names[a]] = a;
  const size_t cells = static_cast<size_t>(h) * static_cast<size_t>(w);
  std::vector<float> maps[2], one;
  std::vector<uint8_t> present[2];
  const char* const keys[2] = {"maps", "maps_with"};
  for (int with = 0; with < 2; ++with) {
    const std::string key = keys[with];
    maps[with].assign(m.attribute_names.size() * cells, 0.0f);
    present[with].assign(m.attribute_names.size(), 0);
    if (with == 1 && !j.contains(key)) break;  // optional: peaks are then all against `maps`
    if (!j[key].is_object()) return fail(key + " is not an object");
    const json& all = j[key];
    for (auto it = all.begin(); it != all.end(); ++it) {
      const auto found = attribute.find(it.key());
      if (found == attribute.end()) return fail(key + " names an unknown attribute '" + it.key() + "'");
      if (!float_array(it.value(), cells, &one))
        return fail(key + "['" + it.key() + "'] is not " + std::to_string(cells) + " finite numbers");
      std::copy(one.begin(), one.end(),
                maps[with].begin() + static_cast<std::ptrdiff_t>(found->second * cells));
      present[with][found->second] = 1;
    }
    if (with == 0 && all.empty()) return fail("maps is empty");
  }
  cells_ = cells;
  for (int with = 0; with < 2; ++with) {
    maps_[with] = std::move(maps[with]);
    present_[with] = std::move(present[with]);
  }
}

const float* AverageMaps::map(int attribute, bool with) const {
  const std::vector<uint8_t>& present = present_[with ? 1 : 0];
  if (attribute < 0 || static_cast<size_t>(attribute) >= present.size() || !present[attribute])
    return nullptr;
  return maps_[with ? 1 : 0].data() + static_cast<size_t>(attribute) * cells_;
}

}  // namespace faceattr::pipeline
