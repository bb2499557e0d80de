// faceattr eval --scenes N: scenes composed from the evaluation images on object
// photos (scenes.h); localisation and end-to-end attribute accuracy (docs/cli.md).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval_match.h"
#include "eval_run.h"
#include "image_decode.h"
#include "json_line.h"
#include "scenes.h"

namespace faceattr::cli {

namespace fs = std::filesystem;

namespace {

// One composed scene's outcome (see run_scene_eval).
struct SceneOutcome {
  int n_truth = 0;
  int n_boxes = 0;  // faces the pipeline reported
  int unmatched = 0;
  std::vector<size_t> rows;              // attribute-table row of each pasted face
  std::vector<double> ious;              // best IoU per pasted face (0: none)
  std::vector<uint8_t> found;            // IoU >= 0.5
  std::vector<uint8_t> found_lenient;    // matched by the lenient rule (eval_match.h)
  std::vector<uint8_t> e2e, rect, crop;  // decisions per pasted face x matched attribute
  std::vector<uint8_t> e2e_lenient;      // decisions of the lenient match's box
};

std::string scene_file_name(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "scene_%05zu.ppm", i);
  return buf;
}

void write_ppm(const std::string& path, const RgbImage& img) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "P6\n" << img.width << " " << img.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(img.pixels.data()),
            static_cast<std::streamsize>(img.pixels.size()));
  if (!out) throw Error("cannot write scene '" + path + "'");
}

}  // namespace

