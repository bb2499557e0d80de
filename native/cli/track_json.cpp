#include "track_json.h"

#include <algorithm>

#include "cli_common.h"

namespace faceattr::cli {

nlohmann::ordered_json tracks_to_json(const std::vector<std::string>& attribute_names,
                                      const faceattr_track* tracks, int n_tracks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (int i = 0; i < n_tracks; ++i) {
    const faceattr_track& t = tracks[i];
    nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
    for (size_t a = 0; a < attribute_names.size(); ++a) {
      attrs[attribute_names[a]] = {{"p", round_to(t.probs[a], 6)}, {"present", t.present[a] != 0}};
    }
    out.push_back(
        {{"track", t.id},
         {"box",
          {round_to(t.box[0], 3), round_to(t.box[1], 3), round_to(t.box[2], 3), round_to(t.box[3], 3)}},
         {"score", round_to(t.score, 6)},
         {"attributes", std::move(attrs)}});
  }
  return out;
}

std::vector<int> top_present_attributes(const faceattr_track& track, int n_attributes, int n) {
  std::vector<int> present;
  for (int a = 0; a < n_attributes; ++a) {
    if (track.present[a]) present.push_back(a);
  }
  std::stable_sort(present.begin(), present.end(),
                   [&](int x, int y) { return track.probs[x] > track.probs[y]; });
  if (static_cast<int>(present.size()) > n) present.resize(static_cast<size_t>(n));
  return present;
}

}  // namespace faceattr::cli
