// faceattr_make_clip KIND OUT.mp4 [--seed N] [--frames N] [--size WxH] [--face-seed N]
//                   [--plain-background] [--data DIR] [--truth FILE.jsonl] [--png-dir DIR]
//                   [--rotate 90|180|270] [--fps F]
// Writes a synthetic clip (tests/video/clips.h) to a video file with the CLI's
// writer (native/cli/video_io.h), and optionally its truth, one JSON line per
// frame ({"frame", "time_ms", "faces": [{"person", "box", "visible"}]}), and its
// frames as PNG files (frame_0000.png, ...). --rotate stores the frames turned
// anticlockwise with a display matrix that turns them back, as a phone stores a
// portrait video: a reader that honours it sees the clip (and its truth) upright.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image_write.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clips.h"
#include "video_io.h"

namespace clips = faceattr::clips;

int main(int argc, char** argv) {
  CLI::App app{"Writes a synthetic face clip (tests/video/clips.h) to a video file", "faceattr_make_clip"};
  std::string kind_name, out, size = "320x240", data = clips::default_data_dir(), truth, png_dir;
  uint32_t seed = 1, face_seed = 0;
  int frames = 90, rotate = 0;
  double fps = 30;
  bool plain = false;
  std::string kinds;
  for (clips::Kind k : clips::all_kinds())
    kinds += std::string(kinds.empty() ? "" : ", ") + clips::kind_name(k);
  app.add_option("kind", kind_name, "Clip kind: " + kinds)->required();
  app.add_option("out", out, "Video file to write (.mp4)")->required();
  app.add_option("--seed", seed, "Seed of the motion, noise and background")->capture_default_str();
  app.add_option("--face-seed", face_seed,
                 "0: the first face crops in sorted order; else crops picked with it")
      ->capture_default_str();
  app.add_option("--frames", frames, "Frames")->check(CLI::Range(2, 100000))->capture_default_str();
  app.add_option("--size", size, "Frame size WxH")->capture_default_str();
  app.add_option("--data", data, "Data folder (celeba/test_crops, objects)")->capture_default_str();
  app.add_flag("--plain-background", plain, "A textured grey background instead of a photo");
  app.add_option("--truth", truth, "Write the truth as JSON Lines to this file");
  app.add_option("--png-dir", png_dir, "Also write the frames as PNG files into this folder");
  app.add_option("--fps", fps, "Frame rate (frame times follow it)")
      ->check(CLI::Range(1.0, 240.0))
      ->capture_default_str();
  app.add_option("--rotate", rotate, "Store the frames turned, with a display rotation of this many degrees")
      ->check(CLI::IsMember({0, 90, 180, 270}));
  CLI11_PARSE(app, argc, argv);

  try {
    clips::Kind kind;
    if (!clips::kind_from_name(kind_name, &kind))
      throw std::runtime_error("unknown kind '" + kind_name + "' (" + kinds + ")");
    int w = 0, h = 0;
    if (std::sscanf(size.c_str(), "%dx%d", &w, &h) != 2) throw std::runtime_error("--size must be WxH");
    clips::Clip clip = clips::make_clip_from_data(kind, data, seed, frames, w, h, !plain, face_seed);
    clip.fps = fps;
    for (size_t i = 0; i < clip.frames.size(); ++i)
      clip.frames[i].time_ms = static_cast<double>(i) * 1000.0 / fps;

    const bool swap = rotate == 90 || rotate == 270;
    const int stored_w = swap ? clip.height : clip.width, stored_h = swap ? clip.width : clip.height;
    faceattr::cli::VideoWriter writer(out, stored_w, stored_h, clip.fps, rotate);
    std::vector<uint8_t> stored;
    for (const clips::Frame& f : clip.frames) {
      faceattr::cli::rotate_rgb(f.rgb.data(), clip.width, clip.height, (360 - rotate) % 360, stored);
      writer.write(stored.data(), stored_w * 3, f.time_ms);
    }
    writer.finish();

    if (!truth.empty()) {
      std::ofstream t(truth);
      for (size_t i = 0; i < clip.frames.size(); ++i) {
        const clips::Frame& f = clip.frames[i];
        nlohmann::ordered_json faces = nlohmann::ordered_json::array();
        for (const clips::FaceTruth& ft : f.faces) {
          faces.push_back({{"person", ft.person},
                           {"box", {ft.box[0], ft.box[1], ft.box[2], ft.box[3]}},
                           {"visible", ft.visible}});
        }
        t << nlohmann::ordered_json{{"frame", i}, {"time_ms", f.time_ms}, {"faces", faces}}.dump() << "\n";
      }
      if (!t) throw std::runtime_error("cannot write '" + truth + "'");
    }
    if (!png_dir.empty()) {
      std::filesystem::create_directories(png_dir);
      for (size_t i = 0; i < clip.frames.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/frame_%04zu.png", i);
        const std::string path = png_dir + name;
        if (!stbi_write_png(path.c_str(), clip.width, clip.height, 3, clip.frames[i].rgb.data(),
                            clip.width * 3)) {
          throw std::runtime_error("cannot write '" + path + "'");
        }
      }
    }
    std::printf("%s: %zu frames %dx%d at %.0f fps (%s) -> %s\n", clip.name.c_str(), clip.frames.size(),
                clip.width, clip.height, clip.fps, writer.codec_name().c_str(), out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faceattr_make_clip: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
