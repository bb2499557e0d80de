// faceattr eval --utkface DIR: faces found and the Male attribute on UTKFace chips, by age band
// and race group (docs/cli.md, "eval on UTKFace").
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval_metrics.h"
#include "eval_run.h"
#include "image_decode.h"
#include "json_line.h"

namespace faceattr::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct UtkImage {
  std::string name;
  int age;
  bool male;  // gender 0
  int race;   // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
};

constexpr const char* kRaceNames[] = {"White", "Black", "Asian", "Indian", "Others"};
struct AgeBand {
  const char* name;
  int lo, hi;  // inclusive
};
constexpr AgeBand kAgeBands[] = {
    {"0-12", 0, 12}, {"13-19", 13, 19}, {"20-39", 20, 39}, {"40-59", 40, 59}, {"60+", 60, 1000}};
constexpr int kAdultAge = 20;

// `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg` (or `.jpg`): AGE 1-3 digits, GENDER 0 or 1, RACE 0-4,
// DATETIME digits. Anything else is not a UTKFace name.
std::optional<UtkImage> parse_name(const std::string& name) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t p = 0;
  int age = 0, n_age = 0;
  while (p < name.size() && is_digit(name[p]) && n_age < 4) age = age * 10 + (name[p++] - '0'), ++n_age;
  if (n_age < 1 || n_age > 3) return std::nullopt;
  if (name.size() < p + 5 || name[p] != '_' || (name[p + 1] != '0' && name[p + 1] != '1') ||
      name[p + 2] != '_' || name[p + 3] < '0' || name[p + 3] > '4' || name[p + 4] != '_')
    return std::nullopt;
  const bool male = name[p + 1] == '0';
  const int race = name[p + 3] - '0';
  p += 5;
  const size_t date = p;
  while (p < name.size() && is_digit(name[p])) ++p;
  if (p == date) return std::nullopt;
  const std::string ext = name.substr(p);
  if (ext != ".jpg.chip.jpg" && ext != ".jpg") return std::nullopt;
  return UtkImage{name, age, male, race};
}

// The chips of `dir` in name order; files not named in the UTKFace pattern are warned about,
// counted in `malformed` and skipped. `limit` > 0 keeps the first N chips.
std::vector<UtkImage> list_chips(const std::string& dir, int64_t limit, int64_t& malformed) {
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
  std::vector<UtkImage> out;
  malformed = 0;
  for (const std::string& name : names) {
    std::optional<UtkImage> img = parse_name(name);
    if (!img) {
      ++malformed;
      std::fprintf(stderr,
                   "faceattr: warning: '%s' is not named age_gender_race_datetime.jpg.chip.jpg, skipped\n",
                   (fs::path(dir) / name).string().c_str());
      continue;
    }
    if (limit <= 0 || static_cast<int64_t>(out.size()) < limit) out.push_back(std::move(*img));
  }
  if (out.empty()) {
    throw Error("no UTKFace images (age_gender_race_datetime.jpg.chip.jpg) in '" + dir + "'" +
                (malformed ? " (" + std::to_string(malformed) + " other files)" : std::string()));
  }
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
  AttrCounts all, on_found;  // all: an image with no face counts as wrong
  double p_label_sum = 0;    // on found faces: p(Male) when labelled male, else 1 - p(Male)

  void add(const UtkImage& img, const Outcome& out) {
    ++images;
    if (!out.found) {
      all.add(!img.male, img.male);
      return;
    }
    ++found;
    all.add(out.present, img.male);
    on_found.add(out.present, img.male);
    p_label_sum += img.male ? out.p_male : 1.0 - out.p_male;
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
    std::printf("%-16s %7lld %6lld %9s %9s %10s %9s %9s\n", label.c_str(), static_cast<long long>(images),
                static_cast<long long>(found), num(images > 0, all.accuracy()).c_str(),
                num(images > 0, all.balanced_accuracy()).c_str(), num(found > 0, on_found.accuracy()).c_str(),
                num(found > 0, on_found.balanced_accuracy()).c_str(), num(found > 0, mean_p_label()).c_str());
  }
};

}  // namespace

int run_utkface_eval(const UtkfaceEvalOptions& o) {
  int64_t malformed = 0;
  const std::vector<UtkImage> chips = list_chips(o.dir, o.limit, malformed);

  // The session's defaults: the localiser when one is given or found beside the ANet, else
  // (and with --no-localize) the whole image as one face.
  const ModelFiles models = load_models(o.common, /*discover_lnet=*/true);
  const faceattr_backend backend = parse_backend(o.common.backend);
  std::vector<Session> sessions;
  sessions.emplace_back(models, backend, 1);
  const size_t n_workers = std::max<size_t>(1, std::min(static_cast<size_t>(o.common.threads), chips.size()));
  for (size_t w = 1; w < n_workers; ++w) sessions.emplace_back(models, backend, 1);
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

  Group total, adults, by_age[std::size(kAgeBands)], by_race[std::size(kRaceNames)];
  for (size_t i = 0; i < chips.size(); ++i) {
    const UtkImage& c = chips[i];
    total.add(c, outcomes[i]);
    if (c.age >= kAdultAge) adults.add(c, outcomes[i]);
    for (size_t b = 0; b < std::size(kAgeBands); ++b)
      if (c.age >= kAgeBands[b].lo && c.age <= kAgeBands[b].hi) by_age[b].add(c, outcomes[i]);
    by_race[c.race].add(c, outcomes[i]);
  }
  const double found_rate = static_cast<double>(total.found) / static_cast<double>(total.images);

  if (o.json) {
    json age = json::object(), race = json::object();
    for (size_t b = 0; b < std::size(kAgeBands); ++b) age[kAgeBands[b].name] = by_age[b].to_json();
    for (size_t r = 0; r < std::size(kRaceNames); ++r) race[kRaceNames[r]] = by_race[r].to_json();
    json j = {{"images", total.images},
              {"malformed_names", malformed},
              {"faces_found", total.found},
              {"found_rate", found_rate},
              {"Male",
               {{"all", total.to_json()},
                {"adults", adults.to_json()},
                {"by_age", std::move(age)},
                {"by_race", std::move(race)}}},
              {"anet", models.anet_path},
              {"lnet", models.lnet_path.empty() ? json(nullptr) : json(models.lnet_path)},
              {"backend", sessions[0].backend_name()}};
    print_json_line(j);
    return 0;
  }
  std::printf("%s: %lld images", o.dir.c_str(), static_cast<long long>(total.images));
  if (malformed > 0)
    std::printf(" (%lld files not named age_gender_race_datetime.jpg.chip.jpg, skipped)",
                static_cast<long long>(malformed));
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
  std::printf("%-16s %7s %6s %9s %9s %10s %9s %9s\n", "Male", "images", "found", "accuracy", "balanced",
              "acc found", "bal found", "p(label)");
  total.print_row("all");
  adults.print_row("adults (>= 20)");
  for (size_t b = 0; b < std::size(kAgeBands); ++b)
    by_age[b].print_row(std::string("age ") + kAgeBands[b].name);
  for (size_t r = 0; r < std::size(kRaceNames); ++r) by_race[r].print_row(kRaceNames[r]);
  std::printf(
      "(accuracy, balanced: an image with no face counts as wrong; acc found, bal found, p(label): on the\n"
      "images with a face; p(label): the mean probability of the labelled gender, p(Male) or 1 - p(Male))\n");
  return 0;
}

}  // namespace faceattr::cli
