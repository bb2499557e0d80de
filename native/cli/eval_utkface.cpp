// faceattr eval --utkface DIR: faces found and the Male attribute on UTKFace chips, by age band,
// race group and sex, with bootstrap intervals, the race x age band x sex cells, the worst groups
// and the children's confidence (docs/cli.md, "eval on UTKFace").
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval_bootstrap.h"
#include "eval_metrics.h"
#include "eval_run.h"
#include "image_decode.h"
#include "json_line.h"
#include "utkface_groups.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr int64_t kWorstCellMinImages = 10;
constexpr size_t kWorstCells = 5;

struct ChipList {
  std::vector<UtkImage> chips;  // the split's, --limit applied, name order
  int64_t named = 0;            // chips in the folder (any split)
  int64_t in_split = 0;         // chips of the split before --limit
  int64_t malformed = 0;        // files not named in the pattern
};

// The chips of `dir` in name order; files not named in the UTKFace pattern are warned about,
// counted and skipped. Keeps the chips of `split`, then (limit > 0) the first N of them.
ChipList list_chips(const std::string& dir, const std::string& split, int64_t limit) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("UTKFace folder '" + dir + "' does not exist");
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec)) continue;
    names.push_back(name);
  }
  if (ec) throw Error("cannot list '" + dir + "': " + ec.message());
  std::sort(names.begin(), names.end());
  ChipList out;
  for (const std::string& name : names) {
    std::optional<UtkImage> img = parse_utkface_name(name);
    if (!img) {
      ++out.malformed;
      std::fprintf(stderr,
                   "faceattr: warning: '%s' is not named age_gender_race_datetime.jpg.chip.jpg, skipped\n",
                   (fs::path(dir) / name).string().c_str());
      continue;
    }
    ++out.named;
    if (!utkface_in_split(*img, split)) continue;
    ++out.in_split;
    if (limit <= 0 || static_cast<int64_t>(out.chips.size()) < limit) out.chips.push_back(std::move(*img));
  }
  if (out.named == 0) {
    throw Error("no UTKFace images (age_gender_race_datetime.jpg.chip.jpg) in '" + dir + "'" +
                (out.malformed ? " (" + std::to_string(out.malformed) + " other files)" : std::string()));
  }
  if (out.chips.empty())
    throw Error("no UTKFace images of split " + split + " among the " + std::to_string(out.named) + " in '" +
                dir + "'");
  return out;
}

struct Outcome {
  bool found = false;
  float p_male = 0;  // the face's Male probability
  bool present = false;
};

// Male counts over one set of images.
struct Group {
  int64_t images = 0, found = 0;
  AttrCounts all, on_found;      // all: an image with no face counts as wrong
  double p_label_sum = 0;        // on found faces: p(Male) when labelled male, else 1 - p(Male)
  std::vector<uint8_t> correct;  // per image, as `all` counts it: for the bootstrap
  Interval ci;                   // of all.accuracy(), after finish()

  void add(const UtkImage& img, const Outcome& out) {
    ++images;
    const bool decided = out.found ? out.present : !img.male;  // no face: wrong
    all.add(decided, img.male);
    correct.push_back(decided == img.male ? 1 : 0);
    if (!out.found) return;
    ++found;
    on_found.add(out.present, img.male);
    p_label_sum += img.male ? out.p_male : 1.0 - out.p_male;
  }
  void finish(const BootstrapParams& p) {
    if (images > 0) ci = bootstrap_accuracy_interval(correct, p);
  }
  double mean_p_label() const { return found ? p_label_sum / static_cast<double>(found) : 0.0; }

  json to_json() const {
    auto or_null = [](bool defined, double v) { return defined ? json(v) : json(nullptr); };
    return {{"images", images},
            {"faces_found", found},
            {"accuracy", or_null(images > 0, all.accuracy())},
            {"balanced_accuracy", or_null(images > 0, all.balanced_accuracy())},
            {"accuracy_found", or_null(found > 0, on_found.accuracy())},
            {"balanced_accuracy_found", or_null(found > 0, on_found.balanced_accuracy())},
            {"mean_p_label_found", or_null(found > 0, mean_p_label())}};
  }

  // {"n", "correct", "accuracy", "ci95": [lo, hi]}; accuracy and ci95 null without images.
  json fairness_json() const {
    const bool any = images > 0;
    return {{"n", images},
            {"correct", all.tp + all.tn},
            {"accuracy", any ? json(all.accuracy()) : json(nullptr)},
            {"ci95", any ? json::array({ci.lo, ci.hi}) : json(nullptr)}};
  }

