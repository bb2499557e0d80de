// faceattr predict [--model M] [--lnet L | --no-localize] [--json] IMAGE...
// Localises the faces of each image with the LNet beside the ANet (lnet-int8.fam) or --lnet;
// --no-localize takes each image as one face crop.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "image_decode.h"
#include "json_line.h"

namespace faceattr::cli {

namespace {

struct PredictOptions {
  CommonOptions common;
  std::vector<std::string> images;
  bool json = false;
};

nlohmann::ordered_json faces_to_json(const Session& s, const faceattr_face* faces, int n_faces) {
  const std::vector<std::string> names = s.attribute_names();
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (int f = 0; f < n_faces; ++f) {
    const faceattr_face& face = faces[f];
    nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
    for (size_t a = 0; a < names.size(); ++a) {
      attrs[names[a]] = {{"p", round_to(face.probs[a], 6)}, {"present", face.present[a] != 0}};
    }
    out.push_back({{"box",
                    {round_to(face.box[0], 3), round_to(face.box[1], 3), round_to(face.box[2], 3),
                     round_to(face.box[3], 3)}},
                   {"score", round_to(face.score, 6)},
                   {"attributes", std::move(attrs)}});
  }
  return out;
}

void print_table(const Session& s, const std::string& path, const RgbImage& img, const faceattr_face* faces,
                 int n_faces) {
  const std::vector<std::string> names = s.attribute_names();
  std::printf("%s (%dx%d): %d face%s\n", path.c_str(), img.width, img.height, n_faces,
              n_faces == 1 ? "" : "s");
  for (int f = 0; f < n_faces; ++f) {
    const faceattr_face& face = faces[f];
    std::printf("face %d: box x=%.0f y=%.0f w=%.0f h=%.0f, score %.3f\n", f + 1, face.box[0], face.box[1],
                face.box[2], face.box[3], face.score);
    std::printf("  %-22s %6s  %s\n", "attribute", "p", "present");
    for (size_t a = 0; a < names.size(); ++a) {
      std::printf("  %-22s %6.3f  %s\n", names[a].c_str(), face.probs[a], face.present[a] ? "yes" : "");
    }
  }
}

int run_predict(const PredictOptions& o) {
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  Session session(models, parse_backend(o.common.backend), o.common.threads);
  ImageDecoder decoder;
  for (size_t i = 0; i < o.images.size(); ++i) {
    const std::string& path = o.images[i];
    const RgbImage img = decoder.load(path);
    const faceattr_image view = img.view();
    const faceattr_face* faces = nullptr;
    int32_t n_faces = 0;
    faceattr_status st = faceattr_session_predict(session.get(), &view, &faces, &n_faces);
    if (st != FACEATTR_OK) throw_api_error("cannot predict '" + path + "'", st);
    if (o.json) {
      nlohmann::ordered_json line = {{"image", path}, {"faces", faces_to_json(session, faces, n_faces)}};
      print_json_line(line);
    } else {
      if (i > 0) std::printf("\n");
      print_table(session, path, img, faces, n_faces);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Predict the attributes of the faces in one or more images");
  sub->footer(
      "Faces are localised by the LNet model next to the ANet model (lnet-int8.fam) or --lnet;\n"
      "--no-localize takes each image as one face (the centre crop at the model's aspect).\n"
      "Output: a table per image, or with --json one JSON object per image and line:\n"
      "  {\"image\": PATH, \"faces\": [{\"box\": [x, y, w, h], \"score\": S,\n"
      "    \"attributes\": {\"Male\": {\"p\": 0.97, \"present\": true}, ...}}]}");
  add_common_options(*sub, o->common, "Kernel worker threads");
  sub->add_flag("--json", o->json, "JSON Lines output: one object per image");
  sub->add_option("images", o->images, "Image files: JPEG, PNG, BMP, TGA, GIF, PNM")->required();
  return {sub, [o] { return run_predict(*o); }};
}

}  // namespace faceattr::cli
