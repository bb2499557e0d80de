// faceattr eval --images DIR --attrs FILE [--limit N] [--json] [--html REPORT]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "celeba_attrs.h"
#include "cli_common.h"
#include "commands.h"
#include "eval_metrics.h"
#include "html_report.h"
#include "image_decode.h"
#include "progress.h"

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
};

struct AttrMatch {
  int model_index;  // index in the model's outputs
  size_t file_col;  // column in the attribute file
};

// Probabilities for one image: with an LNet, the highest-scoring face (the
// whole image when none is found); without, the image as one crop.
void predict_probs(faceattr_session* s, const faceattr_image& img, bool has_lnet, std::vector<float>& probs,
                   const std::string& path) {
  if (has_lnet) {
    const faceattr_face* faces = nullptr;
    int32_t n = 0;
    faceattr_status st = faceattr_session_predict(s, &img, &faces, &n);
    if (st != FACEATTR_OK) throw_api_error("cannot predict '" + path + "'", st);
    if (n > 0) {
      const faceattr_face* best = std::max_element(
          faces, faces + n, [](const faceattr_face& a, const faceattr_face& b) { return a.score < b.score; });
      std::copy(best->probs, best->probs + probs.size(), probs.begin());
      return;
    }
  }
  faceattr_status st = faceattr_session_predict_crop(s, &img, probs.data());
  if (st != FACEATTR_OK) throw_api_error("cannot predict '" + path + "'", st);
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

int run_eval(const EvalOptions& o) {
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

  const ModelFiles models = load_models(o.common);
  const faceattr_backend backend = parse_backend(o.common.backend);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1);
  const std::vector<std::string> model_names = sessions[0].attribute_names();
  const std::vector<float> thresholds = sessions[0].thresholds();
  const std::vector<AttrMatch> matches = match_attributes(model_names, table);
  const size_t n_workers = std::min(static_cast<size_t>(o.common.threads), rows.size());
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1);

  // predicted[i * matches.size() + k]: attribute k decided present on image rows[i].
  std::vector<uint8_t> predicted(rows.size() * matches.size());
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::string error;
  const bool has_lnet = !models.lnet.empty();

  auto worker = [&](faceattr_session* s) {
    try {
      ImageDecoder decoder;
      std::vector<float> probs(model_names.size());
      for (size_t i = next++; i < rows.size() && !failed; i = next++) {
        const std::string path = (fs::path(o.images_dir) / table.images[rows[i]]).string();
        const RgbImage img = decoder.load(path);
        predict_probs(s, img.view(), has_lnet, probs, path);
        for (size_t k = 0; k < matches.size(); ++k) {
          const int a = matches[k].model_index;
          predicted[i * matches.size() + k] = probs[a] >= thresholds[a] ? 1 : 0;
        }
        ++done;
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!failed) error = e.what();
      failed = true;
    }
  };

  {
    Progress progress(static_cast<int64_t>(rows.size()), "eval");
    std::vector<std::thread> threads;
    for (size_t w = 0; w < n_workers; ++w) threads.emplace_back(worker, sessions[w].get());
    while (done < rows.size() && !failed) {
      progress.update(static_cast<int64_t>(done));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (std::thread& t : threads) t.join();
    if (!failed) progress.update(static_cast<int64_t>(done));
  }
  if (failed) throw Error(error);

  EvalSummary summary;
  summary.n_images = static_cast<int64_t>(rows.size());
  summary.counts.resize(matches.size());
  for (const AttrMatch& m : matches) summary.names.push_back(model_names[m.model_index]);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t k = 0; k < matches.size(); ++k) {
      summary.counts[k].add(predicted[i * matches.size() + k] != 0,
                            table.label(rows[i], matches[k].file_col) > 0);
    }
  }

  if (o.json) {
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

Command add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  o->common.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  CLI::App* sub = app.add_subcommand(
      "eval", "Measure per-attribute accuracy on a CelebA-layout folder and attribute file");
  sub->footer(
      "Images listed in the attribute file but absent from --images are skipped. Model attributes\n"
      "are matched to the file's columns by name. --threads is the number of worker sessions.\n"
      "--json prints {\"n_images\": N, \"mean_accuracy\": A, \"mean_balanced_accuracy\": B,\n"
      "  \"per_attribute\": {\"Male\": {\"accuracy\": ..., \"balanced_accuracy\": ...}, ...}}");
  add_common_options(*sub, o->common, "Worker threads (one session each)");
  sub->add_option("--images", o->images_dir, "Folder with the images named in the attribute file")
      ->required();
  sub->add_option("--attrs", o->attrs, "CelebA attribute file, plain or .gz (list_attr_celeba.txt)")
      ->required();
  sub->add_option("--limit", o->limit, "Evaluate at most N images (the first found, file order)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", o->json, "Print the result as one JSON object");
  sub->add_option("--html", o->html, "Also write a self-contained HTML report with a bar chart");
  return {sub, [o] { return run_eval(*o); }};
}

}  // namespace faceattr::cli
