// Checks for the `faceattr video` / `predict --track` tests (tests/video.cmake).
//
//   faceattr_video_check frames VIDEO N W H
//       VIDEO decodes (native/cli/video_io.h) to exactly N frames of W x H whose
//       times increase by 1000 / fps.
//   faceattr_video_check jsonl OUTPUT TRUTH [one-track | tracks=N]
//       OUTPUT (faceattr video --json) has one valid line per TRUTH frame (frame, time_ms
//       within 1 ms of the truth's, faces with track, box, score and every attribute's p
//       and present); at least 90% of the truth faces (wholly in frame) have a reported
//       box centred inside theirs. one-track: one face on at least 95% of frames, and
//       one track id in all. tracks=N: N distinct track ids in all.
//   faceattr_video_check predict-track OUTPUT N
//       OUTPUT (faceattr predict --track --json) has N lines whose faces all carry
//       a track id, and one id is on every line.
//   faceattr_video_check truncate IN OUT FRACTION
//       Writes the first FRACTION of IN's bytes to OUT (a cut-short file).
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "video_io.h"

namespace {

using nlohmann::json;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

std::vector<json> read_lines(const std::string& path) {
  std::ifstream in(path);
  require(static_cast<bool>(in), "cannot open '" + path + "'");
  std::vector<json> lines;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    try {
      lines.push_back(json::parse(line));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": not JSON: " + e.what());
    }
  }
  return lines;
}

int check_frames(const std::string& path, int n, int w, int h) {
  faceattr::cli::VideoReader reader(path);
  faceattr::cli::VideoFrame f;
  int count = 0;
  double last = -1;
  const double step = 1000.0 / reader.info().fps;
  while (reader.read(f)) {
    require(f.width == w && f.height == h, "frame " + std::to_string(count) + " is " +
                                               std::to_string(f.width) + "x" + std::to_string(f.height));
    require(f.rgb.size() == static_cast<size_t>(w) * h * 3, "frame buffer size");
    if (last >= 0) {
      require(std::fabs(f.time_ms - last - step) < 0.5 * step, "frame " + std::to_string(count) + " at " +
                                                                   std::to_string(f.time_ms) + " ms after " +
                                                                   std::to_string(last));
    }
    last = f.time_ms;
    ++count;
  }
  require(count == n, "decoded " + std::to_string(count) + " frames, expected " + std::to_string(n));
  std::printf("%s: %d frames %dx%d, %.2f fps, %s\n", path.c_str(), count, w, h, reader.info().fps,
              reader.info().codec.c_str());
  return 0;
}

void check_face(const json& face, const std::string& where) {
  require(face.contains("track") && face["track"].is_number_integer() && face["track"].get<int>() >= 1,
          where + ": no track id >= 1");
  const json& box = face.at("box");
  require(box.is_array() && box.size() == 4, where + ": box is not [x, y, w, h]");
  require(box[2].get<double>() > 0 && box[3].get<double>() > 0, where + ": empty box");
  const double score = face.at("score").get<double>();
  require(score >= 0 && score <= 1, where + ": score out of [0, 1]");
  const json& attrs = face.at("attributes");
  require(attrs.is_object() && attrs.size() == 40, where + ": not 40 attributes");
  for (const auto& [name, a] : attrs.items()) {
    const double p = a.at("p").get<double>();
    require(p >= 0 && p <= 1 && a.at("present").is_boolean(), where + ": attribute " + name + " malformed");
  }
}

