// faceattr bench [--runs N] [--warmup W] [--image F] [--size WxH] [--paste F... [--grid CxR]]
//                [--backend B|all] [--track] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer's allocator replaces malloc (mallinfo2 does not see it); libasan exports this.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

#include "cli_common.h"
#include "commands.h"
#include "cpu_info.h"
#include "image_decode.h"
#include "json_line.h"
#include "scenes.h"

namespace faceattr::cli {

namespace {

struct BenchOptions {
  CommonOptions common;
  int runs = 100;
  int warmup = 10;
  std::string image;
  std::string size;                // --size WxH; empty: the image's own size (synthetic: 320x240)
  std::vector<std::string> paste;  // --paste: face crops pasted onto the frame on a grid
  std::string grid;                // --grid CxR; empty: near-square for the number of faces
  bool json = false;
  bool track = false;  // --track: the tracker's cost per frame against predict's
};

// Memory of this process, for the per-session figures (Linux; -1 where unknown).
// heap: bytes malloc has handed out and not had back (glibc mallinfo2: in-use
// chunks + mmapped blocks; under AddressSanitizer, its allocator's count).
// rss / peak_rss: VmRSS / VmHWM of /proc/self/status.
struct MemorySample {
  int64_t heap = -1, rss = -1, peak_rss = -1;
};

MemorySample sample_memory() {
  MemorySample m;
#if defined(__SANITIZE_ADDRESS__)
  m.heap = static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = mallinfo2();
  m.heap = static_cast<int64_t>(mi.uordblks + mi.hblkhd);
#endif
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    int64_t kib = 0;
    std::istringstream in(line.substr(line.find(':') + 1));
    if (line.rfind("VmRSS:", 0) == 0 && (in >> kib)) m.rss = kib * 1024;
    if (line.rfind("VmHWM:", 0) == 0 && (in >> kib)) m.peak_rss = kib * 1024;
  }
  return m;
}

int64_t delta(int64_t after, int64_t before) { return after < 0 || before < 0 ? -1 : after - before; }

// "AxB" -> {A, B}; throws Error (naming `option`) on anything else or values outside lo..hi.
std::pair<int, int> parse_pair(const std::string& s, const char* option, const char* form, int lo, int hi) {
  int a = 0, b = 0;
  char x = 0, extra = 0;
  if (std::sscanf(s.c_str(), "%d%c%d%c", &a, &x, &b, &extra) != 3 || (x != 'x' && x != 'X') || a < lo ||
      b < lo || a > hi || b > hi) {
    throw Error(std::string(option) + " must be " + form + " with both in " + std::to_string(lo) + ".." +
                std::to_string(hi) + ", got '" + s + "'");
  }
  return {a, b};
}

// The faces in `files` pasted onto `frame`, one per cell of a grid of
// cols x rows cells filled row by row (default: near-square, ceil(sqrt(n))
// columns), each scaled to 80% of its cell (aspect kept) and centred in it: a
// frame with n known, non-overlapping faces.
RgbImage paste_faces(const RgbImage& frame, const std::vector<std::string>& files, const std::string& grid) {
  const int n = static_cast<int>(files.size());
  int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  int rows = (n + cols - 1) / cols;
  if (!grid.empty()) {
    std::tie(cols, rows) = parse_pair(grid, "--grid", "CxR", 1, 64);
    if (cols * rows < n) {
      throw Error("--grid " + grid + " has " + std::to_string(cols * rows) + " cells for " +
                  std::to_string(n) + " faces");
    }
  }
  const int cw = frame.width / cols, ch = frame.height / rows;
  if (cw < 8 || ch < 8)
    throw Error("the paste grid's cells are under 8 pixels: use fewer faces or a larger --size");
  ImageDecoder decoder;
  std::vector<RgbImage> faces;
  std::vector<const RgbImage*> ptrs;
  std::vector<Rect> rects;
  faces.reserve(files.size());
  for (int i = 0; i < n; ++i) {
    faces.push_back(decoder.load(files[i]));
    const RgbImage& f = faces.back();
    const double scale =
        0.8 * std::min(static_cast<double>(cw) / f.width, static_cast<double>(ch) / f.height);
    const int w = std::max(1, static_cast<int>(f.width * scale)),
              h = std::max(1, static_cast<int>(f.height * scale));
    rects.push_back({(i % cols) * cw + (cw - w) / 2, (i / cols) * ch + (ch - h) / 2, w, h});
    ptrs.push_back(&f);
  }
  SceneConfig c;
  c.width = frame.width;
  c.height = frame.height;
  return compose_scene(c, frame, ptrs, rects);
}

struct Stat {
  double median = 0, p90 = 0;
};

// Median (mean of the two middle values for even n) and nearest-rank p90.
Stat summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  Stat s;
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.p90 = v[static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1];
  return s;
}

