// faceattr explain [--attrs A,B] [--json] [--out DIR] IMAGE...
// faceattr explain --mtfl FILE [--split all|dev|train] [--limit N] [--json]
// Where each attribute comes from: the class-activation map of each face and
// attribute (faceattr_session_explain), its peak, and with --out a PNG of the map
// over the photo. --mtfl measures where the Smiling and Eyeglasses peaks fall
// (explain_peaks.cpp). docs/cli.md, "explain".
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "eval_run.h"
#include "explain_heatmap.h"
#include "image_decode.h"
#include "json_line.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;

struct ExplainOptions {
  CommonOptions common;
  std::vector<std::string> images;
  std::vector<std::string> attrs;  // names; empty: each face's present attributes
  bool json = false;
  std::string out_dir;
  std::string mtfl;
  std::string split = "all";
  int64_t limit = 0;
};

std::vector<int32_t> attribute_indices(const std::vector<std::string>& names,
                                       const std::vector<std::string>& wanted) {
  std::vector<int32_t> out;
  for (const std::string& w : wanted) {
    const int32_t found = attribute_index(names, w);
    if (found < 0)
      throw Error("unknown attribute '" + w +
                  "' in --attrs; the model's attributes: " + CLI::detail::join(names, ", "));
    out.push_back(found);
  }
  return out;
}

nlohmann::ordered_json box_json(const float* b) {
  return {round_to(b[0], 3), round_to(b[1], 3), round_to(b[2], 3), round_to(b[3], 3)};
}

nlohmann::ordered_json explanation_json(const faceattr_explanation& e) {
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  for (int32_t i = 0; i < e.width * e.height; ++i) values.push_back(round_to(e.map[i], 6));
  nlohmann::ordered_json map = {
      {"box", box_json(e.box)}, {"width", e.width}, {"height", e.height}, {"values", values}};
  if (e.average_map) {
    nlohmann::ordered_json average = nlohmann::ordered_json::array();
    for (int32_t i = 0; i < e.width * e.height; ++i) average.push_back(round_to(e.average_map[i], 6));
    map["average"] = std::move(average);
    map["contrast"] = e.contrast;
  }
  nlohmann::ordered_json concepts = nlohmann::ordered_json::array();
  for (int32_t k = 0; k < e.n_concepts; ++k)
    concepts.push_back(
        {{"name", e.concepts[k].name}, {"contribution", round_to(e.concepts[k].contribution, 4)}});
  return {{"p", round_to(e.probability, 6)},
          {"logit", round_to(e.logit, 6)},
          {"peak", {round_to(e.peak[0], 3), round_to(e.peak[1], 3)}},
          {"map", std::move(map)},
          {"concepts", std::move(concepts)}};
}

// One attribute's line, then its top concepts (at most 3) with their contributions.
void print_explanation(const std::string& name, const faceattr_explanation& e) {
  std::printf("  %-22s p %.3f  peak (%.0f, %.0f)\n", name.c_str(), e.probability, e.peak[0], e.peak[1]);
  for (int32_t k = 0; k < e.n_concepts && k < 3; ++k)
    std::printf("    %+7.2f  %s\n", e.concepts[k].contribution, e.concepts[k].name);
}

std::string png_name(const std::string& image, int face, const std::string& attr) {
  return fs::path(image).stem().string() + "_face" + std::to_string(face + 1) + "_" + attr + ".png";
}

