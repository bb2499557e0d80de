// Tracked faces as JSON, in `faceattr predict --json`'s face layout plus the track
// id: {"track": id, "box": [x, y, w, h] (smoothed), "score": s,
//      "attributes": {name: {"p": averaged p, "present": decision}, ...}}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceattr/faceattr.h"

namespace faceattr::cli {

nlohmann::ordered_json tracks_to_json(const std::vector<std::string>& attribute_names,
                                      const faceattr_track* tracks, int n_tracks);

// The `n` present attributes of highest probability, highest first.
std::vector<int> top_present_attributes(const faceattr_track& track, int n_attributes, int n);

}  // namespace faceattr::cli