struct BackendResult {
  std::string backend;
  std::string error;  // not empty: the backend could not run this model
  Stat preprocess, lnet, anet, total;
  int faces = 0;  // faces predict returned on the frame (1 without an LNet)
  // Around the session: heap held after creation + warm-up; RSS growth over creation + warm-up.
  int64_t session_heap_bytes = -1, rss_delta_bytes = -1;
};

BackendResult bench_backend(const ModelFiles& models, faceattr_backend backend, const BenchOptions& o,
                            const RgbImage& img) {
  const MemorySample before = sample_memory();
  Session session(models, backend, o.common.threads);
  BackendResult r;
  r.backend = session.backend_name();
  const faceattr_image view = img.view();
  std::vector<double> pre, lnet, anet, total;
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    const faceattr_face* faces = nullptr;
    int32_t n_faces = 0;
    const auto t0 = std::chrono::steady_clock::now();
    faceattr_status st = faceattr_session_predict(session.get(), &view, &faces, &n_faces);
    const auto t1 = std::chrono::steady_clock::now();
    if (st != FACEATTR_OK) throw_api_error(std::string("predict failed on backend ") + r.backend, st);
    r.faces = n_faces;
    if (i + 1 == std::max(o.warmup, 1)) {
      const MemorySample after = sample_memory();
      r.session_heap_bytes = delta(after.heap, before.heap);
      r.rss_delta_bytes = delta(after.rss, before.rss);
    }
    if (i < o.warmup) continue;
    faceattr_timings t{};
    st = faceattr_session_last_timings(session.get(), &t);
    if (st != FACEATTR_OK) throw_api_error("cannot read timings", st);
    pre.push_back(t.preprocess_ms);
    lnet.push_back(t.lnet_ms);
    anet.push_back(t.anet_ms);
    total.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  r.preprocess = summarize(pre);
  r.lnet = summarize(lnet);
  r.anet = summarize(anet);
  r.total = summarize(total);
  return r;
}

