// One JSON Lines record on stdout: the object on one line, invalid UTF-8 in
// strings (file names) replaced rather than thrown on.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>

namespace faceattr::cli {

inline void print_json_line(const nlohmann::ordered_json& j) {
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}

}  // namespace faceattr::cli
