// UTKFace chips (utkface/AGE_GENDER_RACE_DATETIME.jpg.chip.jpg): the labels in the file
// name and the held-out split shared with `faceattr eval --utkface --split`.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faceattr::train {

struct UtkChip {
  std::string path;
  int age = 0;
  bool male = false;  // gender 0
  int race = 0;       // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
  bool dev = false;   // held out: the last digit of DATETIME is 0, 1 or 2
};

// Parses a UTKFace file name (`.jpg.chip.jpg` or `.jpg`); nullopt for any other name.
std::optional<UtkChip> parse_utk_name(const std::string& file_name);

// What a chip teaches ANet's Male and Young heads. Male: 1 or 0 from the name, except that
// a chip younger than `child_age` (0: none) teaches 0.5, unsure (a young child's face rarely
// shows its sex). Young: age < 30 young, from 40 not young, unlabelled (mask 0) between
// (CelebA's annotators judged youth by eye).
struct UtkLabels {
  float male = 0.0f;
  float young = 0.0f;
  bool young_known = false;
};
UtkLabels utk_labels(const UtkChip& chip, int child_age);

// The chips of `dir`, sorted by name; other files are skipped (counted in `skipped`).
std::vector<UtkChip> list_utk_chips(const std::string& dir, size_t* skipped = nullptr);

}  // namespace faceattr::train
