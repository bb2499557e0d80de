// faceattr bench [--runs N] [--warmup W] [--image F] [--backend B|all] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "image_decode.h"

namespace faceattr::cli {

namespace {

struct BenchOptions {
  CommonOptions common;
  int runs = 100;
  int warmup = 10;
  std::string image;
  bool json = false;
};

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
};

BackendResult bench_backend(const ModelFiles& models, faceattr_backend backend, const BenchOptions& o,
                            const RgbImage& img) {
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

int run_bench(const BenchOptions& o) {
  const ModelFiles models = load_models(o.common);
  RgbImage img;
  std::string image_name = "synthetic";
  if (o.image.empty()) {
    img = synthetic_frame(320, 240);
  } else {
    ImageDecoder decoder;
    img = decoder.load(o.image);
    image_name = o.image;
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
                                {"threads", o.common.threads},
                                {"runs", o.runs},
                                {"warmup", o.warmup},
                                {"results", std::move(rows)}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    return 0;
  }

  std::printf("model %s, image %s %dx%d, %d thread%s, %d runs after %d warm-up\n", models.anet_path.c_str(),
              image_name.c_str(), img.width, img.height, o.common.threads, o.common.threads == 1 ? "" : "s",
              o.runs, o.warmup);
  if (!models.lnet_path.empty()) std::printf("LNet %s\n", models.lnet_path.c_str());
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
      "--backend all benchmarks every backend compiled in and shows speed-ups vs reference.");
  add_common_options(*sub, o->common, "Kernel worker threads", "all");
  sub->add_option("-n,--runs", o->runs, "Timed runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Untimed runs first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_option("--image", o->image,
                  "Image to run on (decode excluded); default: a synthetic 320x240 frame");
  sub->add_flag("--json", o->json, "Print the result as one JSON object");
  return {sub, [o] { return run_bench(*o); }};
}

}  // namespace faceattr::cli
