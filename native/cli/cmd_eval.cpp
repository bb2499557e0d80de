// faceattr eval --images DIR [--images DIR2 ...] --attrs FILE [--split all|dev|train [--identities FILE]]
//               [--limit N] [--json] [--html REPORT]
//               [--scenes N [--objects DIR] [--seed S] [--save-scenes DIR]]
// faceattr eval --real-scenes DIR | --mtfl FILE [--split all|dev|train] [--limit N] [--json]
// faceattr eval --utkface DIR [--split all|dev|train] [--limit N] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "celeba_attrs.h"
#include "cli_common.h"
#include "commands.h"
#include "eval_attr_reports.h"
#include "eval_attrs.h"
#include "eval_metrics.h"
#include "eval_run.h"
#include "html_report.h"
#include "image_decode.h"
#include "json_line.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;

struct EvalOptions {
  CommonOptions common;
  std::vector<std::string> images_dirs;  // --images, searched in order for each listed image
  std::string attrs;
  std::string identities;  // --identities: CelebA identity file for --split with --images
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

// The --images folders as one string: "A" or "A or B".
std::string joined_dirs(const std::vector<std::string>& dirs) {
  std::string out;
  for (const std::string& d : dirs) out += (out.empty() ? "" : " or ") + d;
  return out;
}

// CelebA people for --split with --images: dev is every image of an identity
// divisible by 10, the trainer's validation people (val_identity_mod 10 in
// train/configs); train is the rest.
constexpr int kValIdentityMod = 10;

// --identities, or identity_CelebA.txt (plain or .gz) beside the attribute file.
std::string identity_file(const EvalOptions& o) {
  if (!o.identities.empty()) return o.identities;
  const fs::path dir = fs::path(o.attrs).parent_path();
  std::error_code ec;
  for (const char* name : {"identity_CelebA.txt", "identity_CelebA.txt.gz"}) {
    const fs::path p = dir / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw Error("--split " + o.split +
              " needs the CelebA identity file: pass --identities FILE (identity_CelebA.txt, plain or .gz); "
              "there is none beside '" +
              o.attrs + "'");
}

// split_note: empty, or the line that says which people --split kept.
void print_text(const EvalSummary& s, const CalibrationReport& cal, int64_t missing, const std::string& dir,
                const char* backend, const char* thresholds, const std::string& split_note) {
  std::printf("evaluated %lld images", static_cast<long long>(s.n_images));
  if (missing > 0)
    std::printf(" (%lld listed images not in %s)", static_cast<long long>(missing), dir.c_str());
  std::printf(", %zu attributes, backend %s, %s thresholds\n", s.names.size(), backend, thresholds);
  if (!split_note.empty()) std::printf("%s\n", split_note.c_str());
  std::printf("mean accuracy %.4f, mean balanced accuracy %.4f\n\n", s.mean_accuracy(),
              s.mean_balanced_accuracy());
  std::printf("%-22s %9s %9s %10s %7s %10s\n", "attribute", "accuracy", "balanced", "positives", "ECE",
              "distinct p");
  for (size_t i = 0; i < s.names.size(); ++i) {
    const AttrCounts& c = s.counts[i];
    const double pos = c.total() ? static_cast<double>(c.tp + c.fn) / static_cast<double>(c.total()) : 0.0;
    std::printf("%-22s %9.4f %9.4f %10.4f %7.4f %10lld\n", s.names[i].c_str(), c.accuracy(),
                c.balanced_accuracy(), pos, cal.ece[i], static_cast<long long>(cal.distinct[i]));
  }
}

void print_json(const EvalSummary& s, const AttrReports& reports, const std::string& split) {
  nlohmann::ordered_json per = nlohmann::ordered_json::object();
  for (size_t i = 0; i < s.names.size(); ++i) {
    per[s.names[i]] = {{"accuracy", s.counts[i].accuracy()},
                       {"balanced_accuracy", s.counts[i].balanced_accuracy()}};
  }
  nlohmann::ordered_json j = {{"n_images", s.n_images},
                              {"split", split},
                              {"mean_accuracy", s.mean_accuracy()},
                              {"mean_balanced_accuracy", s.mean_balanced_accuracy()},
                              {"per_attribute", std::move(per)}};
  add_reports_json(j, reports);
  print_json_line(j);
}

void write_html(std::ofstream& out, const std::string& path, const std::string& html) {
  out << html;
  out.close();
  if (!out) throw Error("cannot write report '" + path + "'");
}

int run_eval(const EvalOptions& o) {
  if (!o.utkface.empty()) return run_utkface_eval({o.common, o.utkface, o.split, o.limit, o.json});
  if (!o.real_scenes.empty() || !o.mtfl.empty()) {
    LocaliserEvalOptions lo{o.common, !o.real_scenes.empty() ? o.real_scenes : o.mtfl, o.split, o.limit,
                            o.json};
    return !o.real_scenes.empty() ? run_real_scenes_eval(lo) : run_mtfl_eval(lo);
  }
  if (o.images_dirs.empty() || o.attrs.empty())
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
  if (o.scenes > 0 && o.images_dirs.size() > 1) throw Error("--scenes takes one --images folder");
  const AttrTable table = read_celeba_attrs(o.attrs);
  std::error_code ec;
  for (const std::string& dir : o.images_dirs)
    if (!fs::is_directory(dir, ec)) throw Error("image folder '" + dir + "' does not exist");
  const std::string dirs = joined_dirs(o.images_dirs);
  std::unordered_map<std::string, int> identity;
  std::string identity_path;
  if (o.split != "all") {
    identity_path = identity_file(o);
    identity = read_celeba_identities(identity_path);
  }

  // Rows of `table` in the split whose image exists in one of the folders, file order,
  // and each one's path (the first folder that has it).
  std::vector<size_t> rows;
  std::vector<std::string> paths;
  int64_t missing = 0, in_split = 0;
  for (size_t r = 0; r < table.images.size(); ++r) {
    if (o.limit > 0 && static_cast<int64_t>(rows.size()) >= o.limit && o.split == "all") break;
    if (o.split != "all") {
      const auto id = identity.find(table.images[r]);
      if (id == identity.end())
        throw Error("image '" + table.images[r] + "' of '" + o.attrs + "' has no identity in '" +
                    identity_path + "'");
      if ((id->second % kValIdentityMod == 0) != (o.split == "dev")) continue;
    }
    ++in_split;  // counted to the end of the file: the split's size, whatever --limit says
    if (o.limit > 0 && static_cast<int64_t>(rows.size()) >= o.limit) continue;
    bool found = false;
    for (const std::string& dir : o.images_dirs) {
      const fs::path p = fs::path(dir) / table.images[r];
      if (fs::is_regular_file(p, ec)) {
        rows.push_back(r);
        paths.push_back(p.string());
        found = true;
        break;
      }
    }
    if (!found) ++missing;
  }
  const std::string split_note = o.split == "all"
                                     ? ""
                                     : "split " + o.split + ": " + std::to_string(in_split) +
                                           " listed images of people whose CelebA identity is " +
                                           (o.split == "dev" ? "" : "not ") + "divisible by " +
                                           std::to_string(kValIdentityMod) + " (" + identity_path + ")";
  if (rows.empty()) {
    if (o.split != "all") {
      throw Error("none of the " + std::to_string(in_split) + " images of split " + o.split + " listed in '" +
                  o.attrs + "' is in '" + dirs + "'");
    }
    throw Error("none of the " + std::to_string(table.images.size()) + " images listed in '" + o.attrs +
                "' is in '" + dirs + "'");
  }

  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  const bool has_lnet = !models.lnet.empty();
  if (o.scenes > 0 && !has_lnet)
    throw Error(
        "--scenes needs an LNet model: pass --lnet FILE (or put lnet-int8.fam next to the ANet model)");
  const faceattr_backend backend = parse_backend(o.common.backend);
  const faceattr_threshold_policy policy = parse_thresholds(o.common.thresholds);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1, policy);
  const std::vector<std::string> model_names = sessions[0].attribute_names();
  const std::vector<float> thresholds = sessions[0].thresholds();
  const std::vector<AttrMatch> matches = match_attributes(model_names, table);
  const size_t n_items = o.scenes > 0 ? static_cast<size_t>(o.scenes) : rows.size();
  const size_t n_workers = std::min(static_cast<size_t>(o.common.threads), n_items);
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1, policy);