nlohmann::ordered_json stat_json(const Stat& s) {
  return {{"median", round_to(s.median, 4)}, {"p90", round_to(s.p90, 4)}};
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// --track: per frame, in interleaved rounds on the same frame, the wall time of
//   predict         faceattr_session_predict (the full pipeline);
//   track_full      faceattr_tracker_track with a full localiser pass on every frame;
//   track           faceattr_tracker_track with the default detect_interval (local
//                   searches between full passes): its mean over frames is the cost of a
//                   tracked stream;
//   update          faceattr_tracker_update on predict's faces: the tracking alone
//                   (matching, filters, averaging), no network.
struct TrackResult {
  std::string backend;
  Stat predict, track_full, track, update;
  double predict_mean = 0, track_full_mean = 0, track_mean = 0, update_mean = 0;
  int detect_interval = 0, faces = 0;
  int64_t full_passes = 0, local_passes = 0;
};

TrackResult bench_tracking(const ModelFiles& models, faceattr_backend backend, const BenchOptions& o,
                           const RgbImage& img) {
  Session plain(models, backend, o.common.threads), every(models, backend, o.common.threads),
      skipping(models, backend, o.common.threads), fed(models, backend, o.common.threads);
  faceattr_tracker_params full_params = faceattr_tracker_default_params();
  full_params.detect_interval = 1;
  const faceattr_tracker_params params = faceattr_tracker_default_params();
  struct TrackerHandle {
    faceattr_tracker* t = nullptr;
    ~TrackerHandle() { faceattr_tracker_free(t); }
  } t_every, t_skipping, t_fed;
  faceattr_status st = faceattr_tracker_create(every.get(), &full_params, &t_every.t);
  if (st == FACEATTR_OK) st = faceattr_tracker_create(skipping.get(), &params, &t_skipping.t);
  if (st == FACEATTR_OK) st = faceattr_tracker_create(fed.get(), &params, &t_fed.t);
  if (st != FACEATTR_OK) throw_api_error("cannot create a tracker", st);
  TrackResult r;
  r.backend = plain.backend_name();
  r.detect_interval = params.detect_interval;
  const faceattr_image view = img.view();
  std::vector<double> predict, track_full, track, update;
  using clock = std::chrono::steady_clock;
  const auto ms = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    const faceattr_face* faces = nullptr;
    const faceattr_track* tracks = nullptr;
    int32_t n_faces = 0, n_tracks = 0;
    double frame_ms = 1000.0 / 30.0 * i;
    const auto t0 = clock::now();
    st = faceattr_session_predict(plain.get(), &view, &faces, &n_faces);
    const auto t1 = clock::now();
    if (st != FACEATTR_OK) throw_api_error("predict failed", st);
    st = faceattr_tracker_update(t_fed.t, faces, n_faces, nullptr, 0, frame_ms, &tracks, &n_tracks);
    const auto t2 = clock::now();
    if (st != FACEATTR_OK) throw_api_error("tracker update failed", st);
    st = faceattr_tracker_track(t_every.t, &view, frame_ms, &tracks, &n_tracks);
    const auto t3 = clock::now();
    if (st != FACEATTR_OK) throw_api_error("tracking (full passes) failed", st);
    st = faceattr_tracker_track(t_skipping.t, &view, frame_ms, &tracks, &n_tracks);
    const auto t4 = clock::now();
    if (st != FACEATTR_OK) throw_api_error("tracking failed", st);
    r.faces = n_faces;
    if (i < o.warmup) continue;
    predict.push_back(ms(t0, t1));
    update.push_back(ms(t1, t2));
    track_full.push_back(ms(t2, t3));
    track.push_back(ms(t3, t4));
  }
  faceattr_tracker_stats stats{};
  faceattr_tracker_get_stats(t_skipping.t, &stats);
  r.full_passes = stats.full_passes;
  r.local_passes = stats.local_passes;
  r.predict = summarize(predict);
  r.track_full = summarize(track_full);
  r.track = summarize(track);
  r.update = summarize(update);
  r.predict_mean = mean_of(predict);
  r.track_full_mean = mean_of(track_full);
  r.track_mean = mean_of(track);
  r.update_mean = mean_of(update);
  return r;
}

int print_tracking(const TrackResult& r, const ModelFiles& models, const std::string& image_name,
                   const RgbImage& img, const BenchOptions& o) {
  const auto row = [](const Stat& s, double mean) {
    return nlohmann::ordered_json{
        {"median", round_to(s.median, 4)}, {"p90", round_to(s.p90, 4)}, {"mean", round_to(mean, 4)}};
  };
  const double ratio = r.predict_mean > 0 ? r.track_mean / r.predict_mean : 0.0;
  if (o.json) {
    nlohmann::ordered_json j = {{"model", models.anet_path},
                                {"lnet", models.lnet_path},
                                {"image", image_name},
                                {"width", img.width},
                                {"height", img.height},
                                {"threads", o.common.threads},
                                {"views", models.anet_views},
                                {"runs", o.runs},
                                {"warmup", o.warmup},
                                {"backend", r.backend},
                                {"faces", r.faces},
                                {"detect_interval", r.detect_interval},
                                {"predict_ms", row(r.predict, r.predict_mean)},
                                {"track_full_ms", row(r.track_full, r.track_full_mean)},
                                {"track_ms", row(r.track, r.track_mean)},
                                {"update_ms", row(r.update, r.update_mean)},
                                {"full_passes", r.full_passes},
                                {"local_passes", r.local_passes},
                                {"track_vs_predict_mean", round_to(ratio, 4)},
                                {"machine", machine_json(describe_cpu())}};
    print_json_line(j);
    return 0;
  }
  std::printf("model %s, image %s %dx%d, %d thread%s, backend %s, %d frames after %d warm-up, %d face%s\n",
              models.anet_path.c_str(), image_name.c_str(), img.width, img.height, o.common.threads,
              o.common.threads == 1 ? "" : "s", r.backend.c_str(), o.runs, o.warmup, r.faces,
              r.faces == 1 ? "" : "s");
  if (!models.lnet_path.empty()) std::printf("LNet %s\n", models.lnet_path.c_str());
  std::printf("%-34s %9s %9s %9s\n", "ms per frame", "median", "p90", "mean");
  const auto line = [](const char* name, const Stat& s, double mean) {
    std::printf("%-34s %9.4f %9.4f %9.4f\n", name, s.median, s.p90, mean);
  };
  line("predict (full pipeline)", r.predict, r.predict_mean);
  line("track, full pass every frame", r.track_full, r.track_full_mean);
  char name[64];
  std::snprintf(name, sizeof name, "track, full pass every %d frames", r.detect_interval);
  line(name, r.track, r.track_mean);
  line("tracking alone (tracker_update)", r.update, r.update_mean);
  std::printf("localiser: %lld full passes, %lld frames of local searches (all frames, warm-up included)\n",
              static_cast<long long>(r.full_passes), static_cast<long long>(r.local_passes));
  std::printf("tracked stream / predict, mean per frame: %.3fx\n", ratio);
  return 0;
}