int check_jsonl(const std::string& output, const std::string& truth_path, bool one_track, int n_tracks) {
  const std::vector<json> out = read_lines(output);
  const std::vector<json> truth = read_lines(truth_path);
  require(out.size() == truth.size(), "output has " + std::to_string(out.size()) + " lines for " +
                                          std::to_string(truth.size()) + " frames");
  int truth_faces = 0, found = 0, single = 0;
  std::set<int> ids;
  double last_t = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string where = output + ":" + std::to_string(i + 1);
    const json& o = out[i];
    require(o.at("frame").get<size_t>() == i, where + ": frame is not " + std::to_string(i));
    const double t = o.at("time_ms").get<double>();
    require(t >= last_t, where + ": time_ms decreases");
    require(std::fabs(t - truth[i].at("time_ms").get<double>()) < 1.0,
            where + ": time_ms differs from the truth");
    last_t = t;
    const json& faces = o.at("faces");
    require(faces.is_array(), where + ": faces is not an array");
    for (const json& f : faces) {
      check_face(f, where);
      ids.insert(f["track"].get<int>());
    }
    if (faces.size() == 1) ++single;
    for (const json& tf : truth[i].at("faces")) {
      if (tf.at("visible").get<double>() < 1.0) continue;
      ++truth_faces;
      const json& tb = tf.at("box");
      for (const json& f : faces) {
        const double cx = f["box"][0].get<double>() + f["box"][2].get<double>() / 2;
        const double cy = f["box"][1].get<double>() + f["box"][3].get<double>() / 2;
        if (cx >= tb[0].get<double>() && cx <= tb[0].get<double>() + tb[2].get<double>() &&
            cy >= tb[1].get<double>() && cy <= tb[1].get<double>() + tb[3].get<double>()) {
          ++found;
          break;
        }
      }
    }
  }
  require(truth_faces > 0, "the truth has no face");
  require(found >= 0.9 * truth_faces,
          "found " + std::to_string(found) + " of " + std::to_string(truth_faces) + " truth faces");
  if (one_track) {
    require(single >= 0.95 * static_cast<double>(out.size()),
            "one face on only " + std::to_string(single) + " of " + std::to_string(out.size()) + " frames");
    require(ids.size() == 1, std::to_string(ids.size()) + " track ids, expected one");
  }
  if (n_tracks > 0) {
    require(ids.size() == static_cast<size_t>(n_tracks),
            std::to_string(ids.size()) + " track ids, expected " + std::to_string(n_tracks));
  }
  std::printf("%zu frames, %d of %d truth faces found, %zu track ids\n", out.size(), found, truth_faces,
              ids.size());
  return 0;
}

int check_predict_track(const std::string& output, size_t n) {
  const std::vector<json> out = read_lines(output);
  require(out.size() == n,
          "output has " + std::to_string(out.size()) + " lines, expected " + std::to_string(n));
  std::map<int, size_t> lines_with_id;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string where = output + ":" + std::to_string(i + 1);
    require(out[i].at("image").is_string(), where + ": no image");
    std::set<int> ids;
    for (const json& f : out[i].at("faces")) {
      check_face(f, where);
      ids.insert(f["track"].get<int>());
    }
    for (int id : ids) ++lines_with_id[id];
  }
  bool steady = false;
  for (const auto& [id, count] : lines_with_id) steady = steady || count == n;
  require(steady, "no track id is on every line");
  std::printf("%zu lines, %zu track ids\n", n, lines_with_id.size());
  return 0;
}

int truncate_file(const std::string& in, const std::string& out, double fraction) {
  std::ifstream src(in, std::ios::binary);
  require(static_cast<bool>(src), "cannot open '" + in + "'");
  const std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  std::ofstream dst(out, std::ios::binary);
  dst.write(bytes.data(), static_cast<std::streamsize>(bytes.size() * fraction));
  require(static_cast<bool>(dst), "cannot write '" + out + "'");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 5 && a[0] == "frames")
      return check_frames(a[1], std::stoi(a[2]), std::stoi(a[3]), std::stoi(a[4]));
    if (a.size() == 3 && a[0] == "jsonl") return check_jsonl(a[1], a[2], false, 0);
    if (a.size() == 4 && a[0] == "jsonl" && a[3] == "one-track") return check_jsonl(a[1], a[2], true, 0);
    if (a.size() == 4 && a[0] == "jsonl" && a[3].rfind("tracks=", 0) == 0) {
      return check_jsonl(a[1], a[2], false, std::stoi(a[3].substr(7)));
    }
    if (a.size() == 3 && a[0] == "predict-track") return check_predict_track(a[1], std::stoul(a[2]));
    if (a.size() == 4 && a[0] == "truncate") return truncate_file(a[1], a[2], std::stod(a[3]));
    std::fprintf(stderr, "usage: see tests/video/check_video.cpp\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr_video_check: %s\n", e.what());
    return 1;
  }
}
