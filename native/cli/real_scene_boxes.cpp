#include "real_scene_boxes.h"

#include <charconv>
#include <fstream>
#include <map>
#include <string_view>

#include "cli_common.h"

namespace faceattr::cli {

namespace {

bool parse_int(std::string_view s, int& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::vector<SceneImage> parse_boxes(std::istream& in, const std::string& path) {
  std::vector<SceneImage> images;
  std::map<std::string, size_t> index;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    std::vector<std::string_view> f;
    std::string_view rest(line);
    for (size_t tab; (tab = rest.find('\t')) != std::string_view::npos; rest.remove_prefix(tab + 1))
      f.push_back(rest.substr(0, tab));
    f.push_back(rest);
    int v[4];
    bool ok = f.size() == 6 && !f[0].empty() && !f[1].empty();
    for (int k = 0; ok && k < 4; ++k) ok = parse_int(f[2 + k], v[k]);
    if (!ok || v[2] <= 0 || v[3] <= 0)
      throw Error(where + ": expected image<TAB>label<TAB>x<TAB>y<TAB>w<TAB>h (integers, w and h > 0)");
    const std::string name(f[0]);
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, images.size()).first;
      images.push_back({name, where, {}});
    }
    images[it->second].faces.push_back(
        {std::string(f[1]), {double(v[0]), double(v[1]), double(v[2]), double(v[3])}});
  }
  if (in.bad()) throw Error("cannot read '" + path + "'");
  if (images.empty()) throw Error("no face boxes in '" + path + "'");
  return images;
}

std::vector<SceneImage> read_boxes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  return parse_boxes(in, path);
}

}  // namespace faceattr::cli