  void print_row(const std::string& label) const {
    auto num = [](bool defined, double v) {
      char buf[16];
      if (defined) {
        std::snprintf(buf, sizeof buf, "%.4f", v);
      } else {
        std::snprintf(buf, sizeof buf, "-");
      }
      return std::string(buf);
    };
    char interval[40] = "-";
    if (images > 0) std::snprintf(interval, sizeof interval, "[%.4f, %.4f]", ci.lo, ci.hi);
    std::printf("%-16s %7lld %6lld %9s  %-16s %9s %10s %9s %9s\n", label.c_str(),
                static_cast<long long>(images), static_cast<long long>(found),
                num(images > 0, all.accuracy()).c_str(), interval,
                num(images > 0, all.balanced_accuracy()).c_str(), num(found > 0, on_found.accuracy()).c_str(),
                num(found > 0, on_found.balanced_accuracy()).c_str(), num(found > 0, mean_p_label()).c_str());
  }
};

struct Groups {
  Group total, adults, by_age[kUtkBands], by_race[kUtkRaces], by_sex[kUtkSexes], adults_by_race[kUtkRaces],
      cells[kUtkCells];
  MaleConfidence children;  // ages 0-12, faces found
  int64_t children_images = 0;

  template <typename Fn>
  void for_each(Fn fn) {
    fn(total);
    fn(adults);
    for (Group& g : by_age) fn(g);
    for (Group& g : by_race) fn(g);
    for (Group& g : by_sex) fn(g);
    for (Group& g : adults_by_race) fn(g);
    for (Group& g : cells) fn(g);
  }

  std::vector<size_t> worst_cells() const {
    std::vector<double> acc;
    std::vector<int64_t> n;
    for (const Group& g : cells) acc.push_back(g.all.accuracy()), n.push_back(g.images);
    return worst_groups(acc, n, kWorstCellMinImages, kWorstCells);
  }
  int worst_adult_race() const {
    std::vector<double> acc;
    std::vector<int64_t> n;
    for (const Group& g : adults_by_race) acc.push_back(g.all.accuracy()), n.push_back(g.images);
    const std::vector<size_t> w = worst_groups(acc, n, 1, 1);
    return w.empty() ? -1 : static_cast<int>(w[0]);
  }
};

json fairness_json(const Groups& g, const BootstrapParams& params) {
  json by_sex = json::object(), by_age = json::object(), by_race = json::object(), adults = json::object();
  for (size_t s = 0; s < kUtkSexes; ++s) by_sex[kUtkSexNames[s]] = g.by_sex[s].fairness_json();
  for (size_t b = 0; b < kUtkBands; ++b) by_age[kUtkAgeBands[b].name] = g.by_age[b].fairness_json();
  for (size_t r = 0; r < kUtkRaces; ++r) {
    by_race[kUtkRaceNames[r]] = g.by_race[r].fairness_json();
    adults[kUtkRaceNames[r]] = g.adults_by_race[r].fairness_json();
  }
  auto cell_json = [&](size_t c) {
    json j = {{"race", kUtkRaceNames[c / kUtkSexes / kUtkBands]},
              {"age", kUtkAgeBands[c / kUtkSexes % kUtkBands].name},
              {"sex", kUtkSexNames[c % kUtkSexes]}};
    j.update(g.cells[c].fairness_json());
    return j;
  };
  json cells = json::array(), worst = json::array();
  for (size_t c = 0; c < kUtkCells; ++c) cells.push_back(cell_json(c));
  for (size_t c : g.worst_cells()) worst.push_back(cell_json(c));
  json worst_race = nullptr;
  if (const int r = g.worst_adult_race(); r >= 0) {
    worst_race = {{"race", kUtkRaceNames[r]}};
    worst_race.update(g.adults_by_race[r].fairness_json());
  }
  return {{"bootstrap", {{"resamples", params.resamples}, {"seed", params.seed}, {"level", params.level}}},
          {"all", g.total.fairness_json()},
          {"by_sex", std::move(by_sex)},
          {"by_age", std::move(by_age)},
          {"by_race", std::move(by_race)},
          {"by_race_adults", std::move(adults)},
          {"cells", std::move(cells)},
          {"worst_cells_min_images", kWorstCellMinImages},
          {"worst_cells", std::move(worst)},
          {"worst_race_adults", std::move(worst_race)}};
}

