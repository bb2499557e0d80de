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

// The chips of `dir`, sorted by name; other files are skipped (counted in `skipped`).
std::vector<UtkChip> list_utk_chips(const std::string& dir, size_t* skipped = nullptr);

}  // namespace faceattr::train