int run_bench(const BenchOptions& o) {
  // The localiser as predict runs it: beside the ANet or --lnet; --no-localize times ANet alone.
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  RgbImage img;
  std::string image_name = "synthetic";
  std::optional<std::pair<int, int>> size;
  if (!o.size.empty()) size = parse_pair(o.size, "--size", "WxH", 16, 8192);
  if (o.image.empty()) {
    img = size ? synthetic_frame(size->first, size->second) : synthetic_frame(320, 240);
  } else {
    ImageDecoder decoder;
    img = decoder.load(o.image);
    image_name = o.image;
    if (size) img = resize_cover(img, size->first, size->second);
  }
  if (!o.grid.empty() && o.paste.empty()) throw Error("--grid needs --paste");
  if (!o.paste.empty()) img = paste_faces(img, o.paste, o.grid);
  const int64_t model_bytes = static_cast<int64_t>(models.anet.size() + models.lnet.size());
  if (o.track) {
    if (o.common.backend == "all") throw Error("--track times one backend: pick one with --backend");
    return print_tracking(bench_tracking(models, parse_backend(o.common.backend), o, img), models, image_name,
                          img, o);
  }

  std::vector<BackendResult> results;
  if (o.common.backend == "all") {
    for (faceattr_backend b : {FACEATTR_BACKEND_REFERENCE, FACEATTR_BACKEND_XNNPACK, FACEATTR_BACKEND_SIMD}) {
      if (!faceattr_backend_available(b)) continue;
      try {
        results.push_back(bench_backend(models, b, o, img));
      } catch (const Error& e) {
        // One backend that cannot run this model does not stop the comparison.
        BackendResult r;
        r.backend = faceattr_backend_name(b);
        r.error = e.what();
        results.push_back(r);
      }
    }
  } else {
    results.push_back(bench_backend(models, parse_backend(o.common.backend), o, img));
  }

  std::optional<double> reference_total;
  for (const BackendResult& r : results) {
    if (r.backend == "reference" && r.error.empty()) reference_total = r.total.median;
  }

  if (o.json) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const BackendResult& r : results) {
      nlohmann::ordered_json row = {{"backend", r.backend}};
      if (!r.error.empty()) {
        row["error"] = r.error;
      } else {
        row["preprocess_ms"] = stat_json(r.preprocess);
        row["lnet_ms"] = stat_json(r.lnet);
        row["anet_ms"] = stat_json(r.anet);
        row["total_ms"] = stat_json(r.total);
        row["faces"] = r.faces;
        row["memory"] = {{"session_heap_bytes", r.session_heap_bytes},
                         {"rss_delta_bytes", r.rss_delta_bytes}};
        row["speedup_vs_reference"] =
            reference_total ? nlohmann::ordered_json(round_to(*reference_total / r.total.median, 3))
                            : nullptr;
      }
      rows.push_back(std::move(row));
    }
    nlohmann::ordered_json j = {{"model", models.anet_path},
                                {"lnet", models.lnet_path},
                                {"image", image_name},
                                {"width", img.width},
                                {"height", img.height},
                                {"faces_pasted", o.paste.size()},
                                {"model_bytes", model_bytes},
                                {"peak_rss_bytes", sample_memory().peak_rss},
                                {"threads", o.common.threads},
                                {"views", models.anet_views},
                                {"runs", o.runs},
                                {"warmup", o.warmup},
                                {"results", std::move(rows)},
                                {"machine", machine_json(describe_cpu())}};
    print_json_line(j);
    return 0;
  }

  std::printf("model %s, image %s %dx%d, %d thread%s, %d runs after %d warm-up\n", models.anet_path.c_str(),
              image_name.c_str(), img.width, img.height, o.common.threads, o.common.threads == 1 ? "" : "s",
              o.runs, o.warmup);
  if (!models.lnet_path.empty()) std::printf("LNet %s\n", models.lnet_path.c_str());
  if (!o.paste.empty()) std::printf("%zu face crops pasted on a grid\n", o.paste.size());
  std::printf("%-10s %17s %17s %17s %17s %10s %6s\n", "", "preprocess ms", "lnet ms", "anet ms", "total ms",
              "speedup vs", "");
  std::printf("%-10s", "backend");
  for (int i = 0; i < 4; ++i) std::printf(" %8s %8s", "median", "p90");
  std::printf(" %10s %6s\n", "reference", "faces");
  for (const BackendResult& r : results) {
    if (!r.error.empty()) {
      std::printf("%-10s unavailable: %s\n", r.backend.c_str(), r.error.c_str());
      continue;
    }
    std::printf("%-10s", r.backend.c_str());
    for (const Stat* s : {&r.preprocess, &r.lnet, &r.anet, &r.total})
      std::printf(" %8.3f %8.3f", s->median, s->p90);
    if (reference_total) {
      std::printf(" %9.2fx", *reference_total / r.total.median);
    } else {
      std::printf(" %10s", "-");
    }
    std::printf(" %6d\n", r.faces);
  }
  std::printf("total = wall time of faceattr_session_predict (decode excluded)\n");
  const auto kib = [](int64_t b) {
    return b < 0 ? std::string("n/a") : std::to_string((b + 512) / 1024) + " KiB";
  };
  for (const BackendResult& r : results) {
    if (!r.error.empty()) continue;
    std::printf("memory %-9s session heap %s, RSS +%s (creation + warm-up)\n", r.backend.c_str(),
                kib(r.session_heap_bytes).c_str(), kib(r.rss_delta_bytes).c_str());
  }
  std::printf("model files %s, process peak RSS %s\n", kib(model_bytes).c_str(),
              kib(sample_memory().peak_rss).c_str());
  if (!models.lnet_path.empty()) {
    std::printf(
        "lnet = LNet alone on the letterboxed frame; preprocess and anet are summed over the faces found,\n"
        "so with one face, total is the whole pipeline for one face\n");
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand("bench", "Per-stage latency (median, p90) of predict on one frame");
  sub->footer(
      "Stages come from faceattr_session_last_timings; total is the wall time of the predict call.\n"
      "--backend all benchmarks every backend compiled in and shows speed-ups vs reference.\n"
      "The LNet next to the ANet (or --lnet) runs as in predict; --no-localize times ANet alone.\n"
      "Localiser + ANet on a 640x480 frame with one face (about 128 px tall):\n"
      "  --size 640x480 --paste FACE.jpg --grid 3x3\n"
      "The tracker on the same frame (a still face), against predict: add --track.");
  add_common_options(*sub, o->common, "Kernel worker threads", "all");
  sub->add_option("-n,--runs", o->runs, "Timed runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Untimed runs first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_option("--image", o->image,
                  "Image to run on (decode excluded); default: a synthetic 320x240 frame");
  sub->add_option(
      "--size", o->size,
      "Frame size WxH: the synthetic frame's, or the image scaled to cover it and centre-cropped");
  sub->add_option(
         "--paste", o->paste,
         "Face crops pasted onto the frame, one per cell of a near-square grid (for latency vs faces)")
      ->check(CLI::ExistingFile);
  sub->add_option("--grid", o->grid,
                  "Grid of --paste, CxR cells (default: near-square for the number of faces)");
  sub->add_flag("--json", o->json, "Print the result as one JSON object");
  sub->add_flag("--track", o->track,
                "Time the face tracker per frame (interleaved with predict on the same frame): full "
                "passes every frame, the default local searches between them, and the tracking alone");
  return {sub, [o] { return run_bench(*o); }};
}

}  // namespace faceattr::cli