json children_json(const Groups& g) {
  const MaleConfidence& c = g.children;
  auto mean_or_null = [](int64_t n, double v) { return n > 0 ? json(v) : json(nullptr); };
  return {{"ages", kUtkAgeBands[0].name},
          {"images", g.children_images},
          {"faces_found", c.faces},
          {"boys_found", c.boys},
          {"girls_found", c.girls},
          {"mean_p_male", mean_or_null(c.faces, c.mean_p)},
          {"mean_p_male_boys", mean_or_null(c.boys, c.mean_p_boys)},
          {"mean_p_male_girls", mean_or_null(c.girls, c.mean_p_girls)},
          {"mean_abs_p_minus_half", mean_or_null(c.faces, c.mean_margin)},
          {"confident_margin", kConfidentMargin},
          {"confident_share", mean_or_null(c.faces, c.confident)},
          {"confident_wrong_share", mean_or_null(c.faces, c.confident_wrong)}};
}

void print_fairness(const Groups& g) {
  const std::vector<size_t> worst = g.worst_cells();
  if (worst.empty()) {
    std::printf("worst cells (race x age band x sex): none has %lld or more images\n",
                static_cast<long long>(kWorstCellMinImages));
  } else {
    std::printf("worst cells (race x age band x sex, >= %lld images):\n",
                static_cast<long long>(kWorstCellMinImages));
    for (size_t c : worst) {
      const Group& x = g.cells[c];
      std::printf("  %-22s %5lld  %.4f  [%.4f, %.4f]\n", utkface_cell_name(c).c_str(),
                  static_cast<long long>(x.images), x.all.accuracy(), x.ci.lo, x.ci.hi);
    }
  }
  if (const int r = g.worst_adult_race(); r >= 0) {
    const Group& x = g.adults_by_race[r];
    std::printf("worst race among adults: %s, %.4f [%.4f, %.4f] (%lld images)\n", kUtkRaceNames[r],
                x.all.accuracy(), x.ci.lo, x.ci.hi, static_cast<long long>(x.images));
  }
  const MaleConfidence& c = g.children;
  if (c.faces == 0) {
    std::printf("children (%s): no face found\n", kUtkAgeBands[0].name);
    return;
  }
  auto mean = [](int64_t n, double v) {
    char buf[16] = "-";
    if (n > 0) std::snprintf(buf, sizeof buf, "%.4f", v);
    return std::string(buf);
  };
  std::printf(
      "children (%s, %lld faces): mean p(Male) %.4f (boys %s, girls %s), mean |p - 0.5| %.4f,\n"
      "  confident (|p - 0.5| > %.1f) %.4f, confident and wrong %.4f\n",
      kUtkAgeBands[0].name, static_cast<long long>(c.faces), c.mean_p, mean(c.boys, c.mean_p_boys).c_str(),
      mean(c.girls, c.mean_p_girls).c_str(), c.mean_margin, kConfidentMargin, c.confident, c.confident_wrong);
}

}  // namespace