  if (o.scenes > 0) {
    const SceneEvalOptions so{o.images_dirs.front(), o.scenes,        o.objects, o.seed,
                              o.save_scenes,         o.objects_split, o.json};
    return run_scene_eval(so, table, rows, models, sessions, model_names, thresholds, matches);
  }

  // predicted[i * na + k]: attribute k decided present on image rows[i] (with an LNet: its
  // strongest face, or the centre crop when it finds none), from probability prob[i * na + k];
  // centre[...]: the centre crop.
  const size_t na = matches.size();
  std::vector<uint8_t> predicted(rows.size() * na), centre(has_lnet ? rows.size() * na : 0);
  std::vector<float> prob(rows.size() * na);
  auto keep_probs = [&](const float* p, size_t i) {
    for (size_t k = 0; k < na; ++k) prob[i * na + k] = p[matches[k].model_index];
  };
  std::vector<uint8_t> lnet_found(has_lnet ? rows.size() : 0);
  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());

  run_parallel(rows.size(), sessions, "eval", [&](size_t w, size_t i) {
    const std::string& path = paths[i];
    const RgbImage img = decoders[w]->load(path);
    faceattr_session* s = sessions[w].get();
    std::vector<float> probs(model_names.size());
    predict_crop(s, img.view(), probs, "'" + path + "'");
    decide(probs.data(), matches, thresholds, &predicted[i * na]);
    keep_probs(probs.data(), i);
    if (!has_lnet) return;
    std::copy(&predicted[i * na], &predicted[i * na] + na, &centre[i * na]);
    const std::vector<FoundFace> faces = predict_faces(s, img.view(), model_names.size(), "'" + path + "'");
    if (faces.empty()) return;  // counted as no face; the centre crop stands in
    lnet_found[i] = 1;
    decide(faces[0].probs.data(), matches, thresholds, &predicted[i * na]);
    keep_probs(faces[0].probs.data(), i);
  });

  EvalSummary summary = make_summary(model_names, matches);
  for (size_t i = 0; i < rows.size(); ++i)
    add_decisions(summary, &predicted[i * na], table, rows[i], matches);
  const AttrReports reports = make_attr_reports(prob, predicted, table, rows, matches);

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
          {"split", o.split},
          {"mean_accuracy", summary.mean_accuracy()},
          {"mean_balanced_accuracy", summary.mean_balanced_accuracy()},
          {"lnet", models.lnet_path},
          {"views", models.anet_views},
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
      add_reports_json(j, reports);
      print_json_line(j);
    } else {
      print_text(summary, reports.calibration, missing, dirs, sessions[0].backend_name(),
                 thresholds_name(policy), split_note);
      std::printf(
          "\nwith LNet %s: the strongest face's crop; on %lld of %lld images it found no face and the\n"
          "centre crop stands in (counted above)\n",
          models.lnet_path.c_str(), static_cast<long long>(no_face), static_cast<long long>(rows.size()));
      std::printf("mean accuracy, fixed centre crop      %.4f (balanced %.4f)\n", centre_all.mean_accuracy(),
                  centre_all.mean_balanced_accuracy());
      std::printf(
          "on the %lld images with a face found: LNet crop %.4f (balanced %.4f), centre crop %.4f "
          "(balanced %.4f)\n",
          static_cast<long long>(lnet_sub.n_images), lnet_sub.mean_accuracy(),
          lnet_sub.mean_balanced_accuracy(), centre_sub.mean_accuracy(), centre_sub.mean_balanced_accuracy());
      print_reports(reports);
    }
  } else if (o.json) {
    print_json(summary, reports, o.split);
  } else {
    print_text(summary, reports.calibration, missing, dirs, sessions[0].backend_name(),
               thresholds_name(policy), split_note);
    print_reports(reports);
  }
  if (!o.html.empty()) {
    const char* name = faceattr_session_model_metadata(sessions[0].get(), 0, "name");
    ReportContext ctx{models.anet_path, name ? name : "", dirs, o.attrs, sessions[0].backend_name()};
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
  const faceattr_threshold_policy policy = parse_thresholds(common.thresholds);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1, policy);
  const size_t n_workers = std::max<size_t>(1, std::min(static_cast<size_t>(common.threads), n_items));
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1, policy);
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
      "  \"per_attribute\": {\"Male\": {\"accuracy\": ..., \"balanced_accuracy\": ..., \"ece\": ...}, ...},\n"
      "  \"calibration\": {...}, \"slices\": {...}} (calibration; Male x Young x Pale_Skin slices)\n"
      "The LNet beside the ANet model (lnet-int8.fam) is used unless --no-localize: the strongest face's\n"
      "crop (the centre crop when none is found), with the fixed centre crop reported beside it.\n"
      "--scenes N, --real-scenes DIR and --mtfl FILE measure localisation instead; --utkface DIR\n"
      "measures Male by age band, race group and sex on UTKFace chips (docs/cli.md).");
  add_common_options(*sub, o->common, "Worker threads (one session each)");
  add_thresholds_option(*sub, o->common);
  CLI::Option* images = sub->add_option("--images", o->images_dirs,
                                        "Folder with the images named in the attribute file; repeat it for "
                                        "more folders, searched in order (--scenes takes one)");
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
  sub->add_option(
         "--split", o->split,
         "Images: all; dev (--images: people whose CelebA identity is divisible by 10, the trainer's "
         "validation people; real scenes: even image number; MTFL: every tenth line from the "
         "first; UTKFace: DATETIME ending in 0, 1 or 2) or train (the rest)")
      ->check(CLI::IsMember({"all", "dev", "train"}))
      ->capture_default_str();
  CLI::Option* identities = sub->add_option(
      "--identities", o->identities,
      "CelebA identity file for --split with --images, plain or .gz; default: identity_CelebA.txt(.gz) "
      "beside --attrs");
  for (CLI::Option* opt : {images, attrs, identities}) opt->excludes(real)->excludes(mtfl)->excludes(utk);
  real->excludes(mtfl);
  utk->excludes(real)->excludes(mtfl);
  for (const char* name : {"--scenes", "--html", "--objects", "--objects-split", "--seed", "--save-scenes"})
    sub->get_option(name)->excludes(real)->excludes(mtfl)->excludes(utk);
  return {sub, [o] { return run_eval(*o); }};
}

}  // namespace faceattr::cli
