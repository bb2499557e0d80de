// faceattr eval --images DIR --attrs FILE [--limit N] [--json] [--html REPORT]
//               [--scenes N [--objects DIR] [--seed S] [--save-scenes DIR]]
// faceattr eval --real-scenes DIR | --mtfl FILE [--split all|dev|train] [--limit N] [--json]
// faceattr eval --utkface DIR [--limit N] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "celeba_attrs.h"
#include "cli_common.h"
#include "commands.h"
#include "eval_match.h"
#include "eval_metrics.h"
#include "eval_run.h"
#include "html_report.h"
#include "image_decode.h"
#include "progress.h"
#include "scenes.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;

struct EvalOptions {
  CommonOptions common;
  std::string images_dir;
  std::string attrs;
  std::string html;
  int64_t limit = 0;
  bool json = false;
  // --scenes: localisation + end-to-end accuracy on scenes composed from the images.
  int64_t scenes = 0;
  std::string objects;  // default: <images>/../../objects (the ../shared/data layout)
  uint32_t seed = 1;
  std::string save_scenes;
  std::string objects_split = "held-out";
  // --real-scenes DIR / --mtfl FILE: the localiser-only modes (eval_run.h).
  std::string real_scenes;
  std::string mtfl;
  std::string split = "all";
  // --utkface DIR: Male by age band and race group on UTKFace chips (eval_run.h).
  std::string utkface;
};

struct AttrMatch {
  int model_index;  // index in the model's outputs
  size_t file_col;  // column in the attribute file
};

// Decisions (probability >= threshold) for the matched attributes.
void decide(const float* probs, const std::vector<AttrMatch>& matches, const std::vector<float>& thresholds,
            uint8_t* out) {
  for (size_t k = 0; k < matches.size(); ++k) {
    const int a = matches[k].model_index;
    out[k] = probs[a] >= thresholds[a] ? 1 : 0;
  }
}

// ANet alone on `img` as one face (centre crop at ANet's aspect).
void predict_crop(faceattr_session* s, const faceattr_image& img, std::vector<float>& probs,
                  const std::string& what) {
  faceattr_status st = faceattr_session_predict_crop(s, &img, probs.data());
  if (st != FACEATTR_OK) throw_api_error("cannot predict " + what, st);
}

EvalSummary make_summary(const std::vector<std::string>& model_names, const std::vector<AttrMatch>& matches) {
  EvalSummary s;
  s.counts.resize(matches.size());
  for (const AttrMatch& m : matches) s.names.push_back(model_names[m.model_index]);
  return s;
}

void add_decisions(EvalSummary& s, const uint8_t* decisions, const AttrTable& table, size_t row,
                   const std::vector<AttrMatch>& matches) {
  ++s.n_images;
  for (size_t k = 0; k < matches.size(); ++k)
    s.counts[k].add(decisions[k] != 0, table.label(row, matches[k].file_col) > 0);
}

nlohmann::ordered_json summary_json(const EvalSummary& s) {
  return {{"n_faces", s.n_images},
          {"mean_accuracy", s.mean_accuracy()},
          {"mean_balanced_accuracy", s.mean_balanced_accuracy()}};
}

std::vector<AttrMatch> match_attributes(const std::vector<std::string>& model_names, const AttrTable& table) {
  std::vector<AttrMatch> matches;
  std::string unmatched;
  for (size_t a = 0; a < model_names.size(); ++a) {
    auto it = std::find(table.names.begin(), table.names.end(), model_names[a]);
    if (it == table.names.end()) {
      unmatched += (unmatched.empty() ? "" : ", ") + model_names[a];
    } else {
      matches.push_back({static_cast<int>(a), static_cast<size_t>(it - table.names.begin())});
    }
  }
  if (matches.empty()) throw Error("no model attribute appears in the attribute file");
  if (!unmatched.empty()) {
    std::fprintf(stderr, "faceattr: warning: not in the attribute file, not evaluated: %s\n",
                 unmatched.c_str());
  }
  return matches;
}

void print_text(const EvalSummary& s, int64_t missing, const std::string& dir, const char* backend) {
  std::printf("evaluated %lld images", static_cast<long long>(s.n_images));
  if (missing > 0)
    std::printf(" (%lld listed images not in %s)", static_cast<long long>(missing), dir.c_str());
  std::printf(", %zu attributes, backend %s\n", s.names.size(), backend);
  std::printf("mean accuracy           %.4f\n", s.mean_accuracy());
  std::printf("mean balanced accuracy  %.4f\n\n", s.mean_balanced_accuracy());
  std::printf("%-22s %9s %9s %10s\n", "attribute", "accuracy", "balanced", "positives");
  for (size_t i = 0; i < s.names.size(); ++i) {
    const AttrCounts& c = s.counts[i];
    const double pos = c.total() ? static_cast<double>(c.tp + c.fn) / static_cast<double>(c.total()) : 0.0;
    std::printf("%-22s %9.4f %9.4f %10.4f\n", s.names[i].c_str(), c.accuracy(), c.balanced_accuracy(), pos);
  }
}