int run_utkface_eval(const UtkfaceEvalOptions& o) {
  const ChipList list = list_chips(o.dir, o.split, o.limit);
  const std::vector<UtkImage>& chips = list.chips;

  // The session's defaults: the localiser when one is given or found beside the ANet, else
  // (and with --no-localize) the whole image as one face.
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  const faceattr_backend backend = parse_backend(o.common.backend);
  const faceattr_threshold_policy policy = parse_thresholds(o.common.thresholds);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1, policy);
  const size_t n_workers = std::max<size_t>(1, std::min(static_cast<size_t>(o.common.threads), chips.size()));
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1, policy);
  const std::vector<std::string> names = sessions[0].attribute_names();
  const int male_index = attribute_index(names, "Male");
  if (male_index < 0) throw Error("the model '" + models.anet_path + "' has no attribute Male");
  const size_t male = static_cast<size_t>(male_index);
  const float threshold = sessions[0].thresholds()[male];

  std::vector<std::unique_ptr<ImageDecoder>> decoders;
  for (size_t w = 0; w < sessions.size(); ++w) decoders.emplace_back(new ImageDecoder());
  std::vector<Outcome> outcomes(chips.size());
  run_parallel(chips.size(), sessions, "utkface", [&](size_t w, size_t i) {
    const std::string path = (fs::path(o.dir) / chips[i].name).string();
    const RgbImage img = decoders[w]->load(path);
    const std::vector<FoundFace> found =
        predict_faces(sessions[w].get(), img.view(), names.size(), "'" + path + "'");
    if (found.empty()) return;
    Outcome& out = outcomes[i];
    out.found = true;
    out.p_male = found[0].probs[male];  // the strongest face
    out.present = out.p_male >= threshold;
  });

  Groups g;
  for (size_t i = 0; i < chips.size(); ++i) {
    const UtkImage& c = chips[i];
    const Outcome& out = outcomes[i];
    const size_t band = utkface_age_band(c.age);
    g.total.add(c, out);
    g.by_age[band].add(c, out);
    g.by_race[c.race].add(c, out);
    g.by_sex[c.male ? 0 : 1].add(c, out);
    g.cells[utkface_cell(c.race, band, c.male)].add(c, out);
    if (c.age >= kUtkAdultAge) {
      g.adults.add(c, out);
      g.adults_by_race[c.race].add(c, out);
    }
    if (band == 0) {
      ++g.children_images;
      if (out.found) g.children.add(out.p_male, out.present, c.male);
    }
  }
  const BootstrapParams params;
  g.for_each([&](Group& x) { x.finish(params); });
  g.children.finish();
  const Group& total = g.total;
  const double found_rate = static_cast<double>(total.found) / static_cast<double>(total.images);

  if (o.json) {
    json age = json::object(), race = json::object();
    for (size_t b = 0; b < kUtkBands; ++b) age[kUtkAgeBands[b].name] = g.by_age[b].to_json();
    for (size_t r = 0; r < kUtkRaces; ++r) race[kUtkRaceNames[r]] = g.by_race[r].to_json();
    json j = {{"images", total.images},
              {"malformed_names", list.malformed},
              {"faces_found", total.found},
              {"found_rate", found_rate},
              {"Male",
               {{"all", total.to_json()},
                {"adults", g.adults.to_json()},
                {"by_age", std::move(age)},
                {"by_race", std::move(race)}}},
              {"anet", models.anet_path},
              {"lnet", models.lnet_path.empty() ? json(nullptr) : json(models.lnet_path)},
              {"backend", sessions[0].backend_name()},
              {"views", models.anet_views},
              {"split", o.split},
              {"split_images", list.in_split},
              {"chips", list.named},
              {"fairness", fairness_json(g, params)},
              {"children", children_json(g)}};
    print_json_line(j);
    return 0;
  }
  std::printf("%s: %lld images", o.dir.c_str(), static_cast<long long>(total.images));
  if (list.malformed > 0)
    std::printf(" (%lld files not named age_gender_race_datetime.jpg.chip.jpg, skipped)",
                static_cast<long long>(list.malformed));
  std::printf("\nsplit %s: %lld of %lld chips (dev: DATETIME ending in 0, 1 or 2; train: the rest)",
              o.split.c_str(), static_cast<long long>(list.in_split), static_cast<long long>(list.named));
  if (list.in_split > total.images)
    std::printf(", the first %lld (--limit)", static_cast<long long>(total.images));
  std::printf("\n");
  if (models.lnet_path.empty()) {
    std::printf("model %s, whole image as the face (no localiser), backend %s\n", models.anet_path.c_str(),
                sessions[0].backend_name());
  } else {
    std::printf("models %s + %s, backend %s\n", models.anet_path.c_str(), models.lnet_path.c_str(),
                sessions[0].backend_name());
  }
  std::printf("faces found  %lld of %lld (%.4f)\n\n", static_cast<long long>(total.found),
              static_cast<long long>(total.images), found_rate);
  std::printf("%-16s %7s %6s %9s  %-16s %9s %10s %9s %9s\n", "Male", "images", "found", "accuracy",
              "95% interval", "balanced", "acc found", "bal found", "p(label)");
  total.print_row("all");
  g.adults.print_row("adults (>= 20)");
  for (size_t b = 0; b < kUtkBands; ++b) g.by_age[b].print_row(std::string("age ") + kUtkAgeBands[b].name);
  for (size_t r = 0; r < kUtkRaces; ++r) g.by_race[r].print_row(kUtkRaceNames[r]);
  for (size_t s = 0; s < kUtkSexes; ++s) g.by_sex[s].print_row(kUtkSexNames[s]);
  for (size_t r = 0; r < kUtkRaces; ++r)
    g.adults_by_race[r].print_row(std::string("adults ") + kUtkRaceNames[r]);
  std::printf(
      "(accuracy, balanced: an image with no face counts as wrong; 95%% interval: of the accuracy, "
      "percentile\n"
      "bootstrap over the group's images, %d resamples; acc found, bal found, p(label): on the images with "
      "a\n"
      "face; p(label): the mean probability of the labelled gender, p(Male) or 1 - p(Male))\n\n",
      params.resamples);
  print_fairness(g);
  return 0;
}

}  // namespace faceattr::cli
