// faceattr eval --real-scenes DIR: the localiser on real photos with face boxes
// (DIR/boxes.tsv + DIR/images/; docs/cli.md, "eval on real scenes").
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval_match.h"
#include "eval_run.h"
#include "image_decode.h"
#include "json_line.h"
#include "real_scene_boxes.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;

// The number N of an image named like "maksssksksssN.jpg": the last run of digits in the stem.
bool image_number(const std::string& name, long long& n) {
  const std::string stem = fs::path(name).stem().string();
  size_t end = stem.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(stem[end - 1]))) --end;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(stem[begin - 1]))) --begin;
  if (begin == end) return false;
  const auto r = std::from_chars(stem.data() + begin, stem.data() + end, n);
  return r.ec == std::errc();
}

struct Recall {
  int64_t faces = 0, found_iou = 0, found_lenient = 0;
  nlohmann::ordered_json json() const {
    auto rate = [&](int64_t k) { return faces ? static_cast<double>(k) / static_cast<double>(faces) : 0.0; };
    return {{"faces", faces},
            {"found_iou", found_iou},
            {"recall_iou", rate(found_iou)},
            {"found_lenient", found_lenient},
            {"recall_lenient", rate(found_lenient)}};
  }
  void add(bool iou_ok, bool lenient_ok) {
    ++faces;
    found_iou += iou_ok ? 1 : 0;
    found_lenient += lenient_ok ? 1 : 0;
  }
};

struct Band {
  const char* name;
  double lo, hi;  // true box height in [lo, hi)
  Recall r;
};

struct ImageOutcome {
  std::vector<int> by_iou, lenient;  // per true face: matched prediction or -1
  std::vector<double> iou;           // per true face: IoU with its IoU match
  int predicted = 0, false_faces = 0;
};

}  // namespace