int run_explain(const ExplainOptions& o) {
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  Session session(models, parse_backend(o.common.backend), o.common.threads,
                  parse_thresholds(o.common.thresholds));
  const std::vector<std::string> names = session.attribute_names();
  const std::vector<int32_t> chosen = attribute_indices(names, o.attrs);
  if (!o.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (!fs::is_directory(o.out_dir, ec)) throw Error("cannot create the --out folder '" + o.out_dir + "'");
  }
  ImageDecoder decoder;
  std::vector<faceattr_explanation> ex;
  for (size_t i = 0; i < o.images.size(); ++i) {
    const std::string& path = o.images[i];
    const RgbImage img = decoder.load(path);
    const faceattr_image view = img.view();
    const faceattr_face* faces = nullptr;
    int32_t n_faces = 0;
    faceattr_status st = faceattr_session_predict(session.get(), &view, &faces, &n_faces);
    if (st != FACEATTR_OK) throw_api_error("cannot predict '" + path + "'", st);
    nlohmann::ordered_json faces_json = nlohmann::ordered_json::array();
    if (!o.json)
      std::printf("%s%s (%dx%d): %d face%s\n", i > 0 ? "\n" : "", path.c_str(), img.width, img.height,
                  n_faces, n_faces == 1 ? "" : "s");
    for (int32_t f = 0; f < n_faces; ++f) {
      std::vector<int32_t> attrs = chosen;
      if (o.attrs.empty())
        for (int32_t a = 0; a < static_cast<int32_t>(names.size()); ++a)
          if (faces[f].present[a]) attrs.push_back(a);
      ex.resize(attrs.size());
      st = faceattr_session_explain(session.get(), f, attrs.data(), static_cast<int32_t>(attrs.size()),
                                    ex.data());
      if (st != FACEATTR_OK) throw_api_error("cannot explain '" + path + "'", st);
      nlohmann::ordered_json per = nlohmann::ordered_json::object();
      if (!o.json)
        std::printf("face %d: box x=%.0f y=%.0f w=%.0f h=%.0f\n", f + 1, faces[f].box[0], faces[f].box[1],
                    faces[f].box[2], faces[f].box[3]);
      for (size_t k = 0; k < attrs.size(); ++k) {
        const faceattr_explanation& e = ex[k];
        const std::string& name = names[static_cast<size_t>(attrs[k])];
        if (o.json)
          per[name] = explanation_json(e);
        else
          print_explanation(name, e);
        if (!o.out_dir.empty())
          write_heatmap_png((fs::path(o.out_dir) / png_name(path, f, name)).string(), img, e, faces[f].box);
      }
      if (o.json) faces_json.push_back({{"box", box_json(faces[f].box)}, {"explain", std::move(per)}});
    }
    if (o.json) {
      const nlohmann::ordered_json line = {{"image", path}, {"faces", std::move(faces_json)}};
      print_json_line(line);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

Command add_explain_command(CLI::App& app) {
  auto o = std::make_shared<ExplainOptions>();
  CLI::App* sub = app.add_subcommand("explain", "Show where each attribute comes from on the face (its map)");
  sub->footer(
      "Per face and attribute: the class-activation map of ANet's last feature map (its mean plus the\n"
      "FC bias is the logit) and its peak, in image pixels. Attributes: --attrs, else each face's\n"
      "present ones. Output: p and peak per face and attribute and the top 3 concepts behind it (the\n"
      "model's concept heads), or with --json one object per image and line:\n"
      "  {\"image\": PATH, \"faces\": [{\"box\": [x, y, w, h], \"explain\": {\"Smiling\": {\"p\": 0.93,\n"
      "    \"logit\": 2.6, \"peak\": [x, y], \"map\": {\"box\": [x, y, w, h], \"width\": W, \"height\": H,\n"
      "    \"values\": [...]}, \"concepts\": [{\"name\": \"...\", \"contribution\": 1.7}]}}}]}\n"
      "--out DIR writes DIR/<image>_face<N>_<attribute>.png: the map over the photo.\n"
      "--mtfl FILE: how often the Smiling peak is nearer the mouth than the eyes on smiling faces, and\n"
      "the Eyeglasses peak nearer the eyes than the mouth on faces with glasses (MTFL landmarks).");
  add_common_options(*sub, o->common, "Kernel worker threads (--mtfl: parallel sessions)");
  add_thresholds_option(*sub, o->common);
  CLI::Option* attrs =
      sub->add_option("--attrs", o->attrs,
                      "Attributes to explain, comma-separated names (default: the present ones)")
          ->delimiter(',')
          ->allow_extra_args(false);
  sub->add_flag("--json", o->json, "JSON Lines output: one object per image");
  CLI::Option* out = sub->add_option("--out", o->out_dir, "Write a PNG heat map per face and attribute here");
  CLI::Option* images = sub->add_option("images", o->images, "Image files: JPEG, PNG, BMP, TGA, GIF, PNM");
  CLI::Option* mtfl =
      sub->add_option("--mtfl", o->mtfl, "Peak locations on MTFL photos (training.txt or testing.txt)");
  CLI::Option* split =
      sub->add_option("--split", o->split,
                      "--mtfl records: all; dev (every 10th, index % 10 == 0); train (the rest)")
          ->check(CLI::IsMember({"all", "dev", "train"}))
          ->capture_default_str();
  CLI::Option* limit = sub->add_option("--limit", o->limit, "--mtfl: at most N records of the split");
  mtfl->excludes(images)->excludes(out)->excludes(attrs);
  split->needs(mtfl);
  limit->needs(mtfl);
  return {sub, [o] {
            if (!o->mtfl.empty()) return run_explain_peaks({o->common, o->mtfl, o->split, o->limit, o->json});
            if (o->images.empty()) throw Error("explain needs IMAGE files (or --mtfl FILE)");
            return run_explain(*o);
          }};
}

}  // namespace faceattr::cli
