// faceattr explain --mtfl FILE: where the Smiling and Eyeglasses peaks fall on
// MTFL faces (docs/cli.md, "explain"). Each record's face is the predicted box
// with the largest IoU with its landmark box (face_box.h), kept when it passes
// the lenient rule (eval_match.h), as `eval --mtfl` counts faces found. With
// E the eyes' midpoint and M the mouth corners' midpoint: on faces labelled
// smiling, a hit is a Smiling peak nearer M than E; on faces labelled with
// glasses, an Eyeglasses peak nearer E than M. Four peaks are scored:
//   cell      the arg-max cell's centre (cells centred on their receptive fields)
//   refined   the SDK's peak (faceattr_explanation.peak: cell + parabola)
//   centroid  the centroid of the positive part of contrast * (map - average map)
//             (the map where the model has no average map), weighted by value
//   tiled     the arg-max cell's centre with the crop tiled evenly by the cells
//             (no receptive-field offset), for comparison
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval_run.h"
#include "image_decode.h"
#include "json_line.h"
#include "mtfl_records.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;

constexpr int kMethods = 4;
const char* const kMethodNames[kMethods] = {"cell", "refined", "centroid", "tiled"};

struct Point {
  double x = 0, y = 0;
};

void peaks_of(const faceattr_explanation& e, Point out[kMethods]) {
  const int col = e.peak_cell[0], row = e.peak_cell[1];
  out[0] = {e.box[0] + (col + 0.5) * e.cell_width, e.box[1] + (row + 0.5) * e.cell_height};
  out[1] = {e.peak[0], e.peak[1]};
  double sw = 0, sx = 0, sy = 0;
  for (int i = 0; i < e.height; ++i)
    for (int j = 0; j < e.width; ++j) {
      const int k = i * e.width + j;
      const double v = e.average_map ? e.contrast * (e.map[k] - e.average_map[k]) : e.map[k];
      if (v <= 0) continue;
      sw += v, sx += v * (j + 0.5), sy += v * (i + 0.5);
    }
  out[2] = sw > 0 ? Point{e.box[0] + sx / sw * e.cell_width, e.box[1] + sy / sw * e.cell_height} : out[0];
  out[3] = {e.crop[0] + (col + 0.5) * e.crop[2] / e.width, e.crop[1] + (row + 0.5) * e.crop[3] / e.height};
}

double dist(const Point& a, const Point& b) { return std::hypot(a.x - b.x, a.y - b.y); }

struct Outcome {
  bool found = false;
  bool smile_hit[kMethods] = {}, glasses_hit[kMethods] = {};
};

struct Tally {
  int64_t faces = 0, hits[kMethods] = {};
  double rate(int m) const { return faces ? static_cast<double>(hits[m]) / static_cast<double>(faces) : 0.0; }
  nlohmann::ordered_json json() const {
    nlohmann::ordered_json j = {{"faces", faces}};
    for (int m = 0; m < kMethods; ++m) j[kMethodNames[m]] = {{"hits", hits[m]}, {"rate", rate(m)}};
    return j;
  }
};

int index_of(const std::vector<std::string>& names, const char* name) {
  const int k = attribute_index(names, name);
  if (k >= 0) return k;
  throw Error(std::string("the model has no attribute ") + name +
              " (explain --mtfl needs Smiling and Eyeglasses)");
}

}  // namespace

int run_explain_peaks(const LocaliserEvalOptions& o) {
  const std::vector<MtflRecord> recs = mtfl_split(read_mtfl(o.path), o.split, o.limit, o.path);
  const fs::path root = fs::path(o.path).parent_path();
  ModelFiles models;
  std::vector<Session> sessions = localiser_sessions(o.common, recs.size(), "--mtfl", models);
  const std::vector<std::string> names = sessions[0].attribute_names();
  const int32_t attrs[2] = {index_of(names, "Smiling"), index_of(names, "Eyeglasses")};

  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());
  std::vector<Outcome> outcomes(recs.size());
  run_parallel(recs.size(), sessions, "mtfl peaks", [&](size_t w, size_t i) {
    const MtflRecord& r = recs[i];
    const MtflFaces mf = mtfl_faces(sessions[w].get(), *decoders[w], root, r, names.size());
    if (mf.best < 0 || !mf.lenient) return;
    const int best = mf.best;
    faceattr_explanation e[2];
    const faceattr_status st = faceattr_session_explain(sessions[w].get(), best, attrs, 2, e);
    if (st != FACEATTR_OK) throw_api_error("cannot explain '" + r.path + "'", st);
    const Point eyes{0.5 * (r.lx[0] + r.lx[1]), 0.5 * (r.ly[0] + r.ly[1])};
    const Point mouth{0.5 * (r.lx[3] + r.lx[4]), 0.5 * (r.ly[3] + r.ly[4])};
    Outcome& out = outcomes[i];
    out.found = true;
    Point smile[kMethods], glasses[kMethods];
    peaks_of(e[0], smile);
    peaks_of(e[1], glasses);
    for (int m = 0; m < kMethods; ++m) {
      out.smile_hit[m] = dist(smile[m], mouth) < dist(smile[m], eyes);
      out.glasses_hit[m] = dist(glasses[m], eyes) < dist(glasses[m], mouth);
    }
  });

  Tally smile, glasses;
  int64_t found = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Outcome& out = outcomes[i];
    if (!out.found) continue;
    ++found;
    for (auto [tally, label, hits] : {std::tuple{&smile, recs[i].smiling, out.smile_hit},
                                      std::tuple{&glasses, recs[i].glasses, out.glasses_hit}}) {
      if (!label) continue;
      ++tally->faces;
      for (int m = 0; m < kMethods; ++m) tally->hits[m] += hits[m] ? 1 : 0;
    }
  }
  if (o.json) {
    nlohmann::ordered_json j = {{"split", o.split},
                                {"records", recs.size()},
                                {"faces_found", found},
                                {"smiling_peak_at_mouth", smile.json()},
                                {"eyeglasses_peak_at_eyes", glasses.json()},
                                {"anet", models.anet_path},
                                {"lnet", models.lnet_path},
                                {"backend", sessions[0].backend_name()}};
    print_json_line(j);
    return 0;
  }
  std::printf("%s, split %s: %zu records, %lld faces found (lenient)\n", o.path.c_str(), o.split.c_str(),
              recs.size(), static_cast<long long>(found));
  std::printf("models %s + %s, backend %s\n\n", models.anet_path.c_str(), models.lnet_path.c_str(),
              sessions[0].backend_name());
  std::printf("%-34s %6s", "peak nearer the right landmark", "faces");
  for (const char* m : kMethodNames) std::printf(" %9s", m);
  std::printf("\n");
  for (auto [name, t] : {std::pair{"Smiling = 1: mouth, not eyes", &smile},
                         std::pair{"Eyeglasses = 1: eyes, not mouth", &glasses}}) {
    std::printf("%-34s %6lld", name, static_cast<long long>(t->faces));
    for (int m = 0; m < kMethods; ++m) std::printf(" %9.4f", t->rate(m));
    std::printf("\n");
  }
  return 0;
}

}  // namespace faceattr::cli
