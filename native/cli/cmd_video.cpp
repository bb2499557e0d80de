// faceattr video IN [--json] [--out OUT.mp4] [--model M] [--lnet L | --no-localize] ...
// Follows the faces of a video file with the SDK's tracker (faceattr_tracker_track):
// each face keeps a track id, a smoothed box and attributes averaged over frames.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "faceattr/faceattr.hpp"
#include "frame_draw.h"
#include "json_line.h"
#include "track_json.h"
#include "video_io.h"

namespace faceattr::cli {

namespace {

struct VideoOptions {
  CommonOptions common;
  std::string input;
  bool json = false;
  std::string out;
  int top = 3;
  int detect_interval = 0;  // 0: the tracker's default
  int64_t max_frames = 0;   // 0: all
};

// What the end-of-run summary says about one track.
struct TrackSummary {
  int64_t first_frame = 0;
  int64_t last_frame = 0;
  int64_t frames = 0;
  std::vector<double> p_sum;
  std::vector<int64_t> present_frames;
};

void draw_tracks(const Canvas& canvas, TextRenderer& text, const std::vector<std::string>& names,
                 const Tracks& tracks, int top) {
  const int n_attributes = static_cast<int>(names.size());
  for (const faceattr_track& t : tracks) {
    const Rgb color = track_color(t.id);
    draw_box_outline(canvas, t.box, color, 2);
    std::string label = "#" + std::to_string(t.id);
    for (int a : top_present_attributes(t, n_attributes, top)) label += " " + names[static_cast<size_t>(a)];
    // Above the box when there is room, else inside its top edge.
    const int label_h = text.line_height() + 4;
    int y = static_cast<int>(t.box[1]) - label_h;
    if (y < 0) y = static_cast<int>(t.box[1]) + 2;
    const int label_w = text.text_width(label) + 4;
    const int x = std::max(0, std::min(static_cast<int>(t.box[0]), canvas.width - label_w));
    text.draw_label(canvas, x, y, label, color);
  }
}

void print_summary(const VideoOptions& o, const VideoInfo& info, int64_t frames,
                   const std::map<int, TrackSummary>& summaries, const std::vector<std::string>& names,
                   const faceattr_tracker_params& params, const faceattr::Tracker& tracker) {
  const auto stats = tracker.stats();
  std::printf("%s: %lld frames, %dx%d, %.2f fps (%s)\n", o.input.c_str(), static_cast<long long>(frames),
              info.width, info.height, info.fps, info.codec.c_str());
  std::printf("tracks: %zu\n", summaries.size());
  for (const auto& [id, s] : summaries) {
    // The attributes present on more than half of the track's frames, by mean p.
    std::vector<int> attrs;
    for (size_t a = 0; a < names.size(); ++a) {
      if (2 * s.present_frames[a] > s.frames) attrs.push_back(static_cast<int>(a));
    }
    std::stable_sort(attrs.begin(), attrs.end(), [&](int x, int y) { return s.p_sum[x] > s.p_sum[y]; });
    std::string list;
    for (int a : attrs) list += (list.empty() ? "" : ", ") + names[static_cast<size_t>(a)];
    std::printf("  track %d: frames %lld-%lld (seen on %lld): %s\n", id,
                static_cast<long long>(s.first_frame), static_cast<long long>(s.last_frame),
                static_cast<long long>(s.frames), list.empty() ? "no attribute present" : list.c_str());
  }
  std::printf(
      "localiser: %lld full passes, %lld frames by local search (full pass at least every %d frames)\n",
      static_cast<long long>(stats.full_passes), static_cast<long long>(stats.local_passes),
      params.detect_interval);
}

int run_video(const VideoOptions& o) {
  VideoReader reader(o.input);
  const VideoInfo& info = reader.info();
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  Session session(models, parse_backend(o.common.backend), o.common.threads,
                  parse_thresholds(o.common.thresholds));
  const std::vector<std::string> names = session.attribute_names();

  faceattr_tracker_params params = faceattr_tracker_default_params();
  params.fps = static_cast<float>(info.fps);
  if (o.detect_interval > 0) params.detect_interval = o.detect_interval;
  faceattr_tracker* raw = nullptr;
  const faceattr_status created = faceattr_tracker_create(session.get(), &params, &raw);
  if (created != FACEATTR_OK) throw_api_error("cannot create the face tracker", created);
  faceattr::Tracker tracker(raw);

  // Opened before the first frame, so that an unwritable path fails before any output.
  std::unique_ptr<VideoWriter> writer;
  std::unique_ptr<TextRenderer> text;
  if (!o.out.empty()) {
    text = std::make_unique<TextRenderer>(default_font_path(), 12);
    writer = std::make_unique<VideoWriter>(o.out, info.width, info.height, info.fps);
  }

  std::map<int, TrackSummary> summaries;
  VideoFrame frame;
  int64_t n = 0;
  while ((o.max_frames == 0 || n < o.max_frames) && reader.read(frame)) {
    Tracks tracks;
    const faceattr_status st = tracker.try_track(frame.view(), frame.time_ms, &tracks);
    if (st != FACEATTR_OK) {
      throw_api_error("cannot track frame " + std::to_string(frame.index) + " of '" + o.input + "'", st);
    }
    for (const faceattr_track& t : tracks) {
      auto [it, fresh] = summaries.try_emplace(t.id);
      TrackSummary& s = it->second;
      if (fresh) {
        s.first_frame = frame.index;
        s.p_sum.assign(names.size(), 0.0);
        s.present_frames.assign(names.size(), 0);
      }
      s.last_frame = frame.index;
      ++s.frames;
      for (size_t a = 0; a < names.size(); ++a) {
        s.p_sum[a] += t.probs[a];
        s.present_frames[a] += t.present[a] ? 1 : 0;
      }
    }
    if (o.json) {
      print_json_line({{"frame", frame.index},
                       {"time_ms", round_to(frame.time_ms, 3)},
                       {"faces", tracks_to_json(names, tracks.begin(), static_cast<int>(tracks.size()))}});
      std::fflush(stdout);
    }
    if (writer) {
      if (frame.width != info.width || frame.height != info.height) {
        throw Error("cannot write '" + o.out + "': the frame size of '" + o.input + "' changes at frame " +
                    std::to_string(frame.index));
      }
      draw_tracks(Canvas{frame.rgb.data(), frame.width, frame.height}, *text, names, tracks, o.top);
      writer->write(frame.rgb.data(), frame.width * 3, frame.time_ms);
    }
    ++n;
  }
  if (n == 0) throw Error("video '" + o.input + "' has no frames");
  if (writer) writer->finish();

  const auto stats = tracker.stats();
  if (o.json) {
    std::fprintf(stderr,
                 "faceattr video: %lld frames, %lld tracks, %lld full localiser passes, %lld frames by local "
                 "search\n",
                 static_cast<long long>(stats.frames), static_cast<long long>(stats.tracks_started),
                 static_cast<long long>(stats.full_passes), static_cast<long long>(stats.local_passes));
  } else {
    print_summary(o, info, n, summaries, names, params, tracker);
    if (writer) {
      std::printf("wrote %s (%s, %lld frames)\n", o.out.c_str(), writer->codec_name().c_str(),
                  static_cast<long long>(writer->frames_written()));
    }
  }
  return 0;
}

}  // namespace

Command add_video_command(CLI::App& app) {
  auto o = std::make_shared<VideoOptions>();
  CLI::App* sub = app.add_subcommand("video", "Follow the faces of a video file and their attributes");
  sub->footer(
      "Each face keeps a track id across frames; its box is smoothed and its attributes are averaged\n"
      "over the last frames (faceattr_tracker_* in the SDK). Times come from the stream.\n"
      "Output: a summary per track, or with --json one JSON object per frame and line:\n"
      "  {\"frame\": 0, \"time_ms\": 0.0, \"faces\": [{\"track\": 1, \"box\": [x, y, w, h], \"score\": S,\n"
      "    \"attributes\": {\"Male\": {\"p\": 0.97, \"present\": true}, ...}}]}\n"
      "--out writes the frames with each track's box, id and top attributes drawn (H.264 MP4 when\n"
      "FFmpeg has libx264, else MPEG-4 part 2); the font is DejaVu Sans or $FACEATTR_FONT.");
  add_common_options(*sub, o->common, "Kernel worker threads");
  add_thresholds_option(*sub, o->common);
  sub->add_option("input", o->input, "Video file (any container and codec FFmpeg decodes)")->required();
  sub->add_flag("--json", o->json, "JSON Lines output: one object per frame");
  sub->add_option("-o,--out", o->out, "Write the annotated frames to this video file (.mp4)");
  sub->add_option("--top", o->top, "Attributes drawn per face with --out: the present ones of highest p")
      ->check(CLI::Range(0, 40))
      ->capture_default_str();
  sub->add_option("--detect-interval", o->detect_interval,
                  "A full localiser pass at least every N frames (default: the tracker's, 6)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-frames", o->max_frames, "Stop after N frames (default: all)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  return {sub, [o] { return run_video(*o); }};
}

}  // namespace faceattr::cli