void print_json(const EvalSummary& s) {
  nlohmann::ordered_json per = nlohmann::ordered_json::object();
  for (size_t i = 0; i < s.names.size(); ++i) {
    per[s.names[i]] = {{"accuracy", s.counts[i].accuracy()},
                       {"balanced_accuracy", s.counts[i].balanced_accuracy()}};
  }
  nlohmann::ordered_json j = {{"n_images", s.n_images},
                              {"mean_accuracy", s.mean_accuracy()},
                              {"mean_balanced_accuracy", s.mean_balanced_accuracy()},
                              {"per_attribute", std::move(per)}};
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}

void write_html(std::ofstream& out, const std::string& path, const std::string& html) {
  out << html;
  out.close();
  if (!out) throw Error("cannot write report '" + path + "'");
}

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

// `faceattr eval --scenes N`: scenes composed from the evaluation images (pasted whole) on
// object photos; localisation (IoU >= 0.5 with the pasted rectangle) and attribute accuracy
// of the whole pipeline on found faces, next to ANet on the pasted rectangle and on the
// original image.
int run_scene_eval(const EvalOptions& o, const AttrTable& table, const std::vector<size_t>& rows,
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
                                {"backend", sessions[0].backend_name()}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
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

int run_eval(const EvalOptions& o) {
  if (!o.utkface.empty()) return run_utkface_eval({o.common, o.utkface, o.limit, o.json});
  if (!o.real_scenes.empty() || !o.mtfl.empty()) {
    LocaliserEvalOptions lo{o.common, !o.real_scenes.empty() ? o.real_scenes : o.mtfl, o.split, o.limit,
                            o.json};
    return !o.real_scenes.empty() ? run_real_scenes_eval(lo) : run_mtfl_eval(lo);
  }
  if (o.images_dir.empty() || o.attrs.empty())
    throw Error(
        "eval needs --images DIR and --attrs FILE (or --real-scenes DIR, --mtfl FILE, or --utkface DIR)");
  // Opened first: an unwritable report path fails before a long evaluation.
  // A failed evaluation leaves no half-written report behind.
  std::ofstream html_out;
  struct RemoveUnlessKept {
    std::string path;
    bool keep = false;
    ~RemoveUnlessKept() {
      if (!keep && !path.empty()) std::remove(path.c_str());
    }
  } html_guard;
  if (!o.html.empty()) {
    if (o.scenes > 0) throw Error("--html is not available with --scenes");
    html_out.open(o.html, std::ios::binary | std::ios::trunc);
    if (!html_out) throw Error("cannot write report '" + o.html + "': " + std::strerror(errno));
    html_guard.path = o.html;
  }
  const AttrTable table = read_celeba_attrs(o.attrs);
  std::error_code ec;
  if (!fs::is_directory(o.images_dir, ec)) throw Error("image folder '" + o.images_dir + "' does not exist");

  std::vector<size_t> rows;  // rows of `table` whose image exists, file order
  int64_t missing = 0;
  for (size_t r = 0; r < table.images.size(); ++r) {
    if (o.limit > 0 && static_cast<int64_t>(rows.size()) >= o.limit) break;
    if (fs::is_regular_file(fs::path(o.images_dir) / table.images[r], ec)) {
      rows.push_back(r);
    } else {
      ++missing;
    }
  }
  if (rows.empty()) {
    throw Error("none of the " + std::to_string(table.images.size()) + " images listed in '" + o.attrs +
                "' is in '" + o.images_dir + "'");
  }

  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  const bool has_lnet = !models.lnet.empty();
  if (o.scenes > 0 && !has_lnet)
    throw Error(
        "--scenes needs an LNet model: pass --lnet FILE (or put lnet-int8.fam next to the ANet model)");
  const faceattr_backend backend = parse_backend(o.common.backend);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1);
  const std::vector<std::string> model_names = sessions[0].attribute_names();
  const std::vector<float> thresholds = sessions[0].thresholds();
  const std::vector<AttrMatch> matches = match_attributes(model_names, table);
  const size_t n_items = o.scenes > 0 ? static_cast<size_t>(o.scenes) : rows.size();
  const size_t n_workers = std::min(static_cast<size_t>(o.common.threads), n_items);
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1);

  if (o.scenes > 0) return run_scene_eval(o, table, rows, models, sessions, model_names, thresholds, matches);

  // predicted[i * na + k]: attribute k decided present on image rows[i] (with an LNet: its
  // strongest face, or the centre crop when it finds none); centre[...]: the centre crop.
  const size_t na = matches.size();
  std::vector<uint8_t> predicted(rows.size() * na), centre(has_lnet ? rows.size() * na : 0);
  std::vector<uint8_t> lnet_found(has_lnet ? rows.size() : 0);
  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());

  run_parallel(rows.size(), sessions, "eval", [&](size_t w, size_t i) {
    const std::string path = (fs::path(o.images_dir) / table.images[rows[i]]).string();
    const RgbImage img = decoders[w]->load(path);
    faceattr_session* s = sessions[w].get();
    std::vector<float> probs(model_names.size());
    predict_crop(s, img.view(), probs, "'" + path + "'");
    decide(probs.data(), matches, thresholds, &predicted[i * na]);
    if (!has_lnet) return;
    std::copy(&predicted[i * na], &predicted[i * na] + na, &centre[i * na]);
    const std::vector<FoundFace> faces = predict_faces(s, img.view(), model_names.size(), "'" + path + "'");
    if (faces.empty()) return;  // counted as no face; the centre crop stands in
    lnet_found[i] = 1;
    decide(faces[0].probs.data(), matches, thresholds, &predicted[i * na]);
  });

  EvalSummary summary = make_summary(model_names, matches);
  for (size_t i = 0; i < rows.size(); ++i)
    add_decisions(summary, &predicted[i * na], table, rows[i], matches);

  if (has_lnet) {
    EvalSummary centre_all = make_summary(model_names, matches), lnet_sub = centre_all,
                centre_sub = centre_all;
    int64_t no_face = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      add_decisions(centre_all, &centre[i * na], table, rows[i], matches);
      if (!lnet_found[i]) {
        ++no_face;
        continue;
      }
      add_decisions(lnet_sub, &predicted[i * na], table, rows[i], matches);
      add_decisions(centre_sub, &centre[i * na], table, rows[i], matches);
    }
    if (o.json) {
      nlohmann::ordered_json j = {
          {"n_images", summary.n_images},
          {"mean_accuracy", summary.mean_accuracy()},
          {"mean_balanced_accuracy", summary.mean_balanced_accuracy()},
          {"lnet", models.lnet_path},
          {"no_face_images", no_face},
          {"centre_crop", summary_json(centre_all)},
          {"lnet_found_subset",
           {{"lnet_crop", summary_json(lnet_sub)}, {"centre_crop", summary_json(centre_sub)}}}};
      nlohmann::ordered_json per = nlohmann::ordered_json::object();
      for (size_t k = 0; k < na; ++k)
        per[summary.names[k]] = {{"accuracy", summary.counts[k].accuracy()},
                                 {"balanced_accuracy", summary.counts[k].balanced_accuracy()},
                                 {"centre_crop_accuracy", centre_all.counts[k].accuracy()}};
      j["per_attribute"] = std::move(per);
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    } else {
      print_text(summary, missing, o.images_dir, sessions[0].backend_name());
      std::printf(
          "\nwith LNet %s: the strongest face's crop; on %lld of %lld images it found no face and the\n"
          "centre crop stands in (counted above)\n",
          models.lnet_path.c_str(), static_cast<long long>(no_face), static_cast<long long>(rows.size()));
      std::printf("mean accuracy, fixed centre crop      %.4f (balanced %.4f)\n", centre_all.mean_accuracy(),
                  centre_all.mean_balanced_accuracy());
      std::printf("on the %lld images with a face found: LNet crop %.4f, centre crop %.4f\n",
                  static_cast<long long>(lnet_sub.n_images), lnet_sub.mean_accuracy(),
                  centre_sub.mean_accuracy());
    }
  } else if (o.json) {
    print_json(summary);
  } else {
    print_text(summary, missing, o.images_dir, sessions[0].backend_name());
  }
  if (!o.html.empty()) {
    const char* name = faceattr_session_model_metadata(sessions[0].get(), 0, "name");
    ReportContext ctx{models.anet_path, name ? name : "", o.images_dir, o.attrs, sessions[0].backend_name()};
    write_html(html_out, o.html, render_html_report(summary, ctx));
    html_guard.keep = true;
  }
  return 0;
}

}  // namespace

