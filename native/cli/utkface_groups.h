// UTKFace file names and the groups `faceattr eval --utkface` reports on (docs/cli.md, "eval on
// UTKFace"): the labels in `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`, the dev/train split, age
// bands, race groups, the race x age band x sex cells, the worst groups and the confidence of
// the Male output on children.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace faceattr::cli {

struct UtkImage {
  std::string name;
  int age = 0;
  bool male = false;  // gender 0
  int race = 0;       // index into kUtkRaceNames
  bool dev = false;   // in the held-out split (utkface_is_dev)
};

inline constexpr const char* kUtkRaceNames[] = {"White", "Black", "Asian", "Indian", "Others"};
inline constexpr size_t kUtkRaces = std::size(kUtkRaceNames);

struct UtkAgeBand {
  const char* name;
  int lo, hi;  // inclusive
};
inline constexpr UtkAgeBand kUtkAgeBands[] = {
    {"0-12", 0, 12}, {"13-19", 13, 19}, {"20-39", 20, 39}, {"40-59", 40, 59}, {"60+", 60, 1000}};
inline constexpr size_t kUtkBands = std::size(kUtkAgeBands);
inline constexpr int kUtkAdultAge = 20;

inline constexpr const char* kUtkSexNames[] = {"male", "female"};  // by the label: 0 male, 1 female
inline constexpr size_t kUtkSexes = 2;
inline constexpr size_t kUtkCells = kUtkRaces * kUtkBands * kUtkSexes;

// The split rule the trainer uses too: a chip is in `dev` (held out) when the last digit of its
// DATETIME is 0, 1 or 2, else in `train`. `datetime`: the DATETIME digits (not empty).
bool utkface_is_dev(const std::string& datetime);

// `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg` (or `.jpg`): AGE 1-3 digits, GENDER 0 or 1, RACE 0-4,
// DATETIME digits. Anything else is not a UTKFace name (nullopt).
std::optional<UtkImage> parse_utkface_name(const std::string& name);

// `split`: all, dev or train.
bool utkface_in_split(const UtkImage& img, const std::string& split);

// The age band of `age` (index into kUtkAgeBands).
size_t utkface_age_band(int age);

// The cell of race x age band x sex, race-major: (race * kUtkBands + band) * kUtkSexes + sex,
// sex 0 male, 1 female.
size_t utkface_cell(int race, size_t band, bool male);
std::string utkface_cell_name(size_t cell);  // e.g. "Asian 0-12 female"

// Up to `k` indices of the groups with the lowest accuracy among those with at least `min_n`
// images, lowest first; ties keep index order. accuracy[i] is read only where n[i] >= min_n.
std::vector<size_t> worst_groups(const std::vector<double>& accuracy, const std::vector<int64_t>& n,
                                 int64_t min_n, size_t k);

// How sure the Male output is on a set of faces (the children's: ages 0-12).
inline constexpr double kConfidentMargin = 0.3;  // confident: |p - 0.5| > this

struct MaleConfidence {
  int64_t faces = 0, boys = 0, girls = 0;
  double mean_p = 0, mean_p_boys = 0, mean_p_girls = 0;
  double mean_margin = 0;      // mean |p - 0.5|
  double confident = 0;        // share of faces with |p - 0.5| > kConfidentMargin
  double confident_wrong = 0;  // share of faces confident and decided wrong

  // One face: p(Male), the decision (p >= the model's threshold) and the label.
  void add(double p, bool decided_male, bool male);
  // Turns the sums into means and shares; call once, after the last add.
  void finish();

 private:
  int64_t n_confident_ = 0, n_confident_wrong_ = 0;
};

}  // namespace faceattr::cli
