// faceattr eval --mtfl FILE: the localiser and three attributes on MTFL photos
// (docs/cli.md, "eval on MTFL").
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval_match.h"
#include "eval_metrics.h"
#include "eval_run.h"
#include "face_box.h"
#include "image_decode.h"
#include "json_line.h"
#include "mtfl_records.h"

namespace faceattr::cli {

namespace fs = std::filesystem;

MtflFaces mtfl_faces(faceattr_session* session, ImageDecoder& decoder, const fs::path& root,
                     const MtflRecord& r, size_t n_attr) {
  const std::string path = (root / r.path).string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(r.where + ": image '" + path + "' does not exist");
  const RgbImage img = decoder.load(path);
  MtflFaces out;
  out.found = predict_faces(session, img.view(), n_attr, "'" + path + "'");
  const FaceBox fb = canonical_face_box(r.lx, r.ly);
  const Box truth{fb.x, fb.y, fb.w, fb.h};
  for (size_t k = 0; k < out.found.size(); ++k) {
    const float* b = out.found[k].box;
    const double v = box_iou({b[0], b[1], b[2], b[3]}, truth);
    if (v > out.iou) out.iou = v, out.best = static_cast<int>(k);
  }
  if (out.best >= 0) {
    const float* b = out.found[static_cast<size_t>(out.best)].box;
    out.lenient = lenient_match({b[0], b[1], b[2], b[3]}, truth);
  }
  return out;
}

namespace {

struct Outcome {
  double iou = 0;  // of the face (the predicted box with the largest IoU), 0 without one
  bool found_iou = false, found_lenient = false;
  std::vector<uint8_t> present;  // the face's decisions for the evaluated attributes
};

struct Found {
  int64_t images = 0, iou = 0, lenient = 0;
  nlohmann::ordered_json json() const {
    auto rate = [&](int64_t k) {
      return images ? static_cast<double>(k) / static_cast<double>(images) : 0.0;
    };
    return {{"images", images},
            {"found_iou", iou},
            {"found_rate_iou", rate(iou)},
            {"found_lenient", lenient},
            {"found_rate_lenient", rate(lenient)}};
  }
};

}  // namespace

int run_mtfl_eval(const LocaliserEvalOptions& o) {
  const std::vector<MtflRecord> recs = mtfl_split(read_mtfl(o.path), o.split, o.limit, o.path);
  const fs::path root = fs::path(o.path).parent_path();

  ModelFiles models;
  std::vector<Session> sessions = localiser_sessions(o.common, recs.size(), "--mtfl", models);
  const std::vector<std::string> names = sessions[0].attribute_names();
  const std::vector<float> thresholds = sessions[0].thresholds();
  // MTFL's labels as CelebA attributes: gender 1 = Male, smile 1 = Smiling, glasses 1 = Eyeglasses.
  struct Attr {
    const char* name;
    bool MtflRecord::*label;
    int model_index = -1;
  };
  std::vector<Attr> attrs = {
      {"Male", &MtflRecord::male}, {"Smiling", &MtflRecord::smiling}, {"Eyeglasses", &MtflRecord::glasses}};
  for (Attr& a : attrs) {
    a.model_index = attribute_index(names, a.name);
    if (a.model_index < 0)
      std::fprintf(stderr, "faceattr: warning: the model has no attribute %s, not evaluated\n", a.name);
  }

  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());
  std::vector<Outcome> outcomes(recs.size());
  run_parallel(recs.size(), sessions, "mtfl", [&](size_t w, size_t i) {
    const MtflFaces mf = mtfl_faces(sessions[w].get(), *decoders[w], root, recs[i], names.size());
    Outcome& out = outcomes[i];
    out.iou = mf.iou;
    if (mf.best < 0) return;
    const FoundFace& f = mf.found[static_cast<size_t>(mf.best)];
    out.found_iou = out.iou >= 0.5;
    out.found_lenient = mf.lenient;
    for (const Attr& a : attrs)
      out.present.push_back(a.model_index >= 0 && f.probs[static_cast<size_t>(a.model_index)] >=
                                                      thresholds[static_cast<size_t>(a.model_index)]);
  });

  Found total, frontal, other;
  std::vector<AttrCounts> all_counts(attrs.size()), found_counts(attrs.size());
  double iou_sum = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Outcome& out = outcomes[i];
    for (Found* f : {&total, recs[i].pose == 3 ? &frontal : &other}) {
      ++f->images;
      f->iou += out.found_iou ? 1 : 0;
      f->lenient += out.found_lenient ? 1 : 0;
    }
    if (out.found_iou) iou_sum += out.iou;
    for (size_t a = 0; a < attrs.size(); ++a) {
      const bool truth = recs[i].*(attrs[a].label);
      // A missed face (no lenient match) counts as a wrong answer.
      all_counts[a].add(out.found_lenient ? out.present[a] != 0 : !truth, truth);
      if (out.found_lenient) found_counts[a].add(out.present[a] != 0, truth);
    }
  }
  const double mean_iou = total.iou ? iou_sum / static_cast<double>(total.iou) : 0.0;

  if (o.json) {
    nlohmann::ordered_json j = total.json();
    j["split"] = o.split;
    j["mean_iou_found"] = mean_iou;
    j["by_pose"] = {{"frontal", frontal.json()}, {"non_frontal", other.json()}};
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (size_t a = 0; a < attrs.size(); ++a) {
      if (attrs[a].model_index < 0) continue;
      per[attrs[a].name] = {{"accuracy", all_counts[a].accuracy()},
                            {"balanced_accuracy", all_counts[a].balanced_accuracy()},
                            {"accuracy_found", found_counts[a].accuracy()},
                            {"balanced_accuracy_found", found_counts[a].balanced_accuracy()}};
    }
    j["attributes"] = std::move(per);
    j["anet"] = models.anet_path;
    j["lnet"] = models.lnet_path;
    j["backend"] = sessions[0].backend_name();
    j["views"] = models.anet_views;
    print_json_line(j);
    return 0;
  }
  std::printf("%s, split %s: %lld images\n", o.path.c_str(), o.split.c_str(),
              static_cast<long long>(total.images));
  std::printf("models %s + %s, backend %s\n\n", models.anet_path.c_str(), models.lnet_path.c_str(),
              sessions[0].backend_name());
  std::printf("%-28s %7s %11s %9s\n", "face found", "images", "IoU >= 0.5", "lenient");
  auto row = [](const char* name, const Found& f) {
    auto rate = [&](int64_t k) {
      return f.images ? static_cast<double>(k) / static_cast<double>(f.images) : 0.0;
    };
    std::printf("%-28s %7lld %11.4f %9.4f\n", name, static_cast<long long>(f.images), rate(f.iou),
                rate(f.lenient));
  };
  row("all", total);
  row("  frontal (pose 3)", frontal);
  row("  not frontal", other);
  std::printf("mean IoU of IoU-found faces  %.4f\n\n", mean_iou);
  std::printf("%-12s %-28s %-28s\n", "attribute", "accuracy, missed = wrong", "on faces found (lenient)");
  for (size_t a = 0; a < attrs.size(); ++a) {
    if (attrs[a].model_index < 0) continue;
    std::printf("%-12s %.4f (balanced %.4f)      %.4f (balanced %.4f)\n", attrs[a].name,
                all_counts[a].accuracy(), all_counts[a].balanced_accuracy(), found_counts[a].accuracy(),
                found_counts[a].balanced_accuracy());
  }
  return 0;
}

}  // namespace faceattr::cli
