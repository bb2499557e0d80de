// faceattr predict [--model M] [--lnet L | --no-localize] [--json] [--track] IMAGE...
// Localises the faces of each image with the LNet beside the ANet (lnet-int8.fam) or --lnet;
// --no-localize takes each image as one face crop. --track takes the images as consecutive
// frames of one stream and reports the SDK tracker's tracks (ids, smoothed boxes and attributes).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "faceattr/faceattr.hpp"
#include "image_decode.h"
#include "json_line.h"
#include "track_json.h"

namespace faceattr::cli {

namespace {

struct PredictOptions {
  CommonOptions common;
  std::vector<std::string> images;
  bool json = false;
  bool track = false;
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

void print_track_table(const std::vector<std::string>& names, const std::string& path, const RgbImage& img,
                       const Tracks& tracks) {
  std::printf("%s (%dx%d): %zu face%s\n", path.c_str(), img.width, img.height, tracks.size(),
              tracks.size() == 1 ? "" : "s");
  for (const faceattr_track& t : tracks) {
    std::printf("track %d: box x=%.0f y=%.0f w=%.0f h=%.0f, score %.3f\n", t.id, t.box[0], t.box[1], t.box[2],
                t.box[3], t.score);
    std::printf("  %-22s %6s  %s\n", "attribute", "p", "present");
    for (size_t a = 0; a < names.size(); ++a) {
      std::printf("  %-22s %6.3f  %s\n", names[a].c_str(), t.probs[a], t.present[a] ? "yes" : "");
    }
  }
}

// --track: the images are the frames of one stream, 1 / fps apart (the tracker's default fps).
int run_predict_tracked(const PredictOptions& o, Session& session) {
  faceattr_tracker* raw = nullptr;
  const faceattr_status created = faceattr_tracker_create(session.get(), nullptr, &raw);
  if (created != FACEATTR_OK) throw_api_error("cannot create the face tracker", created);
  faceattr::Tracker tracker(raw);
  const std::vector<std::string> names = session.attribute_names();
  ImageDecoder decoder;
  for (size_t i = 0; i < o.images.size(); ++i) {
    const std::string& path = o.images[i];
    const RgbImage img = decoder.load(path);
    Tracks tracks;
    const faceattr_status st = tracker.try_track(img.view(), -1.0, &tracks);
    if (st != FACEATTR_OK) throw_api_error("cannot track '" + path + "'", st);
    if (o.json) {
      nlohmann::ordered_json line = {
          {"image", path}, {"faces", tracks_to_json(names, tracks.begin(), static_cast<int>(tracks.size()))}};
      print_json_line(line);
    } else {
      if (i > 0) std::printf("\n");
      print_track_table(names, path, img, tracks);
    }
    std::fflush(stdout);
  }
  return 0;
}

int run_predict(const PredictOptions& o) {
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  Session session(models, parse_backend(o.common.backend), o.common.threads,
                  parse_thresholds(o.common.thresholds));
  if (o.track) return run_predict_tracked(o, session);
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
      "    \"attributes\": {\"Male\": {\"p\": 0.97, \"present\": true}, ...}}]}\n"
      "--track takes the images as consecutive frames of one stream (1/30 s apart): each face gains\n"
      "\"track\": ID, its box is smoothed and its attributes are averaged over the frames.");
  add_common_options(*sub, o->common, "Kernel worker threads");
  add_thresholds_option(*sub, o->common);
  sub->add_flag("--json", o->json, "JSON Lines output: one object per image");
  sub->add_flag("--track", o->track, "Track faces across the images, taken as consecutive video frames");
  sub->add_option("images", o->images, "Image files: JPEG, PNG, BMP, TGA, GIF, PNM")->required();
  return {sub, [o] { return run_predict(*o); }};
}

}  // namespace faceattr::cli