int run_real_scenes_eval(const LocaliserEvalOptions& o) {
  const fs::path dir = o.path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("real-scenes folder '" + o.path + "' does not exist");
  const std::string tsv = (dir / "boxes.tsv").string();
  std::vector<SceneImage> all = read_boxes(tsv);
  std::vector<SceneImage> images;
  for (SceneImage& im : all) {
    if (o.split != "all") {
      long long n = 0;
      if (!image_number(im.name, n))
        throw Error(im.where + ": '" + im.name + "' has no number for --split " + o.split);
      if ((n % 2 == 0) != (o.split == "dev")) continue;
    }
    if (o.limit > 0 && static_cast<int64_t>(images.size()) >= o.limit) break;
    images.push_back(std::move(im));
  }
  if (images.empty()) throw Error("no images of split '" + o.split + "' in '" + tsv + "'");

  ModelFiles models;
  std::vector<Session> sessions = localiser_sessions(o.common, images.size(), "--real-scenes", models);
  const size_t n_attr = static_cast<size_t>(sessions[0].n_attributes());
  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());
  std::vector<ImageOutcome> outcomes(images.size());

  run_parallel(images.size(), sessions, "real scenes", [&](size_t w, size_t i) {
    const SceneImage& im = images[i];
    const std::string path = (dir / "images" / im.name).string();
    if (!fs::is_regular_file(path, ec)) throw Error(im.where + ": image '" + path + "' does not exist");
    const RgbImage img = decoders[w]->load(path);
    const std::vector<FoundFace> found =
        predict_faces(sessions[w].get(), img.view(), n_attr, "'" + path + "'");
    std::vector<Box> truth, pred;
    for (const TrueFace& t : im.faces) truth.push_back(t.box);
    for (const FoundFace& f : found) pred.push_back({f.box[0], f.box[1], f.box[2], f.box[3]});
    ImageOutcome& out = outcomes[i];
    out.by_iou = match_by_iou(truth, pred, 0.5);
    out.lenient = match_lenient(truth, pred);
    for (size_t t = 0; t < truth.size(); ++t)
      out.iou.push_back(out.by_iou[t] >= 0 ? box_iou(pred[static_cast<size_t>(out.by_iou[t])], truth[t])
                                           : 0.0);
    out.predicted = static_cast<int>(pred.size());
    for (const Box& p : pred) {
      if (p.h < kMinCountedFace) continue;
      bool overlaps = false;
      for (const Box& t : truth) overlaps = overlaps || box_iou(p, t) >= 0.1;
      out.false_faces += overlaps ? 0 : 1;
    }
  });

  Recall total;
  std::vector<Band> bands = {
      {"24-39", 24, 40, {}}, {"40-79", 40, 80, {}}, {">=80", 80, 1e300, {}}, {"<24", 0, 24, {}}};
  std::map<std::string, Recall> by_label;
  int64_t boxes = 0, predicted = 0, false_faces = 0;
  double iou_sum = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageOutcome& out = outcomes[i];
    predicted += out.predicted;
    false_faces += out.false_faces;
    for (size_t t = 0; t < images[i].faces.size(); ++t) {
      const TrueFace& f = images[i].faces[t];
      const bool iou_ok = out.by_iou[t] >= 0, lenient_ok = out.lenient[t] >= 0;
      ++boxes;
      for (Band& b : bands)
        if (f.box.h >= b.lo && f.box.h < b.hi) b.r.add(iou_ok, lenient_ok);
      if (f.box.h < kMinCountedFace) continue;
      total.add(iou_ok, lenient_ok);
      by_label[f.label].add(iou_ok, lenient_ok);
      iou_sum += out.iou[t];
    }
  }
  const double mean_iou = total.found_iou ? iou_sum / static_cast<double>(total.found_iou) : 0.0;
  const double false_per_image = static_cast<double>(false_faces) / static_cast<double>(images.size());

  if (o.json) {
    nlohmann::ordered_json j = {{"images", images.size()},
                                {"split", o.split},
                                {"face_boxes", boxes},
                                {"min_face_height", kMinCountedFace}};
    j.update(total.json());
    j["mean_iou_found"] = mean_iou;
    j["predicted_boxes"] = predicted;
    j["false_faces"] = false_faces;
    j["false_faces_per_image"] = false_per_image;
    nlohmann::ordered_json size = nlohmann::ordered_json::object(), label = nlohmann::ordered_json::object();
    for (const Band& b : bands) size[b.name] = b.r.json();
    for (const auto& [name, r] : by_label) label[name] = r.json();
    j["by_size"] = std::move(size);
    j["by_label"] = std::move(label);
    j["anet"] = models.anet_path;
    j["lnet"] = models.lnet_path;
    j["backend"] = sessions[0].backend_name();
    print_json_line(j);
    return 0;
  }
  std::printf("%s, split %s: %zu images, %lld face boxes (%lld at least %.0f px tall, counted)\n",
              o.path.c_str(), o.split.c_str(), images.size(), static_cast<long long>(boxes),
              static_cast<long long>(total.faces), kMinCountedFace);
  std::printf("models %s + %s, backend %s\n\n", models.anet_path.c_str(), models.lnet_path.c_str(),
              sessions[0].backend_name());
  std::printf("%-30s %7s %11s %9s\n", "recall", "faces", "IoU >= 0.5", "lenient");
  auto row = [](const std::string& name, const Recall& r) {
    auto rate = [&](int64_t k) {
      return r.faces ? static_cast<double>(k) / static_cast<double>(r.faces) : 0.0;
    };
    std::printf("%-30s %7lld %11.4f %9.4f\n", name.c_str(), static_cast<long long>(r.faces),
                rate(r.found_iou), rate(r.found_lenient));
  };
  row("faces >= 24 px tall", total);
  for (const Band& b : bands)
    row(std::string("  height ") + b.name + " px" + (b.lo < 24 ? " (not counted)" : ""), b.r);
  for (const auto& [name, r] : by_label) row("  " + name, r);
  std::printf("\nmean IoU of IoU-matched faces  %.4f\n", mean_iou);
  std::printf(
      "false faces per image          %.4f  (%lld boxes >= 24 px tall overlapping no true box; %lld boxes in "
      "all)\n",
      false_per_image, static_cast<long long>(false_faces), static_cast<long long>(predicted));
  return 0;
}

}  // namespace faceattr::cli