std::vector<Session> localiser_sessions(const CommonOptions& common, size_t n_items, const char* mode,
                                        ModelFiles& models) {
  models = load_models(common, /*discover_lnet=*/true);
  if (models.lnet.empty())
    throw Error(std::string(mode) +
                " needs an LNet model: pass --lnet FILE (or put lnet-int8.fam next to the ANet model)");
  const faceattr_backend backend = parse_backend(common.backend);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1);
  const size_t n_workers = std::max<size_t>(1, std::min(static_cast<size_t>(common.threads), n_items));
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1);
  return sessions;
}

Command add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  o->common.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  CLI::App* sub = app.add_subcommand(
      "eval", "Measure per-attribute accuracy on a CelebA-layout folder and attribute file");
  sub->footer(
      "Images listed in the attribute file but absent from --images are skipped. Model attributes\n"
      "are matched to the file's columns by name. --threads is the number of worker sessions.\n"
      "--json prints {\"n_images\": N, \"mean_accuracy\": A, \"mean_balanced_accuracy\": B,\n"
      "  \"per_attribute\": {\"Male\": {\"accuracy\": ..., \"balanced_accuracy\": ...}, ...}}\n"
      "The LNet beside the ANet model (lnet-int8.fam) is used unless --no-localize: the strongest face's\n"
      "crop (the centre crop when none is found), with the fixed centre crop reported beside it.\n"
      "--scenes N, --real-scenes DIR and --mtfl FILE measure localisation instead; --utkface DIR\n"
      "measures Male by age band and race group on UTKFace chips (docs/cli.md).");
  add_common_options(*sub, o->common, "Worker threads (one session each)");
  CLI::Option* images =
      sub->add_option("--images", o->images_dir, "Folder with the images named in the attribute file");
  CLI::Option* attrs =
      sub->add_option("--attrs", o->attrs, "CelebA attribute file, plain or .gz (list_attr_celeba.txt)");
  sub->add_option("--limit", o->limit, "Evaluate at most N images (the first found, file order)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", o->json, "Print the result as one JSON object");
  sub->add_option("--html", o->html, "Also write a self-contained HTML report with a bar chart");
  sub->add_option("--scenes", o->scenes,
                  "Instead: compose N scenes (320x240 object photos with the images pasted whole, 48-140 px "
                  "wide) and measure localisation and end-to-end accuracy; needs an LNet")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  sub->add_option("--objects", o->objects, "Object photos for --scenes; default: <images>/../../objects");
  sub->add_option(
         "--objects-split", o->objects_split,
         "Backgrounds for --scenes: held-out (sorted photos 0, 10, 20, ...: never in LNet's training "
         "scenes) or all")
      ->check(CLI::IsMember({"held-out", "all"}))
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Scene seed for --scenes")->capture_default_str();
  sub->add_option("--save-scenes", o->save_scenes, "Also write the composed scenes as PPM files to DIR");
  CLI::Option* real = sub->add_option(
      "--real-scenes", o->real_scenes,
      "Instead: localisation on real photos, DIR/boxes.tsv (image, label, x, y, w, h per face) and "
      "DIR/images/; needs an LNet");
  CLI::Option* mtfl = sub->add_option(
      "--mtfl", o->mtfl,
      "Instead: faces found and Male/Smiling/Eyeglasses on MTFL photos (training.txt; image paths "
      "relative to its folder); needs an LNet");
  CLI::Option* utk = sub->add_option(
      "--utkface", o->utkface,
      "Instead: faces found and Male accuracy by age band and race group on UTKFace chips in DIR "
      "(age_gender_race_datetime.jpg.chip.jpg); the localiser when there is one, else whole images");
  CLI::Option* split =
      sub->add_option("--split", o->split,
                      "Images for --real-scenes / --mtfl: all; dev (real scenes: even image number; MTFL: "
                      "every tenth line from the first) or train (the rest)")
          ->check(CLI::IsMember({"all", "dev", "train"}))
          ->capture_default_str();
  for (CLI::Option* opt : {images, attrs}) opt->excludes(real)->excludes(mtfl)->excludes(utk);
  real->excludes(mtfl);
  utk->excludes(real)->excludes(mtfl)->excludes(split);
  for (const char* name : {"--scenes", "--html", "--objects", "--objects-split", "--seed", "--save-scenes"})
    sub->get_option(name)->excludes(real)->excludes(mtfl)->excludes(utk);
  return {sub, [o] { return run_eval(*o); }};
}

}  // namespace faceattr::cli