int run_scene_eval(const SceneEvalOptions& o, const AttrTable& table, const std::vector<size_t>& rows,
                   const ModelFiles& models, std::vector<Session>& sessions,
                   const std::vector<std::string>& model_names, const std::vector<float>& thresholds,
                   const std::vector<AttrMatch>& matches) {
  const std::string objects_dir =
      !o.objects.empty() ? o.objects
                         : (fs::path(o.images_dir) / ".." / ".." / "objects").lexically_normal().string();
  std::error_code ec;
  if (!fs::is_directory(objects_dir, ec))
    throw Error("object photo folder '" + objects_dir + "' does not exist (pass --objects DIR)");
  std::vector<std::string> backgrounds;
  for (const auto& e : fs::directory_iterator(objects_dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".JPEG" || ext == ".png"))
      backgrounds.push_back(e.path().string());
  }
  if (ec) throw Error("cannot list '" + objects_dir + "': " + ec.message());
  if (backgrounds.empty()) throw Error("no .jpg/.png object photos in '" + objects_dir + "'");
  std::sort(backgrounds.begin(), backgrounds.end());
  if (o.objects_split == "held-out") {
    // The LNet trainer (train/src/data/scenes.cpp) keeps sorted objects 0, 10, 20, ... out of its
    // training scenes; test scenes use only those.
    std::vector<std::string> held;
    for (size_t i = 0; i < backgrounds.size(); i += 10) held.push_back(backgrounds[i]);
    backgrounds.swap(held);
  }
  if (!o.save_scenes.empty()) {
    fs::create_directories(o.save_scenes, ec);
    if (!fs::is_directory(o.save_scenes, ec)) throw Error("cannot create '" + o.save_scenes + "'");
  }

  SceneConfig cfg;
  cfg.seed = o.seed;
  const size_t n_scenes = static_cast<size_t>(o.scenes);
  const size_t na = matches.size();
  std::vector<SceneOutcome> outcomes(n_scenes);
  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());

  run_parallel(n_scenes, sessions, "scenes", [&](size_t w, size_t i) {
    ImageDecoder& dec = *decoders[w];
    faceattr_session* s = sessions[w].get();
    std::map<int, RgbImage> crops;  // decoded face images of this scene
    auto path_of = [&](int f) { return (fs::path(o.images_dir) / table.images[rows[f]]).string(); };
    const ScenePlan plan = plan_scene(cfg, i, backgrounds.size(), rows.size(), [&](int f, int* fw, int* fh) {
      auto it = crops.find(f);
      if (it == crops.end()) it = crops.emplace(f, dec.load(path_of(f))).first;
      *fw = it->second.width;
      *fh = it->second.height;
    });
    const RgbImage bg = dec.load(backgrounds[static_cast<size_t>(plan.background)]);
    std::vector<const RgbImage*> faces;
    for (int f : plan.faces) faces.push_back(&crops.at(f));
    const RgbImage scene = compose_scene(cfg, bg, faces, plan.rects);
    if (!o.save_scenes.empty()) write_ppm((fs::path(o.save_scenes) / scene_file_name(i)).string(), scene);

    const std::string what = "scene " + std::to_string(i);
    const std::vector<FoundFace> found = predict_faces(s, scene.view(), model_names.size(), what);
    SceneOutcome& out = outcomes[i];
    out.n_truth = static_cast<int>(plan.rects.size());
    out.n_boxes = static_cast<int>(found.size());
    std::vector<uint8_t> used(found.size(), 0);
    std::vector<float> probs(model_names.size());
    std::vector<Box> truth_boxes, pred_boxes;
    for (const Rect& r : plan.rects)
      truth_boxes.push_back({double(r.x), double(r.y), double(r.w), double(r.h)});
    for (const FoundFace& f : found) pred_boxes.push_back({f.box[0], f.box[1], f.box[2], f.box[3]});
    const std::vector<int> lenient = match_lenient(truth_boxes, pred_boxes);
    for (size_t t = 0; t < plan.rects.size(); ++t) {
      const Rect& r = plan.rects[t];
      // Best still-unclaimed box for this pasted face.
      int best = -1;
      double best_iou = 0.0;
      for (size_t k = 0; k < found.size(); ++k) {
        const double v = iou(found[k].box, r);
        if (!used[k] && v > best_iou) best = static_cast<int>(k), best_iou = v;
      }
      const bool ok = best >= 0 && best_iou >= 0.5;
      if (ok) used[static_cast<size_t>(best)] = 1;
      out.rows.push_back(rows[static_cast<size_t>(plan.faces[t])]);
      out.ious.push_back(best_iou);
      out.found.push_back(ok ? 1 : 0);
      out.found_lenient.push_back(lenient[t] >= 0 ? 1 : 0);
      const size_t base = out.e2e.size();
      out.e2e.resize(base + na, 0);
      out.e2e_lenient.resize(base + na, 0);
      if (lenient[t] >= 0)
        decide(found[static_cast<size_t>(lenient[t])].probs.data(), matches, thresholds,
               &out.e2e_lenient[base]);
      out.rect.resize(base + na, 0);
      out.crop.resize(base + na, 0);
      if (ok) decide(found[static_cast<size_t>(best)].probs.data(), matches, thresholds, &out.e2e[base]);
      // ANet on exactly the pasted rectangle (a view into the scene) and on the original image.
      const faceattr_image rect_view{scene.pixels.data() + (static_cast<size_t>(r.y) * scene.width + r.x) * 3,
                                     r.w, r.h, scene.width * 3, FACEATTR_PIXEL_RGB};
      predict_crop(s, rect_view, probs, what + " (pasted rectangle)");
      decide(probs.data(), matches, thresholds, &out.rect[base]);
      predict_crop(s, crops.at(plan.faces[t]).view(), probs, "'" + path_of(plan.faces[t]) + "'");
      decide(probs.data(), matches, thresholds, &out.crop[base]);
    }
    for (uint8_t u : used) out.unmatched += u ? 0 : 1;
  });

  // Aggregate.
  int64_t face_free = 0, two_face = 0, n_faces = 0, n_found = 0, free_boxes = 0, free_with_face = 0;
  int64_t face_scenes = 0, unmatched_in_face_scenes = 0, n_found_lenient = 0;
  double iou_sum = 0;
  EvalSummary e2e = make_summary(model_names, matches), rect_found = e2e, crop_found = e2e, rect_all = e2e,
              crop_all = e2e, e2e_all = e2e;
  for (const SceneOutcome& sc : outcomes) {
    if (sc.n_truth == 0) {
      ++face_free;
      free_boxes += sc.n_boxes;
      free_with_face += sc.n_boxes > 0 ? 1 : 0;
    } else {
      ++face_scenes;
      unmatched_in_face_scenes += sc.unmatched;
    }
    two_face += sc.n_truth == 2 ? 1 : 0;
    for (int t = 0; t < sc.n_truth; ++t) {
      ++n_faces;
      const size_t base = static_cast<size_t>(t) * na;
      add_decisions(rect_all, &sc.rect[base], table, sc.rows[t], matches);
      add_decisions(crop_all, &sc.crop[base], table, sc.rows[t], matches);
      // End to end over all pasted faces: a face without a lenient match gets every attribute wrong.
      n_found_lenient += sc.found_lenient[t];
      ++e2e_all.n_images;
      for (size_t k = 0; k < na; ++k) {
        const bool truth = table.label(sc.rows[t], matches[k].file_col) > 0;
        e2e_all.counts[k].add(sc.found_lenient[t] ? sc.e2e_lenient[base + k] != 0 : !truth, truth);
      }
      if (!sc.found[t]) continue;
      ++n_found;
      iou_sum += sc.ious[t];
      add_decisions(e2e, &sc.e2e[base], table, sc.rows[t], matches);
      add_decisions(rect_found, &sc.rect[base], table, sc.rows[t], matches);
      add_decisions(crop_found, &sc.crop[base], table, sc.rows[t], matches);
    }
  }
  auto ratio = [](int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  const double found_rate = ratio(n_found, n_faces), mean_iou = n_found ? iou_sum / n_found : 0.0;
  const double found_rate_lenient = ratio(n_found_lenient, n_faces);
  const double false_per_free = ratio(free_boxes, face_free), free_with = ratio(free_with_face, face_free);
  const double unmatched_per = ratio(unmatched_in_face_scenes, face_scenes);

  if (o.json) {
    nlohmann::ordered_json j = {{"scenes", static_cast<int64_t>(n_scenes)},
                                {"seed", o.seed},
                                {"backgrounds", backgrounds.size()},
                                {"scene_size", {cfg.width, cfg.height}},
                                {"face_free_scenes", face_free},
                                {"two_face_scenes", two_face},
                                {"faces", n_faces},
                                {"found", n_found},
                                {"found_rate", found_rate},
                                {"found_lenient", n_found_lenient},
                                {"found_rate_lenient", found_rate_lenient},
                                {"mean_iou_found", mean_iou},
                                {"false_faces_per_face_free_scene", false_per_free},
                                {"face_free_scenes_with_a_face", free_with},
                                {"unmatched_boxes_per_face_scene", unmatched_per},
                                {"accuracy",
                                 {{"end_to_end_found", summary_json(e2e)},
                                  {"end_to_end_all", summary_json(e2e_all)},
                                  {"pasted_rect_found", summary_json(rect_found)},
                                  {"original_found", summary_json(crop_found)},
                                  {"pasted_rect_all", summary_json(rect_all)},
                                  {"original_all", summary_json(crop_all)}}},
                                {"anet", models.anet_path},
                                {"lnet", models.lnet_path},
                                {"backend", sessions[0].backend_name()},
                                {"views", models.anet_views}};
    print_json_line(j);
    return 0;
  }
  std::printf("%zu scenes %dx%d (seed %u): %lld face-free, %lld with two faces; %lld faces pasted\n",
              n_scenes, cfg.width, cfg.height, o.seed, static_cast<long long>(face_free),
              static_cast<long long>(two_face), static_cast<long long>(n_faces));
  std::printf("%zu backgrounds (%s), ", backgrounds.size(), o.objects_split.c_str());
  std::printf("models %s + %s, backend %s\n", models.anet_path.c_str(), models.lnet_path.c_str(),
              sessions[0].backend_name());
  std::printf("found (IoU >= 0.5)                    %.4f  (%lld of %lld)\n", found_rate,
              static_cast<long long>(n_found), static_cast<long long>(n_faces));
  std::printf("found (lenient match)                 %.4f  (%lld of %lld)\n", found_rate_lenient,
              static_cast<long long>(n_found_lenient), static_cast<long long>(n_faces));
  std::printf("mean IoU of found faces               %.4f\n", mean_iou);
  std::printf("false faces per face-free scene       %.4f\n", false_per_free);
  std::printf("face-free scenes with any face        %.4f  (%lld of %lld)\n", free_with,
              static_cast<long long>(free_with_face), static_cast<long long>(face_free));
  std::printf("unmatched boxes per scene with faces  %.4f\n\n", unmatched_per);
  std::printf("mean attribute accuracy (balanced)    %-18s %-18s\n", "found faces", "all pasted faces");
  auto acc = [](const EvalSummary& x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.4f (%.4f)", x.mean_accuracy(), x.mean_balanced_accuracy());
    return std::string(buf);
  };
  std::printf("  end to end (LNet box -> ANet)       %-18s %-18s\n", acc(e2e).c_str(), acc(e2e_all).c_str());
  std::printf("  ANet on the pasted rectangle        %-18s %-18s\n", acc(rect_found).c_str(),
              acc(rect_all).c_str());
  std::printf("  ANet on the original image          %-18s %-18s\n", acc(crop_found).c_str(),
              acc(crop_all).c_str());
  std::printf(
      "(end to end over all pasted faces: a face with no lenient match counts as every attribute wrong)\n");
  return 0;
}

}  // namespace faceattr::cli
